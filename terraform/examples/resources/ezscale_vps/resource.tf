resource "ezscale_vps" "web" {
  count      = 2
  plan       = "vps-small"
  cycle      = "monthly"
  label      = "web-${count.index}"
  project_id = ezscale_project.shop.id
  options = {
    hostname       = "web-${count.index}.shop.example.net"
    os_template_id = "2"
  }
  provisioning_timeout = "20m"
  cancel_at            = "end_of_term"
}
