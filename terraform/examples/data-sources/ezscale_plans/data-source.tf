data "ezscale_plans" "vps" {
  service_type = "vps"
}

output "vps_plans" {
  value = { for p in data.ezscale_plans.vps.plans : p.slug => p.monthly_price }
}
