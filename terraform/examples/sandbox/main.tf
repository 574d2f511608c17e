# A configuration for the sandbox (`make demo`, docs/demo.md): a project
# with two VPS, a game server and a workspace, a dependency, a nightly
# reboot, a maintenance window and a budget. See terraform/README.md for
# the token and the dev_overrides that point terraform at a local build.
terraform {
  required_providers {
    ezscale = {
      source = "ezscale/ezscale"
    }
  }
}

variable "endpoint" {
  description = "The sandbox's core (make demo serves it here)."
  default     = "http://127.0.0.1:8080"
}

provider "ezscale" {
  endpoint = var.endpoint
  # token: EZSCALE_TOKEN, a personal API token of a customer with credit
}

data "ezscale_plans" "vps" {
  service_type = "vps"
}

resource "ezscale_project" "demo" {
  name   = "terraform demo"
  colour = "#3182ce"
}

resource "ezscale_vps" "web" {
  count      = 2
  plan       = "vps-small"
  label      = "demo-web-${count.index}"
  project_id = ezscale_project.demo.id
  options    = { hostname = "web-${count.index}.demo.test" }
  cancel_at  = "now"
}

resource "ezscale_game_server" "mc" {
  plan       = "minecraft-2gb"
  label      = "demo-minecraft"
  project_id = ezscale_project.demo.id
  cancel_at  = "now"
}

resource "ezscale_kasm_workspace" "chrome" {
  plan      = "workspace-chrome"
  label     = "demo-browser"
  cancel_at = "now"
}

resource "ezscale_service_dependency" "web_mc" {
  service_id    = ezscale_vps.web[0].id
  depends_on_id = ezscale_vps.web[1].id
  type          = "api"
}

resource "ezscale_automated_task" "reboot" {
  service_id = ezscale_vps.web[0].id
  name       = "nightly reboot"
  type       = "reboot"
  cron       = "0 4 * * *"
}

resource "ezscale_maintenance_window" "nights" {
  name             = "nights"
  start            = "02:00"
  duration_minutes = 120
}

resource "ezscale_budget" "demo" {
  monthly_limit = 20000
}

output "vps_plans" {
  value = [for p in data.ezscale_plans.vps.plans : p.slug]
}

output "web_ids" {
  value = ezscale_vps.web[*].id
}
