package provider

import (
	"regexp"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
)

// TestAccPlanTimeValidation checks that what the API would refuse is
// refused by terraform plan, before anything is ordered: a colour, a cron
// expression, a time zone, a plan of another service type, a cycle the
// plan does not offer, an option the plan does not offer or a value it
// does not offer, an unknown plan.
func TestAccPlanTimeValidation(t *testing.T) {
	t.Parallel()
	acc(t)
	cases := []struct {
		name, config, want string
	}{
		{"colour", `resource "ezscale_project" "bad" {
  name   = "x"
  colour = "red"
}`, `must be #rrggbb`},
		{"cron", `resource "ezscale_automated_task" "bad" {
  service_id = "00000000-0000-0000-0000-000000000000"
  type       = "reboot"
  cron       = "61 * * * *"
}`, `(?s)Invalid cron expression.*end of range \(61\) above maximum \(59\)`},
		{"cron fields", `resource "ezscale_automated_task" "bad" {
  service_id = "00000000-0000-0000-0000-000000000000"
  type       = "reboot"
  cron       = "0 3 * *"
}`, `has 4 fields, it needs 5`},
		{"time zone", `resource "ezscale_maintenance_window" "bad" {
  start            = "02:00"
  duration_minutes = 60
  time_zone        = "Mars/Olympus"
}`, `Unknown time zone`},
		{"service type", `resource "ezscale_vps" "bad" {
  plan = "minecraft-2gb"
}`, `(?s)Plan of another service type.*minecraft-2gb is a game plan`},
		{"cycle", `resource "ezscale_vps" "bad" {
  plan  = "vps-micro-free"
  cycle = "annual"
}`, `(?s)Cycle not offered.*offered monthly, not annual`},
		{"option", `resource "ezscale_vps" "bad" {
  plan    = "vps-small"
  options = { root_password = "x" }
}`, `(?s)Option not offered.*hostname, os_template_id`},
		{"option value", `resource "ezscale_vps" "bad" {
  plan    = "vps-small"
  options = { os_template_id = "9" }
}`, `(?s)Option value not offered.*os_template_id = 1, 2, 3, not "9"`},
		{"unknown plan", `resource "ezscale_kasm_workspace" "bad" {
  plan = "no-such-plan"
}`, `Unknown plan`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			resource.Test(t, resource.TestCase{
				ProtoV6ProviderFactories: factories,
				Steps:                    []resource.TestStep{{Config: c.config, PlanOnly: true, ExpectError: regexp.MustCompile(c.want)}},
			})
		})
	}
}
