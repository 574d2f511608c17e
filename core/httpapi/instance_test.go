package httpapi_test

import (
	"net/http"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/ezscale/platform/config"
	"github.com/ezscale/platform/core/database"
	"github.com/ezscale/platform/core/database/databasetest"
	"github.com/ezscale/platform/core/httpapi"
)

// TestInstanceShowsTheSandboxMailCatcher: GET /api/v1/instance needs no
// token and names the product; sandbox.mail_url appears as sandbox.mail_url
// (so the console can link to the catcher), and outside a sandbox sandbox
// is null. Responses are checked against the OpenAPI document.
func TestInstanceShowsTheSandboxMailCatcher(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name    string
		mailURL string
		want    httpapi.InstanceView
	}{
		{"installation", "", httpapi.InstanceView{ProductName: "Example Hosting"}},
		{"sandbox", "http://127.0.0.1:8486", httpapi.InstanceView{ProductName: "Example Hosting", Sandbox: &httpapi.SandboxView{MailURL: "http://127.0.0.1:8486"}}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tb := startApp(t, database.SQLite, databasetest.URL(t, database.SQLite), func(c *config.Config) {
				c.Notifications.ProductName = "Example Hosting"
				c.Sandbox.MailURL = tt.mailURL
			})
			var got httpapi.InstanceView
			tb.client.do("GET", "/api/v1/instance", "", nil).want(t, http.StatusOK).decode(t, &got)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}
