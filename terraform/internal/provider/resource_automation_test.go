package provider

import (
	"fmt"
	"regexp"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
)

// TestAccServiceDependency records that one VPS depends on another,
// changes the dependency in place and imports it; then, with a dependency
// recorded outside Terraform, destroying the depended-on service fails with
// the API's message naming the dependent, until the service's resource
// sets confirm_dependents.
func TestAccServiceDependency(t *testing.T) {
	t.Parallel()
	e := acc(t)
	var app, db, dep string
	services := `
resource "ezscale_vps" "app" {
  plan      = "vps-small"
  label     = "tf-dep-app"
  cancel_at = "now"
}
`
	db1 := `
resource "ezscale_vps" "db" {
  plan               = "vps-small"
  label              = "tf-dep-db"
  cancel_at          = "now"
  confirm_dependents = %v
}
`
	edge := `
resource "ezscale_service_dependency" "app_db" {
  service_id    = ezscale_vps.app.id
  depends_on_id = ezscale_vps.db.id
  type          = "database"
  critical      = %v
  note          = %q
}
`
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: factories,
		Steps: []resource.TestStep{
			{
				Config: services + fmt.Sprintf(db1, false) + fmt.Sprintf(edge, true, "orders"),
				Check: resource.ComposeAggregateTestCheckFunc(
					idOf("ezscale_vps.app", &app), idOf("ezscale_vps.db", &db), idOf("ezscale_service_dependency.app_db", &dep),
					resource.TestCheckResourceAttr("ezscale_service_dependency.app_db", "type", "database"),
					resource.TestCheckResourceAttr("ezscale_service_dependency.app_db", "critical", "true"),
				),
			},
			{
				Config: services + fmt.Sprintf(db1, false) + fmt.Sprintf(edge, false, "orders and sessions"),
				Check: resource.ComposeAggregateTestCheckFunc(
					resource.TestCheckResourceAttr("ezscale_service_dependency.app_db", "critical", "false"),
					resource.TestCheckResourceAttr("ezscale_service_dependency.app_db", "note", "orders and sessions"),
					func(s *terraform.State) error {
						if got := s.RootModule().Resources["ezscale_service_dependency.app_db"].Primary.ID; got != dep {
							return fmt.Errorf("the change replaced the dependency")
						}
						return nil
					},
				),
			},
			{ResourceName: "ezscale_service_dependency.app_db", ImportState: true, ImportStateVerify: true},
			{
				Config: services + fmt.Sprintf(db1, false),
				Check: func(*terraform.State) error {
					return e.call("GET", "/api/v1/accounts/"+e.account+"/dependencies/"+dep, e.token, nil, 404, nil)
				},
			},
			{
				// Someone records app → db outside Terraform: removing db
				// is refused by the API.
				PreConfig: func() {
					e.must(t, "POST", "/api/v1/accounts/"+e.account+"/dependencies", e.token,
						map[string]any{"service_id": app, "depends_on_id": db, "type": "other", "note": "outside terraform"}, 201, nil)
				},
				Config:      services,
				ExpectError: regexp.MustCompile(`(?s)cancelling the service.*409 service_has_dependents.*dependents\[0\]`),
			},
			{
				Config: services + fmt.Sprintf(db1, true),
				Check:  resource.TestCheckResourceAttr("ezscale_vps.db", "confirm_dependents", "true"),
			},
			{
				Config: services,
				Check: func(*terraform.State) error {
					if s := e.service(t, db); s.Status != "cancelled" && s.Status != "terminated" {
						return fmt.Errorf("db is %s after destroy with confirm_dependents", s.Status)
					}
					return nil
				},
			},
		},
	})
}

