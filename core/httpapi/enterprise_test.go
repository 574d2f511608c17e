package httpapi_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/ezscale/platform/core/database"
	"github.com/ezscale/platform/core/database/databasetest"
	"github.com/ezscale/platform/core/enterprise"
	"github.com/ezscale/platform/core/httpapi"
)

// TestEnterpriseRequestsOverTheAPI: through the public API (responses
// checked against the OpenAPI document) a customer submits an enterprise
// request, staff quote it, the customer accepts the quote (a private plan
// at the quoted price, out of the public catalog, and the setup fee
// invoiced), staff attach a hand-provisioned service, billed at the quoted
// price; another account gets 404. Staff are told of the request and the
// acceptance, and the staff plan list marks and filters the private plan.
func TestEnterpriseRequestsOverTheAPI(t *testing.T) {
	t.Parallel()
	databasetest.EachURL(t, func(t *testing.T, d database.Dialect, url string) {
		tb := startApp(t, d, url)
		owner, other := tb.newUser(t, "ent"), tb.newUser(t, "other")
		staff := tb.newStaff(t, "admin")
		c := tb.client
		base := "/api/v1/accounts/" + owner.AccountID
		svc := createPaidService(t, tb.app.DB, owner.AccountID)
		current, err := tb.app.Billing.Service(context.Background(), "", svc)
		if err != nil {
			t.Fatal(err)
		}
		basePlan := current.PlanID

		var r enterprise.Request
		c.do("POST", base+"/enterprise-requests", owner.Token, map[string]any{"nodes": 3, "load_balancer": true, "failover": true, "region": "eu-central"},
			"Idempotency-Key", "e1").want(t, http.StatusCreated).decode(t, &r)
		c.do("GET", "/api/v1/accounts/"+other.AccountID+"/enterprise-requests/"+r.ID, other.Token, nil).wantProblem(t, http.StatusNotFound, "not_found")
		c.do("POST", "/api/v1/admin/enterprise-requests/"+r.ID+"/quote", staff.Token, map[string]any{
			"base_plan_id": basePlan, "monthly_price": 120000, "setup_fee": 50000, "terms": "12 months", "expires_at": time.Now().Add(72 * time.Hour),
		}).want(t, http.StatusOK).decode(t, &r)
		if r.Status != "quoted" {
			t.Fatalf("quoted: %+v", r)
		}
		c.do("POST", "/api/v1/accounts/"+other.AccountID+"/enterprise-requests/"+r.ID+"/accept", other.Token, nil).wantProblem(t, http.StatusNotFound, "not_found")
		c.do("POST", base+"/enterprise-requests/"+r.ID+"/accept", owner.Token, nil, "Idempotency-Key", "a1").want(t, http.StatusOK).decode(t, &r)
		if r.Status != "accepted" || r.PlanID == nil || r.SetupInvoiceID == "" {
			t.Fatalf("accepted: %+v", r)
		}
		c.do("GET", "/api/v1/plans/"+*r.PlanID, "", nil).wantProblem(t, http.StatusNotFound, "not_found")
		var plans httpapi.List[struct{ ID string }]
		c.do("GET", "/api/v1/plans", "", nil).want(t, http.StatusOK).decode(t, &plans)
		for _, p := range plans.Data {
			if p.ID == *r.PlanID {
				t.Error("the private plan is in the public catalog")
			}
		}
		// Staff see the private plan marked with its account, and filter.
		var staffPlans httpapi.List[httpapi.AdminPlanView]
		c.do("GET", "/api/v1/admin/plans?private=true", staff.Token, nil).want(t, http.StatusOK).decode(t, &staffPlans)
		if len(staffPlans.Data) != 1 || staffPlans.Data[0].ID != *r.PlanID || staffPlans.Data[0].AccountID == nil || *staffPlans.Data[0].AccountID != owner.AccountID {
			t.Errorf("private plans: %+v", staffPlans.Data)
		}
		c.do("GET", "/api/v1/admin/plans?private=false", staff.Token, nil).want(t, http.StatusOK).decode(t, &staffPlans)
		for _, p := range staffPlans.Data {
			if p.ID == *r.PlanID || p.AccountID != nil {
				t.Errorf("a private plan among the public ones: %+v", p)
			}
		}
		c.do("GET", "/api/v1/admin/plans?private=maybe", staff.Token, nil).wantProblem(t, http.StatusBadRequest, "invalid")
		// The staff who quote heard of the request and of the acceptance.
		var staffNotes int
		if err := tb.app.DB.NewRaw("SELECT COUNT(*) FROM notifications AS n JOIN notification_events AS e ON e.id = n.event_id WHERE n.user_id = ? AND e.type = ?",
			staff.ID, "enterprise.staff").Scan(context.Background(), &staffNotes); err != nil {
			t.Fatal(err)
		}
		if staffNotes != 2 {
			t.Errorf("the staff admin got %d enterprise.staff notifications, want 2 (submitted, accepted)", staffNotes)
		}
		var attached struct {
			PlanID string `json:"plan_id"`
			Price  int64  `json:"price"`
		}
		c.do("POST", "/api/v1/admin/enterprise-requests/"+r.ID+"/services", staff.Token, map[string]any{"service_id": svc}).want(t, http.StatusOK).decode(t, &attached)
		if attached.PlanID != *r.PlanID || attached.Price != 120000 {
			t.Errorf("attached: %+v", attached)
		}
		var page httpapi.List[enterprise.Request]
		c.do("GET", "/api/v1/admin/enterprise-requests?status=accepted", staff.Token, nil).want(t, http.StatusOK).decode(t, &page)
		if len(page.Data) != 1 || page.Data[0].ID != r.ID {
			t.Errorf("staff list: %+v", page.Data)
		}
	})
}

// TestEnterpriseRoutesAreDocumented: every route of the module is in the
// OpenAPI document.
func TestEnterpriseRoutesAreDocumented(t *testing.T) {
	t.Parallel()
	doc, _, err := httpapi.OpenAPI()
	if err != nil {
		t.Fatal(err)
	}
	srv := httpapi.New(httpapi.Deps{}, httpapi.Options{}, &httpapi.EnterpriseAPI{})
	for _, rt := range srv.Routes() {
		item := doc.Paths.Find(rt.Path)
		if item == nil || item.GetOperation(rt.Method) == nil {
			t.Errorf("%s %s is not in the OpenAPI document", rt.Method, rt.Path)
		}
	}
}
