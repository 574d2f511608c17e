resource "ezscale_kasm_workspace" "browser" {
  plan      = "workspace-chrome"
  label     = "isolated browser"
  cancel_at = "now"
}
