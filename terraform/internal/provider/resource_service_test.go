package provider

import (
	"fmt"
	"regexp"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"
)

// idOf reads a resource's id from the state into *id.
func idOf(addr string, id *string) resource.TestCheckFunc {
	return func(s *terraform.State) error {
		r, ok := s.RootModule().Resources[addr]
		if !ok {
			return fmt.Errorf("%s not in state", addr)
		}
		*id = r.Primary.ID
		return nil
	}
}

// TestAccVPS orders a VPS into a project and waits until it is active,
// upgrades its plan in place, changes its cycle at renewal, moves it out
// of the project, downgrades it at renewal, imports it, and cancels it at
// once on destroy.
func TestAccVPS(t *testing.T) {
	t.Parallel()
	e := acc(t)
	var id string
	config := func(plan, cycle, project string) string {
		return fmt.Sprintf(`
resource "ezscale_project" "p" {
  name = "tf-vps-lifecycle"
}
resource "ezscale_vps" "web" {
  plan       = %q
  cycle      = %q
  label      = "tf-vps-lifecycle"
  project_id = %s
  options    = { hostname = "web1.example.net", os_template_id = "2" }
  cancel_at  = "now"
}`, plan, cycle, project)
	}
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: factories,
		Steps: []resource.TestStep{
			{
				Config: config("vps-small", "monthly", "ezscale_project.p.id"),
				Check: resource.ComposeAggregateTestCheckFunc(
					idOf("ezscale_vps.web", &id),
					resource.TestCheckResourceAttr("ezscale_vps.web", "status", "active"),
					resource.TestCheckResourceAttr("ezscale_vps.web", "price", "999"),
					resource.TestCheckResourceAttr("ezscale_vps.web", "currency", "USD"),
					resource.TestCheckResourceAttr("ezscale_vps.web", "options.hostname", "web1.example.net"),
					resource.TestMatchResourceAttr("ezscale_vps.web", "external_id", regexp.MustCompile(`^\d+$`)),
					resource.TestCheckResourceAttrPair("ezscale_vps.web", "project_id", "ezscale_project.p", "id"),
				),
			},
			{
				Config: config("vps-medium", "monthly", "ezscale_project.p.id"),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction("ezscale_vps.web", plancheck.ResourceActionUpdate),
				}},
				Check: resource.ComposeAggregateTestCheckFunc(
					resource.TestCheckResourceAttr("ezscale_vps.web", "plan", "vps-medium"),
					resource.TestCheckResourceAttr("ezscale_vps.web", "price", "1999"),
					func(*terraform.State) error {
						var plan struct {
							ID string `json:"id"`
						}
						if err := e.call("GET", "/api/v1/plans/vps-medium", "", nil, 200, &plan); err != nil {
							return err
						}
						if s := e.service(t, id); s.PlanID != plan.ID || s.Status != "active" {
							return fmt.Errorf("after the upgrade the service is %+v, want active on %s", s, plan.ID)
						}
						return nil
					},
				),
			},
			{
				Config: config("vps-medium", "quarterly", "null"),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction("ezscale_vps.web", plancheck.ResourceActionUpdate),
				}},
				Check: resource.ComposeAggregateTestCheckFunc(
					resource.TestCheckResourceAttr("ezscale_vps.web", "cycle", "quarterly"),
					resource.TestCheckNoResourceAttr("ezscale_vps.web", "project_id"),
					func(*terraform.State) error {
						s := e.service(t, id)
						if s.Cycle != "monthly" || s.PendingChange == nil || s.PendingChange.Cycle != "quarterly" {
							return fmt.Errorf("the cycle change is not pending at renewal: %+v %+v", s, s.PendingChange)
						}
						var list struct {
							Data []serviceView `json:"data"`
						}
						e.must(t, "GET", "/api/v1/accounts/"+e.account+"/services?project_id=none", e.token, nil, 200, &list)
						for _, x := range list.Data {
							if x.ID == id {
								return nil
							}
						}
						return fmt.Errorf("service %s still in a project", id)
					},
				),
			},
			{
				// A downgrade waits for the end of the term: plan and
				// plan_id show the plan the service renews on, and the
				// plan after the apply is empty.
				Config: config("vps-small", "quarterly", "null"),
				Check: resource.ComposeAggregateTestCheckFunc(
					resource.TestCheckResourceAttr("ezscale_vps.web", "plan", "vps-small"),
					resource.TestCheckResourceAttr("ezscale_vps.web", "price", "1999"),
					func(*terraform.State) error {
						var small struct {
							ID string `json:"id"`
						}
						if err := e.call("GET", "/api/v1/plans/vps-small", "", nil, 200, &small); err != nil {
							return err
						}
						s := e.service(t, id)
						if s.PendingChange == nil || s.PendingChange.PlanID != small.ID || s.PendingChange.Cycle != "quarterly" {
							return fmt.Errorf("the downgrade is not pending at renewal: %+v %+v", s, s.PendingChange)
						}
						return nil
					},
				),
			},
			{
				ResourceName:            "ezscale_vps.web",
				ImportState:             true,
				ImportStateVerify:       true,
				ImportStateVerifyIgnore: []string{"cancel_at"},
			},
			{
				ResourceName:      "ezscale_game_server.wrong",
				Config:            config("vps-small", "quarterly", "null") + "\nresource \"ezscale_game_server\" \"wrong\" {\n  plan = \"minecraft-2gb\"\n}\n",
				ImportState:       true,
				ImportStateIdFunc: func(*terraform.State) (string, error) { return id, nil },
				ExpectError:       regexp.MustCompile(`(?s)Service of another type.*service type vps`),
			},
		},
		CheckDestroy: func(*terraform.State) error {
			if s := e.service(t, id); s.Status != "cancelled" && s.Status != "terminated" {
				return fmt.Errorf("after destroy with cancel_at = now the service is %s", s.Status)
			}
			return nil
		},
	})
}

