# The sandbox of `make demo` (docs/demo.md): a core on SQLite, configured against what
# scripts/demo.sh starts on localhost with bin/ezscale-fakes: fakes of VirtFusion, Pterodactyl,
# Kasm and Discord, a mail catcher, and Stripe's stripe-mock. No network is needed.
#
# The file works as it stands, so `bin/ezscale … --config config/examples/demo.hcl` needs nothing
# exported: every address and credential is env("EZSCALE_DEMO_…", "default"), the default being
# what the fakes accept on their default ports. They are the fakes' test credentials, not secrets;
# a real deployment reads its secrets from the environment with no default. scripts/demo.sh and
# tests/demo_test.go set the variables only to move the fakes to other ports. EZSCALE_DEMO_BIN is
# where the binaries are (default bin), EZSCALE_DEMO_DATA where the database goes (default data/demo).
server {
  listen     = "127.0.0.1:8080"
  public_url = "http://127.0.0.1:8080"
}

database {
  url = "sqlite:${env("EZSCALE_DEMO_DATA", "data/demo")}/ezscale.db"
}

log {
  level  = "info"
  format = "text"
}

jobs {
  fetch_poll_interval = "200ms"
}

billing {
  # A failed provisioning is retried after 5 s, 10 s, 20 s, … (or later when
  # the plugin asks for it).
  retry_base = "5s"
  # A game server that is still installing is checked every 2 s.
  install_poll_interval = "2s"
  # Cards are charged through the Stripe plugin, against stripe-mock.
  payment_gateway = "stripe"
}

notifications {
  product_name     = "EZSCALE Demo"
  email_plugin     = "email"   # to the mail catcher
  discord_plugin   = "discord" # staff alerts and customers' own webhooks
  community_plugin = "discord" # invites, linking, role sync
  admin_alerts     = ["service.failed", "task.failed"]
  # Every linked member's Discord roles are recomputed each minute, besides after linking and
  # whenever a service starts or ends.
  role_sync_interval = "1m"
}

provisioning {
  usage_interval = "30s"
}

# What the console's staff side links to (GET /api/v1/instance shows it).
sandbox {
  mail_url = env("EZSCALE_DEMO_MAIL_URL", "http://127.0.0.1:8486")
}

plugin "virtfusion" {
  path = "${env("EZSCALE_DEMO_BIN", "bin")}/ezscale-plugin-virtfusion"
  config {
    api_url   = env("EZSCALE_DEMO_VIRTFUSION_URL", "http://127.0.0.1:8481/api/v1")
    api_token = env("EZSCALE_DEMO_VIRTFUSION_TOKEN", "vf-test-token")
  }
}

plugin "pterodactyl" {
  path = "${env("EZSCALE_DEMO_BIN", "bin")}/ezscale-plugin-pterodactyl"
  config {
    api_url         = env("EZSCALE_DEMO_PTERODACTYL_URL", "http://127.0.0.1:8482")
    application_key = env("EZSCALE_DEMO_PTERODACTYL_APP_KEY", "ptla_testapplicationkey0000000000000000000")
    client_key      = env("EZSCALE_DEMO_PTERODACTYL_CLIENT_KEY", "ptlc_testclientkey000000000000000000000000")
  }
}

plugin "kasm" {
  path = "${env("EZSCALE_DEMO_BIN", "bin")}/ezscale-plugin-kasm"
  config {
    api_url        = env("EZSCALE_DEMO_KASM_URL", "http://127.0.0.1:8483")
    api_key        = env("EZSCALE_DEMO_KASM_KEY", "kasm-test-key")
    api_key_secret = env("EZSCALE_DEMO_KASM_SECRET", "kasm-test-secret")
  }
}

# The mail catcher: plain SMTP on loopback, nothing relayed.
plugin "email" {
  path = "${env("EZSCALE_DEMO_BIN", "bin")}/ezscale-plugin-email"
  config {
    host       = "127.0.0.1"
    port       = env("EZSCALE_DEMO_SMTP_PORT", "8487") + 0 # "+ 0": the plugin wants a number, env() gives text
    tls_policy = "none"
    from       = "EZSCALE Demo <noreply@demo.test>"
  }
}

# stripe-mock behind the fakes' test mode (plugins/stripe/README.md); test cards in docs/demo.md.
plugin "stripe" {
  path = "${env("EZSCALE_DEMO_BIN", "bin")}/ezscale-plugin-stripe"
  config {
    secret_key     = env("EZSCALE_DEMO_STRIPE_SECRET_KEY", "sk_test_demo")
    webhook_secret = env("EZSCALE_DEMO_STRIPE_WEBHOOK_SECRET", "whsec_demo")
    api_base_url   = env("EZSCALE_DEMO_STRIPE_URL", "http://127.0.0.1:8485")
  }
}

# The Discord fake's seeded guild (plugins/cmd/ezscale-fakes/sandbox.go): invites lead to #welcome,
# the managed roles are vps, gaming and vip, staff alerts go to #staff-alerts.
plugin "discord" {
  path = "${env("EZSCALE_DEMO_BIN", "bin")}/ezscale-plugin-discord"
  config {
    api_base_url      = "${env("EZSCALE_DEMO_DISCORD_URL", "http://127.0.0.1:8484")}/api/v10"
    webhook_url       = "${env("EZSCALE_DEMO_DISCORD_URL", "http://127.0.0.1:8484")}/api/webhooks/1400000000000000021/${env("EZSCALE_DEMO_DISCORD_WEBHOOK_TOKEN", "demo-discord-webhook-token")}"
    bot_token         = env("EZSCALE_DEMO_DISCORD_BOT_TOKEN", "demo-discord-bot-token")
    guild_id          = "1400000000000000001"
    invite_channel_id = "1400000000000000002"
    roles             = ["vps=1400000000000000011", "gaming=1400000000000000012", "vip=1400000000000000013"]
  }
}
