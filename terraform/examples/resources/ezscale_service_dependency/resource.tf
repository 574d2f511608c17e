resource "ezscale_vps" "db" {
  plan  = "vps-medium"
  label = "db"
  # Cancel it even while other services depend on it.
  confirm_dependents = false
}

resource "ezscale_service_dependency" "web_db" {
  service_id    = ezscale_vps.web[0].id
  depends_on_id = ezscale_vps.db.id
  type          = "database"
  critical      = true
  note          = "orders and sessions"
}
