data "ezscale_plan" "small" {
  slug = "vps-small"
}

output "small_quarterly_price" {
  value = data.ezscale_plan.small.prices["quarterly"]
}