// TestAccGameServerAndWorkspace orders a game server and a Kasm workspace
// (the same resource implementation with another service type), lists
// them with ezscale_services, and destroys them with the default
// cancel_at: at the end of the term, so they stay active until then.
func TestAccGameServerAndWorkspace(t *testing.T) {
	t.Parallel()
	e := acc(t)
	var game, kasm string
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: factories,
		Steps: []resource.TestStep{
			{
				Config: `
resource "ezscale_game_server" "mc" {
  plan  = "minecraft-2gb"
  label = "tf-game"
}
resource "ezscale_kasm_workspace" "chrome" {
  plan  = "workspace-chrome"
  label = "tf-kasm"
}`,
				Check: resource.ComposeAggregateTestCheckFunc(
					idOf("ezscale_game_server.mc", &game),
					idOf("ezscale_kasm_workspace.chrome", &kasm),
					resource.TestCheckResourceAttr("ezscale_game_server.mc", "status", "active"),
					resource.TestCheckResourceAttr("ezscale_kasm_workspace.chrome", "status", "active"),
					resource.TestCheckResourceAttr("ezscale_game_server.mc", "cancel_at", "end_of_term"),
				),
			},
			{
				Config: `
resource "ezscale_game_server" "mc" {
  plan  = "minecraft-2gb"
  label = "tf-game"
}
resource "ezscale_kasm_workspace" "chrome" {
  plan  = "workspace-chrome"
  label = "tf-kasm"
}
data "ezscale_services" "active" {
  status     = "active"
  depends_on = [ezscale_game_server.mc, ezscale_kasm_workspace.chrome]
}`,
				Check: func(s *terraform.State) error {
					ds := s.RootModule().Resources["data.ezscale_services.active"].Primary.Attributes
					found := map[string]bool{}
					for i := 0; ; i++ {
						v, ok := ds[fmt.Sprintf("services.%d.id", i)]
						if !ok {
							break
						}
						found[v] = true
						if st := ds[fmt.Sprintf("services.%d.status", i)]; st != "active" {
							return fmt.Errorf("services.%d is %s", i, st)
						}
					}
					if !found[game] || !found[kasm] {
						return fmt.Errorf("ezscale_services lacks %s or %s: %v", game, kasm, found)
					}
					return nil
				},
			},
			{ResourceName: "ezscale_kasm_workspace.chrome", ImportState: true, ImportStateVerify: true},
		},
		CheckDestroy: func(*terraform.State) error {
			for _, id := range []string{game, kasm} {
				if s := e.service(t, id); s.Status != "active" || !s.CancelAtPeriodEnd {
					return fmt.Errorf("after destroy with cancel_at = end_of_term service %s is %s (cancel at period end: %v)", id, s.Status, s.CancelAtPeriodEnd)
				}
			}
			return nil
		},
	})
}

// TestAccServiceSuspendedOutsideTerraform suspends a service as staff: the
// next plan shows it (a change back to active that an apply refuses with
// the reason), and once staff lift the suspension the plan is empty. A
// cycle change made outside Terraform then shows in the plan too.
func TestAccServiceSuspendedOutsideTerraform(t *testing.T) {
	t.Parallel()
	e := acc(t)
	var id string
	const config = `
resource "ezscale_vps" "drift" {
  plan      = "vps-small"
  label     = "tf-drift"
  cancel_at = "now"
}`
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: factories,
		Steps: []resource.TestStep{
			{Config: config, Check: idOf("ezscale_vps.drift", &id)},
			{
				PreConfig: func() {
					e.must(t, "POST", "/api/v1/admin/services/"+id+"/suspend", e.staff, map[string]any{"reason": "abuse", "note": "terraform drift test"}, 200, nil)
					waitFor(t, "the suspension", func() bool { return e.service(t, id).Status == "suspended" })
				},
				Config: config,
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction("ezscale_vps.drift", plancheck.ResourceActionUpdate),
					plancheck.ExpectKnownValue("ezscale_vps.drift", statusPath, knownString("active")),
				}},
				ExpectError: regexp.MustCompile(`(?s)is suspended.*abuse.*cannot unsuspend`),
			},
			{
				PreConfig: func() {
					e.must(t, "POST", "/api/v1/admin/services/"+id+"/unsuspend", e.staff, map[string]any{"reason": "abuse"}, 200, nil)
					waitFor(t, "the unsuspension", func() bool { return e.service(t, id).Status == "active" })
				},
				Config: config,
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectEmptyPlan(),
				}},
				Check: resource.TestCheckResourceAttr("ezscale_vps.drift", "status", "active"),
			},
			{
				// A cycle change asked for outside Terraform shows as a
				// change back to the configured cycle.
				PreConfig: func() {
					e.must(t, "POST", "/api/v1/accounts/"+e.account+"/services/"+id+"/change-plan", e.token,
						map[string]any{"plan_id": "vps-small", "cycle": "annual", "when": "end_of_term"}, 200, nil)
				},
				Config:             config,
				PlanOnly:           true,
				ExpectNonEmptyPlan: true,
				ConfigPlanChecks: resource.ConfigPlanChecks{PostApplyPostRefresh: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction("ezscale_vps.drift", plancheck.ResourceActionUpdate),
					plancheck.ExpectKnownValue("ezscale_vps.drift", tfjsonpath.New("cycle"), knownString("monthly")),
				}},
			},
		},
	})
}