// TestAccAutomation creates, changes in place, imports and destroys an
// automated task, a maintenance window and auto-recovery on a VPS.
func TestAccAutomation(t *testing.T) {
	t.Parallel()
	e := acc(t)
	var vps, task, window string
	config := func(cron, tz, start string, attempts int, enabled bool) string {
		return fmt.Sprintf(`
resource "ezscale_vps" "ops" {
  plan      = "vps-small"
  label     = "tf-automation"
  cancel_at = "now"
}
resource "ezscale_automated_task" "nightly" {
  service_id = ezscale_vps.ops.id
  name       = "nightly reboot"
  type       = "reboot"
  cron       = %q
  time_zone  = %q
}
resource "ezscale_maintenance_window" "weekend" {
  name             = "weekend"
  days             = ["sat", "sun"]
  start            = %q
  duration_minutes = 120
  time_zone        = "Europe/Berlin"
}
resource "ezscale_auto_recovery" "ops" {
  service_id            = ezscale_vps.ops.id
  check_type            = "tcp"
  target                = "93.184.216.34"
  port                  = 22
  max_attempts_per_hour = %d
  enabled               = %v
}
`, cron, tz, start, attempts, enabled)
	}
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: factories,
		Steps: []resource.TestStep{
			{
				Config: config("0 3 * * *", "UTC", "02:00", 3, false),
				Check: resource.ComposeAggregateTestCheckFunc(
					idOf("ezscale_vps.ops", &vps), idOf("ezscale_automated_task.nightly", &task), idOf("ezscale_maintenance_window.weekend", &window),
					resource.TestCheckResourceAttr("ezscale_automated_task.nightly", "enabled", "true"),
					resource.TestCheckResourceAttr("ezscale_automated_task.nightly", "notify", "failure"),
					resource.TestMatchResourceAttr("ezscale_automated_task.nightly", "next_run_at", regexp.MustCompile(`T03:00:00Z$`)),
					resource.TestCheckResourceAttr("ezscale_maintenance_window.weekend", "days.#", "2"),
					resource.TestCheckResourceAttr("ezscale_auto_recovery.ops", "port", "22"),
					resource.TestCheckResourceAttrPair("ezscale_auto_recovery.ops", "id", "ezscale_vps.ops", "id"),
				),
			},
			{
				Config: config("30 4 * * 1-5", "Europe/Paris", "23:30", 5, false),
				Check: resource.ComposeAggregateTestCheckFunc(
					resource.TestCheckResourceAttr("ezscale_automated_task.nightly", "cron", "30 4 * * 1-5"),
					resource.TestCheckResourceAttr("ezscale_automated_task.nightly", "time_zone", "Europe/Paris"),
					resource.TestCheckResourceAttr("ezscale_maintenance_window.weekend", "start", "23:30"),
					resource.TestCheckResourceAttr("ezscale_auto_recovery.ops", "max_attempts_per_hour", "5"),
					func(s *terraform.State) error {
						rs := s.RootModule().Resources
						if rs["ezscale_automated_task.nightly"].Primary.ID != task || rs["ezscale_maintenance_window.weekend"].Primary.ID != window {
							return fmt.Errorf("a change in place replaced the task or the window")
						}
						return nil
					},
				),
			},
			{ResourceName: "ezscale_automated_task.nightly", ImportState: true, ImportStateVerify: true, ImportStateVerifyIgnore: []string{"next_run_at"}},
			{ResourceName: "ezscale_maintenance_window.weekend", ImportState: true, ImportStateVerify: true},
			{ResourceName: "ezscale_auto_recovery.ops", ImportState: true, ImportStateVerify: true, ImportStateVerifyIgnore: []string{"state"}},
		},
		CheckDestroy: func(*terraform.State) error {
			for _, p := range []string{"/tasks/" + task, "/maintenance-windows/" + window, "/services/" + vps + "/recovery"} {
				if err := e.call("GET", "/api/v1/accounts/"+e.account+p, e.token, nil, 404, nil); err != nil {
					return fmt.Errorf("after destroy: %w", err)
				}
			}
			return nil
		},
	})
}

// TestAccBudget sets the account's budget, changes it in place, imports
// it by the account's id, and removes it.
func TestAccBudget(t *testing.T) {
	t.Parallel()
	e := acc(t)
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: factories,
		Steps: []resource.TestStep{
			{
				Config: `resource "ezscale_budget" "b" {
  monthly_limit = 50000000
}`,
				Check: resource.ComposeAggregateTestCheckFunc(
					resource.TestCheckResourceAttr("ezscale_budget.b", "id", e.account),
					resource.TestCheckResourceAttr("ezscale_budget.b", "currency", "USD"),
					resource.TestCheckResourceAttr("ezscale_budget.b", "thresholds.#", "3"),
					resource.TestCheckResourceAttr("ezscale_budget.b", "hard_stop", "false"),
				),
			},
			{
				Config: `resource "ezscale_budget" "b" {
  monthly_limit = 60000000
  thresholds    = [80]
  alert_rule    = "projected_percent >= 100"
  reset_day     = 15
}`,
				Check: resource.ComposeAggregateTestCheckFunc(
					resource.TestCheckResourceAttr("ezscale_budget.b", "monthly_limit", "60000000"),
					resource.TestCheckResourceAttr("ezscale_budget.b", "thresholds.0", "80"),
					resource.TestCheckResourceAttr("ezscale_budget.b", "reset_day", "15"),
				),
			},
			{ResourceName: "ezscale_budget.b", ImportState: true, ImportStateVerify: true},
			{
				Config: `resource "ezscale_budget" "b" {
  monthly_limit = 60000000
  alert_rule    = "projected_percent >="
}`,
				ExpectError: regexp.MustCompile(`(?s)setting the budget.*400 invalid.*alert_rule`),
			},
		},
		CheckDestroy: func(*terraform.State) error {
			return e.call("GET", "/api/v1/accounts/"+e.account+"/budget", e.token, nil, 404, nil)
		},
	})
}
