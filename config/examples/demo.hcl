# The sandbox of `make demo` (docs/demo.md): a core on SQLite, configured against the VirtFusion,
# Pterodactyl and Kasm fakes that scripts/demo.sh starts on localhost. No network is needed.
#
# The fakes' addresses and credentials come from the environment (scripts/demo.sh sets them to the
# fakes' defaults): EZSCALE_DEMO_VIRTFUSION_URL, EZSCALE_DEMO_VIRTFUSION_TOKEN,
# EZSCALE_DEMO_PTERODACTYL_URL, EZSCALE_DEMO_PTERODACTYL_APP_KEY, EZSCALE_DEMO_PTERODACTYL_CLIENT_KEY,
# EZSCALE_DEMO_KASM_URL, EZSCALE_DEMO_KASM_KEY, EZSCALE_DEMO_KASM_SECRET. EZSCALE_DEMO_BIN is where the
# binaries are (default bin), EZSCALE_DEMO_DATA where the database goes (default data/demo).
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
}

# No email in the sandbox: messages wait in the outbox; in-app notifications work.
notifications {
  email_plugin = ""
}

provisioning {
  usage_interval = "30s"
}

plugin "virtfusion" {
  path = "${env("EZSCALE_DEMO_BIN", "bin")}/ezscale-plugin-virtfusion"
  config {
    api_url   = env("EZSCALE_DEMO_VIRTFUSION_URL", "http://127.0.0.1:8481/api/v1")
    api_token = env("EZSCALE_DEMO_VIRTFUSION_TOKEN")
  }
}

plugin "pterodactyl" {
  path = "${env("EZSCALE_DEMO_BIN", "bin")}/ezscale-plugin-pterodactyl"
  config {
    api_url         = env("EZSCALE_DEMO_PTERODACTYL_URL", "http://127.0.0.1:8482")
    application_key = env("EZSCALE_DEMO_PTERODACTYL_APP_KEY")
    client_key      = env("EZSCALE_DEMO_PTERODACTYL_CLIENT_KEY")
  }
}

plugin "kasm" {
  path = "${env("EZSCALE_DEMO_BIN", "bin")}/ezscale-plugin-kasm"
  config {
    api_url        = env("EZSCALE_DEMO_KASM_URL", "http://127.0.0.1:8483")
    api_key        = env("EZSCALE_DEMO_KASM_KEY")
    api_key_secret = env("EZSCALE_DEMO_KASM_SECRET")
  }
}
