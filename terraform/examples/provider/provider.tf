terraform {
  required_providers {
    ezscale = {
      source = "ezscale/ezscale"
    }
  }
}

# endpoint and token default to EZSCALE_ENDPOINT and EZSCALE_TOKEN.
provider "ezscale" {
  endpoint = "https://portal.example.com"
  # token  = var.ezscale_token  # a personal API token (ezs_pat_…); prefer EZSCALE_TOKEN
  # account_id = "…"            # only when the token's user belongs to several accounts
}
