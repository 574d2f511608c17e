data "ezscale_services" "shop" {
  project_id = ezscale_project.shop.id
  status     = "active"
}
