resource "ezscale_auto_recovery" "web" {
  service_id            = ezscale_vps.web[0].id
  check_type            = "http"
  target                = "https://shop.example.net/healthz"
  max_attempts_per_hour = 3
}
