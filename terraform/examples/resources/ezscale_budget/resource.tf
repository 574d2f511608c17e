resource "ezscale_budget" "monthly" {
  monthly_limit = 50000 # $500.00
  thresholds    = [50, 80, 100]
  hard_stop     = false
  alert_rule    = "projected_percent >= 100"
}
