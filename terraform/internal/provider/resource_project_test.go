package provider

import (
	"fmt"
	"regexp"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
)

// TestAccProject creates, renames (in place), imports by id and by name,
// and destroys (archives) a project.
func TestAccProject(t *testing.T) {
	t.Parallel()
	e := acc(t)
	var id string
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: factories,
		Steps: []resource.TestStep{
			{
				Config: `resource "ezscale_project" "p" {
  name   = "tf-project-web"
  colour = "#aabbcc"
  icon   = "globe"
}`,
				Check: resource.ComposeAggregateTestCheckFunc(
					resource.TestCheckResourceAttr("ezscale_project.p", "name", "tf-project-web"),
					resource.TestCheckResourceAttr("ezscale_project.p", "description", ""),
					resource.TestMatchResourceAttr("ezscale_project.p", "id", regexp.MustCompile(`^[0-9a-f-]{36}$`)),
					func(s *terraform.State) error {
						id = s.RootModule().Resources["ezscale_project.p"].Primary.ID
						return nil
					},
				),
			},
			{
				Config: `resource "ezscale_project" "p" {
  name        = "tf-project-web2"
  description = "the web tier"
  colour      = "#aabbcc"
  icon        = "globe"
}`,
				Check: resource.ComposeAggregateTestCheckFunc(
					resource.TestCheckResourceAttr("ezscale_project.p", "name", "tf-project-web2"),
					resource.TestCheckResourceAttr("ezscale_project.p", "description", "the web tier"),
					func(s *terraform.State) error {
						if got := s.RootModule().Resources["ezscale_project.p"].Primary.ID; got != id {
							return fmt.Errorf("renaming replaced the project: id %s, was %s", got, id)
						}
						return nil
					},
				),
			},
			{ResourceName: "ezscale_project.p", ImportState: true, ImportStateVerify: true},
			{ResourceName: "ezscale_project.p", ImportState: true, ImportStateVerify: true, ImportStateId: "TF-project-web2"},
		},
		CheckDestroy: func(*terraform.State) error {
			var p struct {
				Archived bool `json:"archived"`
			}
			if err := e.call("GET", "/api/v1/accounts/"+e.account+"/projects/"+id, e.token, nil, 200, &p); err != nil {
				return err
			}
			if !p.Archived {
				return fmt.Errorf("project %s not archived after destroy", id)
			}
			return nil
		},
	})
}
