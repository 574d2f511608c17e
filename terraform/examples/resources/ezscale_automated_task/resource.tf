resource "ezscale_automated_task" "nightly_snapshot" {
  service_id = ezscale_vps.db.id
  name       = "nightly snapshot"
  type       = "snapshot"
  cron       = "30 2 * * *"
  time_zone  = "Europe/Berlin"
  notify     = "failure"
}
