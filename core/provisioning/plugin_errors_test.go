package provisioning_test

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/ezscale/platform/core/database"
	"github.com/ezscale/platform/core/database/databasetest"
	"github.com/ezscale/platform/sdk"
)

// TestPowerAnswersPluginErrorsByKind: a power action's plugin error is
// answered by the platform's one mapping, the same for every plugin: a
// backend that no longer knows the service is a 422 backend_not_found (not
// a 409: repeating cannot help), a backend without room a 503
// backend_capacity with the plugin's Retry-After, and a refusal a 422
// backend_refused, none of them quoting the plugin's own text.
func TestPowerAnswersPluginErrorsByKind(t *testing.T) {
	t.Parallel()
	databasetest.Each(t, func(t *testing.T, db *database.DB) {
		tb := setup(t, db, setupOpts{})
		a := tb.api(t)
		c := tb.customer(t, false, false)
		token := a.login(t, c.Email)
		svc := tb.order(t, c, tb.plan(t, "vps", 0, false, ""))
		type answer struct {
			Status     int
			Code       string
			RetryAfter string
		}
		for _, tc := range []struct {
			err  error
			want answer
		}{
			{sdk.Errorf(sdk.NotFound, "node-7.internal: no server 991"), answer{422, "backend_not_found", ""}},
			{sdk.CapacityError(90*time.Second, "node-7.internal is full"), answer{503, "backend_capacity", "90"}},
			{sdk.FieldErrorf("action", "node-7.internal refused"), answer{422, "backend_refused", ""}},
		} {
			tb.prov.SetFail(func(c call) error {
				if c.Op == "power" {
					return tc.err
				}
				return nil
			})
			res := a.must(t, tc.want.Status, "POST", "/api/v1/accounts/"+c.AccountID+"/services/"+svc.ID+"/power", token,
				map[string]string{"action": "boot"})
			var problem struct {
				Code   string `json:"code"`
				Detail string `json:"detail"`
			}
			res.Decode(t, &problem)
			got := answer{res.Status, problem.Code, res.Header.Get("Retry-After")}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("%v (-want +got):\n%s", tc.err, diff)
			}
			if strings.Contains(problem.Detail, "node-7") {
				t.Errorf("%v: the answer quotes the plugin: %q", tc.err, problem.Detail)
			}
		}
	})
}
