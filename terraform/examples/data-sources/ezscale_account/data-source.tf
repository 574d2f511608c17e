data "ezscale_account" "current" {}

output "account" {
  value = "${data.ezscale_account.current.name} (${data.ezscale_account.current.role})"
}
