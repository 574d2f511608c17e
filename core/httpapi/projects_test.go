package httpapi_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/ezscale/platform/core/database"
	"github.com/ezscale/platform/core/database/databasetest"
)

// TestProjectsAndDependenciesOverTheAPI: through the public API (every
// response checked against the OpenAPI document), a member groups services
// into a project and filters the services list by it; another account's
// project and services are 404; a dependency that closes a cycle is 409
// naming it; cancelling (customer) and terminating (staff) a service
// others depend on is 409 listing them until the request confirms.
func TestProjectsAndDependenciesOverTheAPI(t *testing.T) {
	t.Parallel()
	databasetest.EachURL(t, func(t *testing.T, d database.Dialect, url string) {
		tb := startApp(t, d, url)
		owner, other := tb.newUser(t, "owner"), tb.newUser(t, "other")
		staff := tb.newStaff(t, "admin")
		s1, s2, s3 := createService(t, tb.app.DB, owner.AccountID), createService(t, tb.app.DB, owner.AccountID), createService(t, tb.app.DB, owner.AccountID)
		theirs := createService(t, tb.app.DB, other.AccountID)
		base := "/api/v1/accounts/" + owner.AccountID
		c := tb.client

		var p struct {
			ID       string `json:"id"`
			Archived bool   `json:"archived"`
		}
		c.do("POST", base+"/projects", owner.Token, map[string]any{"name": "Shop", "colour": "#112233"}, "Idempotency-Key", "p1").want(t, http.StatusCreated).decode(t, &p)
		var replay struct{ ID string }
		r := c.do("POST", base+"/projects", owner.Token, map[string]any{"name": "Shop", "colour": "#112233"}, "Idempotency-Key", "p1").want(t, http.StatusCreated)
		if r.decode(t, &replay); replay.ID != p.ID || r.Header.Get("Idempotent-Replayed") != "true" {
			t.Errorf("replay: %s, header %q", r.Body, r.Header.Get("Idempotent-Replayed"))
		}
		c.do("POST", base+"/projects/"+p.ID+"/services", owner.Token, map[string]any{"service_ids": []string{s1, s2}}).want(t, http.StatusOK)

		listed := func(query string) []string {
			t.Helper()
			var page struct {
				Data []struct{ ID string } `json:"data"`
			}
			c.do("GET", base+"/services?"+query, owner.Token, nil).want(t, http.StatusOK).decode(t, &page)
			var ids []string
			for _, s := range page.Data {
				ids = append(ids, s.ID)
			}
			return ids
		}
		byID := cmpopts.SortSlices(func(a, b string) bool { return a < b })
		if diff := cmp.Diff([]string{s1, s2}, listed("project_id="+p.ID), byID); diff != "" {
			t.Errorf("services of the project (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff([]string{s3}, listed("project_id=none")); diff != "" {
			t.Errorf("services in no project (-want +got):\n%s", diff)
		}

		// Another account: its member cannot reach ours, and our project or
		// their service named in our account is 404.
		c.do("GET", base+"/projects/"+p.ID, other.Token, nil).wantProblem(t, http.StatusNotFound, "not_found")
		var theirProject struct{ ID string }
		c.do("POST", "/api/v1/accounts/"+other.AccountID+"/projects", other.Token, map[string]any{"name": "Theirs"}).want(t, http.StatusCreated).decode(t, &theirProject)
		c.do("GET", base+"/projects/"+theirProject.ID, owner.Token, nil).wantProblem(t, http.StatusNotFound, "not_found")
		c.do("GET", base+"/services?project_id="+theirProject.ID, owner.Token, nil).wantProblem(t, http.StatusNotFound, "not_found")
		c.do("POST", base+"/projects/"+p.ID+"/services", owner.Token, map[string]any{"service_ids": []string{theirs}}).wantProblem(t, http.StatusNotFound, "not_found")
		c.do("POST", base+"/dependencies", owner.Token, map[string]any{"service_id": s1, "depends_on_id": theirs}).wantProblem(t, http.StatusNotFound, "not_found")

		c.do("POST", base+"/dependencies", owner.Token, map[string]any{"service_id": s1, "depends_on_id": s2, "type": "database", "critical": true}).want(t, http.StatusCreated)
		c.do("POST", base+"/dependencies", owner.Token, map[string]any{"service_id": s2, "depends_on_id": s3, "type": "api"}).want(t, http.StatusCreated)
		prob := c.do("POST", base+"/dependencies", owner.Token, map[string]any{"service_id": s3, "depends_on_id": s1}).wantProblem(t, http.StatusConflict, "dependency_cycle")
		if len(prob.Errors) != 1 || prob.Errors[0].Field != "depends_on_id" || prob.Errors[0].Message != "would form a cycle: "+strings.Join([]string{s3, s1, s2, s3}, " → ") {
			t.Errorf("cycle refusal: %+v", prob.Errors)
		}

		var g struct {
			Nodes []struct{ ID string } `json:"nodes"`
			Edges []struct{ ID string } `json:"edges"`
		}
		c.do("GET", base+"/dependency-graph", owner.Token, nil).want(t, http.StatusOK).decode(t, &g)
		if len(g.Nodes) != 3 || len(g.Edges) != 2 {
			t.Errorf("graph: %d nodes, %d edges", len(g.Nodes), len(g.Edges))
		}
		c.do("POST", base+"/projects/"+p.ID+"/archive", owner.Token, nil).wantProblem(t, http.StatusConflict, "project_not_empty")

		// The guard, for staff and for the customer.
		prob = c.do("POST", "/api/v1/admin/services/"+s3+"/terminate", staff.Token, map[string]any{"reason": "abuse"}).wantProblem(t, http.StatusConflict, "service_has_dependents")
		if len(prob.Errors) != 2 || !strings.Contains(prob.Errors[1].Message, s2) {
			t.Errorf("terminate refusal: %+v", prob.Errors)
		}
		prob = c.do("POST", base+"/services/"+s2+"/cancel", owner.Token, map[string]any{"when": "now"}).wantProblem(t, http.StatusConflict, "service_has_dependents")
		if len(prob.Errors) != 2 || prob.Errors[1].Field != "dependents[0]" || !strings.Contains(prob.Errors[1].Message, s1) {
			t.Errorf("cancel refusal: %+v", prob.Errors)
		}
		c.do("POST", base+"/services/"+s2+"/cancel", owner.Token, map[string]any{"when": "now", "confirm_dependents": true}).want(t, http.StatusOK)
	})
}
