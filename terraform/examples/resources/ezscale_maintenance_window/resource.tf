resource "ezscale_maintenance_window" "sunday_night" {
  name             = "Sunday night"
  days             = ["sun"]
  start            = "23:00"
  duration_minutes = 180
  time_zone        = "Europe/Berlin"
}
