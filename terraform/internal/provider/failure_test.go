package provider

import (
	"fmt"
	"regexp"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
)

// TestAccServiceFailedProvisioning makes the VirtFusion fake refuse to
// create servers (422, which the platform treats as permanent): the apply
// fails with the backend's error, and the failed service stays in the
// state, tainted, so the next apply replaces it.
//
// Not parallel: the failure is injected into the fake every test shares,
// and Go runs the parallel tests only after the sequential ones.
func TestAccServiceFailedProvisioning(t *testing.T) {
	e := acc(t)
	e.fault(t, "/__fake/failures", map[string]any{"route": "POST /api/v1/servers", "status": 422, "times": 1000,
		"message": "the hypervisor group has no IPv4 addresses left"})
	t.Cleanup(func() { e.fault(t, "/__fake/reset", nil) })
	const config = `
resource "ezscale_vps" "doomed" {
  plan  = "vps-small"
  label = "tf-failed"
}`
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: factories,
		Steps: []resource.TestStep{
			{
				Config:      config,
				ExpectError: regexp.MustCompile(`(?s)was not provisioned.*provisioning failed: .*no IPv4 addresses left`),
			},
			{
				// The failed service is in the state, tainted: the plan replaces it.
				PreConfig: func() {
					var failed []serviceView
					for _, s := range e.services(t) {
						if s.Label == "tf-failed" {
							failed = append(failed, s)
						}
					}
					if len(failed) != 1 || failed[0].Status != "failed" {
						t.Fatalf("services labelled tf-failed: %+v, want one failed", failed)
					}
				},
				Config:             config,
				PlanOnly:           true,
				ExpectNonEmptyPlan: true,
			},
		},
		CheckDestroy: func(*terraform.State) error {
			for _, s := range e.services(t) {
				if s.Label == "tf-failed" && s.Status != "failed" {
					return fmt.Errorf("service %s is %s", s.ID, s.Status)
				}
			}
			return nil
		},
	})
}
