# Development configuration used by `make run`: SQLite under data/, loopback only.
# Every value can be overridden by EZSCALE_<BLOCK>_<KEY>, e.g. EZSCALE_SERVER_LISTEN.
server {
  listen     = "127.0.0.1:8080"
  public_url = "http://127.0.0.1:8080"
}

database {
  url = "sqlite:data/ezscale.db"
}

log {
  level  = "info"
  format = "auto"
}
