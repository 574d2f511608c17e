package httpapi_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/ezscale/platform/core/approval"
	"github.com/ezscale/platform/core/database"
	"github.com/ezscale/platform/core/database/databasetest"
	"github.com/ezscale/platform/core/httpapi"
)

// TestStaffGovernanceRoutesPassTheGate: the staff decisions of transfers
// and enterprise requests are gated, under their documented action names.
func TestStaffGovernanceRoutesPassTheGate(t *testing.T) {
	t.Parallel()
	srv := httpapi.New(httpapi.Deps{}, httpapi.Options{}, &httpapi.TransfersAPI{}, &httpapi.EnterpriseAPI{})
	got := map[string]string{}
	for _, rt := range srv.Routes() {
		if rt.HighRisk != nil {
			got[rt.Method+" "+rt.Path] = rt.HighRisk.Action
		}
	}
	want := map[string]string{
		"POST /api/v1/admin/transfers/{transfer_id}/approve":           "transfers.approve",
		"POST /api/v1/admin/transfers/{transfer_id}/reject":            "transfers.reject",
		"POST /api/v1/admin/enterprise-requests/{request_id}/quote":    "enterprise.quote",
		"POST /api/v1/admin/enterprise-requests/{request_id}/services": "enterprise.attach_service",
		"POST /api/v1/admin/users/{id}/disable":                        "users.disable",
		"POST /api/v1/admin/users/{id}/enable":                         "users.enable",
		"DELETE /api/v1/admin/users/{id}":                              "users.delete",
		"POST /api/v1/admin/users/{id}/2fa/disable":                    "users.2fa_disable",
		"POST /api/v1/admin/staff":                                     "staff.create",
		"PATCH /api/v1/admin/staff/{id}":                               "staff.role_change",
		"DELETE /api/v1/admin/staff/{id}":                              "staff.delete",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("gated routes (-want +got):\n%s", diff)
	}
}

// TestCurrencyFactComesFromTheAccount: a rule on `amount > 50000 &&
// currency == "USD"` holds a large credit adjustment of a USD account and
// lets the same adjustment of a EUR account run (the currency fact is the
// account's); it holds a USD enterprise quote above the amount, which runs
// once another admin approves it, and lets a smaller quote through.
func TestCurrencyFactComesFromTheAccount(t *testing.T) {
	t.Parallel()
	databasetest.EachURL(t, func(t *testing.T, d database.Dialect, url string) {
		b := setupApprovals(t, d, url)
		b.disablePolicy(t, "hrp_large_credit")
		b.client.do("POST", "/api/v1/admin/high-risk-policies", b.owner.Token, map[string]any{
			"name": "Large USD amounts", "actions": []string{"credit.adjust", "enterprise.quote"},
			"rule": `amount > 50000 && currency == "USD"`, "outcome": "require_approval",
		}).want(t, http.StatusCreated)
		eur := b.newUser(t, "eur")
		b.client.do("PATCH", "/api/v1/admin/accounts/"+eur.AccountID+"/billing-profile", b.admin.Token, map[string]any{"currency": "EUR"}).want(t, http.StatusOK)
		b.client.do("PATCH", "/api/v1/admin/accounts/"+b.customer.AccountID+"/billing-profile", b.admin.Token, map[string]any{"currency": "USD"}).want(t, http.StatusOK)

		body := map[string]any{"amount": 60000, "description": "goodwill"}
		var held approval.Approval
		b.client.do("POST", b.adjust, b.admin.Token, body).want(t, http.StatusAccepted).decode(t, &held)
		if held.FactsView == nil || held.FactsView.Currency != "USD" || held.FactsView.Amount != 60000 {
			t.Errorf("held facts %+v, want 60000 USD", held.FactsView)
		}
		b.client.do("POST", "/api/v1/admin/accounts/"+eur.AccountID+"/credit/adjustments", b.admin.Token, body).want(t, http.StatusCreated)

		// An enterprise quote of the USD account.
		svc := createPaidService(t, b.app.DB, b.customer.AccountID)
		current, err := b.app.Billing.Service(context.Background(), "", svc)
		if err != nil {
			t.Fatal(err)
		}
		basePlan := current.PlanID
		var req struct{ ID, Status string }
		b.client.do("POST", "/api/v1/accounts/"+b.customer.AccountID+"/enterprise-requests", b.customer.Token,
			map[string]any{"nodes": 3, "region": "eu-central"}).want(t, http.StatusCreated).decode(t, &req)
		quote := func(price int) map[string]any {
			return map[string]any{"base_plan_id": basePlan, "monthly_price": price, "setup_fee": 0, "terms": "12 months", "expires_at": time.Now().Add(72 * time.Hour)}
		}
		path := "/api/v1/admin/enterprise-requests/" + req.ID + "/quote"
		done := b.approve(t, b.client.do("POST", path, b.admin.Token, quote(120000)), b.admin2)
		if done.State != approval.StateExecuted || done.ResultStatus != http.StatusOK || done.FactsView.Currency != "USD" {
			t.Fatalf("held quote: %s %d %s, facts %+v", done.State, done.ResultStatus, done.Result, done.FactsView)
		}
		b.client.do("POST", path, b.admin.Token, quote(40000)).want(t, http.StatusOK)
	})
}
