package provisioning_test

import (
	"testing"
	"time"

	"github.com/ezscale/platform/core/database"
	"github.com/ezscale/platform/core/database/databasetest"
	"github.com/ezscale/platform/sdk"
)

// TestLoginURLWhileStartingIs503: a provisioner that answers LoginURL with
// Unavailable and a retry-after (a Kasm workspace session still starting)
// gives the customer a 503 problem carrying that Retry-After, as the OpenAPI
// document says, so a client knows when to ask again.
func TestLoginURLWhileStartingIs503(t *testing.T) {
	t.Parallel()
	databasetest.Each(t, func(t *testing.T, db *database.DB) {
		tb := setup(t, db, setupOpts{})
		a := tb.api(t)
		c := tb.customer(t, false, false)
		token := a.login(t, c.Email)
		svc := tb.order(t, c, tb.plan(t, "workspace", 0, false, ""))
		tb.prov.SetFail(func(c call) error {
			if c.Op == "login" {
				return sdk.UnavailableError(12*time.Second, "the workspace session is starting; try again in a few seconds")
			}
			return nil
		})

		res := a.must(t, 503, "POST", "/api/v1/accounts/"+c.AccountID+"/services/"+svc.ID+"/login-url", token, nil)
		var problem struct {
			Code string `json:"code"`
		}
		res.Decode(t, &problem)
		if got := res.Header.Get("Retry-After"); got != "12" || problem.Code == "" {
			t.Errorf("Retry-After %q, problem %+v; want 12 and a problem code", got, problem)
		}
	})
}
