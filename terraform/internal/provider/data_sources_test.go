package provider

import (
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
)

// TestAccDataSources reads the catalog filtered by service type and
// location, one plan by slug with its cycle prices, and the account the
// provider resolved from its token.
func TestAccDataSources(t *testing.T) {
	t.Parallel()
	e := acc(t)
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: factories,
		Steps: []resource.TestStep{{
			Config: `
data "ezscale_plans" "vps" {
  service_type = "vps"
}
data "ezscale_plans" "game" {
  service_type = "game"
}
data "ezscale_plans" "nowhere" {
  location = "mars-1"
}
data "ezscale_plan" "small" {
  slug = "vps-small"
}
data "ezscale_account" "me" {}
`,
			Check: resource.ComposeAggregateTestCheckFunc(
				resource.TestCheckResourceAttr("data.ezscale_plans.vps", "plans.#", "3"),
				resource.TestCheckResourceAttr("data.ezscale_plans.vps", "plans.0.slug", "vps-micro-free"),
				resource.TestCheckResourceAttr("data.ezscale_plans.vps", "plans.1.slug", "vps-small"),
				resource.TestCheckResourceAttr("data.ezscale_plans.game", "plans.#", "1"),
				resource.TestCheckResourceAttr("data.ezscale_plans.game", "plans.0.slug", "minecraft-2gb"),
				resource.TestCheckResourceAttr("data.ezscale_plans.nowhere", "plans.#", "0"),
				resource.TestCheckResourceAttr("data.ezscale_plan.small", "monthly_price", "999"),
				resource.TestCheckResourceAttr("data.ezscale_plan.small", "prices.monthly", "999"),
				resource.TestCheckResourceAttr("data.ezscale_plan.small", "prices.quarterly", "2847"),
				resource.TestCheckResourceAttr("data.ezscale_plan.small", "prices.annual", "10190"),
				resource.TestCheckResourceAttr("data.ezscale_plan.small", "order_options.os_template_id.#", "3"),
				resource.TestCheckResourceAttr("data.ezscale_plan.small", "specs.vcpu", "2"),
				resource.TestCheckResourceAttr("data.ezscale_account.me", "id", e.account),
				resource.TestCheckResourceAttr("data.ezscale_account.me", "role", "owner"),
			),
		}},
	})
}
