# Development configuration used by `make run`: SQLite under data/, loopback only.
# Every value can be overridden by EZSCALE_<BLOCK>_<KEY>, e.g. EZSCALE_SERVER_LISTEN.
server {
  listen     = "127.0.0.1:8080"
  public_url = "http://127.0.0.1:8080"
  # Prometheus /metrics on a listener of its own (never on the API's); in production bind it to a
  # private interface, or set metrics_token = env("EZSCALE_METRICS_TOKEN") as well.
  metrics_listen = "127.0.0.1:9090"
}

database {
  url = "sqlite:data/ezscale.db"
}

log {
  level  = "info"
  format = "auto"
}

# Email (verification, password reset, …) goes out through the email plugin; without it, messages
# stay pending in the outbox. For local development, point it at a mail catcher such as Mailpit
# (SMTP on 127.0.0.1:1025) and run `make build` first.
# plugin "email" {
#   path = "bin/ezscale-plugin-email"
#   config {
#     host       = "127.0.0.1"
#     port       = 1025
#     tls_policy = "none"
#     from       = "EZSCALE <noreply@localhost>"
#   }
# }

# Notifications: see docs/notifications.md. With the Discord plugin configured, name it here for
# admin alerts (its webhook) and the community features (its bot).
# notifications {
#   product_name     = "EZSCALE (dev)"
#   discord_plugin   = "discord"
#   community_plugin = "discord"
#   admin_alerts     = ["service.failed", "task.failed"]
# }

# Two-factor secrets are sealed under auth.secrets_key, which comes from the environment only
# (EZSCALE_AUTH_SECRETS_KEY; `ezscale secrets generate` makes one). Without it, this SQLite setup
# keeps a random key in data/secrets.key, created on first start: keep it with the database.
