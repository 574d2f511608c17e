server {
  listen          = "0.0.0.0:9090"
  public_url      = "https://billing.example.com"
  trusted_proxies = ["10.0.0.0/8"]
}
database { url = "postgres://ezscale@localhost/ezscale" }
jobs { workers = 50 }
plugin "email" {
  path   = "bin/ezscale-plugin-email"
  sha256 = "0000000000000000000000000000000000000000000000000000000000000000"
  config {
    host     = "smtp.example.com"
    port     = 587
    password = env("SMTP_PASSWORD", "")
    tags     = ["a", "b"]
  }
}
