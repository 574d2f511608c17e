package billing_test

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/ezscale/platform/core/billing"
	"github.com/ezscale/platform/core/database"
	"github.com/ezscale/platform/core/database/databasetest"
	"github.com/ezscale/platform/core/services"
	"github.com/ezscale/platform/core/testkit"
)

// TestCatalogOverHTTP: staff create a plan with one override; the public
// listing shows each cycle's price and saving without a token.
func TestCatalogOverHTTP(t *testing.T) {
	t.Parallel()
	databasetest.Each(t, func(t *testing.T, db *database.DB) {
		tb := setup(t, db, setupOpts{noHost: true, noJobs: true})
		a := tb.api(t)
		a.must(t, 403, "POST", "/api/v1/admin/plans", a.customer, map[string]any{})
		a.must(t, 201, "POST", "/api/v1/admin/plans", a.staff, map[string]any{
			"slug": "vps-1", "name": "VPS 1", "service_type": "vps", "currency": "USD", "monthly_price": 999,
			"biennial_price": 18000, "plugin": "testprov", "plugin_options": map[string]string{"size": "1"}, "specs": map[string]any{"ram_gb": 2},
		})
		a.must(t, 400, "POST", "/api/v1/admin/plans", a.staff, map[string]any{"slug": "x", "name": "X", "service_type": "vps", "currency": "USD", "monthly_price": 1, "plugin": "p", "balance": 5})
		var list struct {
			Data []struct {
				Slug   string `json:"slug"`
				Prices []struct {
					Cycle      string `json:"cycle"`
					Price      int64  `json:"price"`
					Saving     int64  `json:"saving"`
					SavingBP   int64  `json:"saving_bp"`
					Overridden bool   `json:"overridden"`
				} `json:"prices"`
				Plugin *string `json:"plugin"`
			} `json:"data"`
		}
		a.must(t, 200, "GET", "/api/v1/plans", "", nil).Decode(t, &list)
		if len(list.Data) != 1 || list.Data[0].Plugin != nil {
			t.Fatalf("public listing: %+v", list)
		}
		type price struct {
			Cycle                   string
			Price, Saving, SavingBP int64
			Overridden              bool
		}
		var got []price
		for _, p := range list.Data[0].Prices {
			got = append(got, price{p.Cycle, p.Price, p.Saving, p.SavingBP, p.Overridden})
		}
		want := []price{
			{"monthly", 999, 0, 0, false},
			{"quarterly", 2847, 150, 501, false},
			{"annual", 10190, 1798, 1500, false},
			{"biennial", 18000, 5976, 2492, true},
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("prices (-want +got):\n%s", diff)
		}
		a.must(t, 200, "GET", "/api/v1/plans/vps-1", "", nil)
	})
}

// TestOrderOverHTTP: an order with an Idempotency-Key is made once and its
// response replayed; another account's invoice is a 404.
func TestOrderOverHTTP(t *testing.T) {
	t.Parallel()
	databasetest.Each(t, func(t *testing.T, db *database.DB) {
		tb := setup(t, db, setupOpts{})
		a := tb.api(t)
		plan := tb.plan(t, "vps", 999, nil)
		tb.credit(t, a.account, 999)
		path := "/api/v1/accounts/" + a.account + "/orders"
		body := map[string]any{"plan_id": plan.Slug, "label": "web"}
		first := a.must(t, 201, "POST", path, a.customer, body, "Idempotency-Key", "order-1")
		again := a.must(t, 201, "POST", path, a.customer, body, "Idempotency-Key", "order-1")
		if again.Header.Get("Idempotent-Replayed") != "true" || string(again.Body) != string(first.Body) {
			t.Errorf("replay: %v %s", again.Header, again.Body)
		}
		a.must(t, 422, "POST", path, a.customer, map[string]any{"plan_id": plan.Slug, "label": "other"}, "Idempotency-Key", "order-1")
		var res struct {
			Service struct {
				ID     string `json:"id"`
				Status string `json:"status"`
			} `json:"service"`
			Invoice struct {
				ID     string `json:"id"`
				Status string `json:"status"`
				Number int64  `json:"number"`
			} `json:"invoice"`
		}
		first.Decode(t, &res)
		if res.Invoice.Status != "paid" {
			t.Errorf("order invoice %s", res.Invoice.Status)
		}
		svcs, _ := tb.b.Services(tb.ctx, billingFilter(a.account))
		if len(svcs) != 1 {
			t.Errorf("%d services after a replayed order", len(svcs))
		}
		tb.waitService(t, res.Service.ID, "active")
		a.must(t, 200, "GET", "/api/v1/accounts/"+a.account+"/services/"+res.Service.ID, a.customer, nil)

		other, otherToken := a.signup(t, tb)
		a.must(t, 404, "GET", "/api/v1/accounts/"+a.account+"/invoices/"+res.Invoice.ID, otherToken, nil)
		a.must(t, 404, "GET", "/api/v1/accounts/"+other+"/invoices/"+res.Invoice.ID, otherToken, nil)
		a.must(t, 404, "GET", "/api/v1/accounts/"+a.account+"/credit", otherToken, nil)
		var inv struct {
			Lines []struct {
				Kind   string `json:"kind"`
				Amount int64  `json:"amount"`
			} `json:"lines"`
		}
		a.must(t, 200, "GET", "/api/v1/admin/invoices", a.staff, nil)
		a.must(t, 200, "GET", "/api/v1/accounts/"+a.account+"/invoices/"+res.Invoice.ID, a.customer, nil).Decode(t, &inv)
		if len(inv.Lines) != 1 || inv.Lines[0].Amount != 999 {
			t.Errorf("lines %+v", inv.Lines)
		}
		var bal struct {
			Amount int64 `json:"amount"`
		}
		a.must(t, 200, "GET", "/api/v1/accounts/"+a.account+"/credit", a.customer, nil).Decode(t, &bal)
		if bal.Amount != 0 {
			t.Errorf("balance %d", bal.Amount)
		}
	})
}

// TestAdminOverHTTP walks the staff routes: tax rates, coupons, a manual
// invoice paid by an adjustment, the ledger listing, suspension, and a
// billing run; a customer cannot set staff-only fields.
func TestAdminOverHTTP(t *testing.T) {
	t.Parallel()
	databasetest.Each(t, func(t *testing.T, db *database.DB) {
		tb := setup(t, db, setupOpts{})
		a := tb.api(t)
		acct := "/api/v1/accounts/" + a.account
		admin := "/api/v1/admin/accounts/" + a.account
		a.must(t, 200, "PUT", "/api/v1/admin/tax-rates/de", a.staff, map[string]any{"name": "VAT", "rate_ppm": 190000})
		a.must(t, 400, "PATCH", acct+"/billing-profile", a.customer, map[string]any{"tax_exempt": true})
		a.must(t, 200, "PATCH", acct+"/billing-profile", a.customer, map[string]any{"country": "de"})
		a.must(t, 201, "POST", "/api/v1/admin/coupons", a.staff, map[string]any{"code": "WELCOME", "kind": "percent", "percent_bp": 1000, "max_uses": 10})
		var coupons struct {
			Data []struct {
				ID   string `json:"id"`
				Uses int    `json:"uses"`
			} `json:"data"`
		}
		a.must(t, 200, "GET", "/api/v1/admin/coupons", a.staff, nil).Decode(t, &coupons)
		a.must(t, 200, "PATCH", "/api/v1/admin/coupons/"+coupons.Data[0].ID, a.staff, map[string]any{"max_uses": 20})

		var inv struct {
			ID        string `json:"id"`
			Total     int64  `json:"total"`
			Tax       int64  `json:"tax"`
			Status    string `json:"status"`
			AmountDue int64  `json:"amount_due"`
		}
		a.must(t, 201, "POST", admin+"/invoices", a.staff, map[string]any{"lines": []map[string]any{{"description": "Setup", "quantity": 2, "unit_amount": 500}}},
			"Idempotency-Key", "inv-1").Decode(t, &inv)
		if inv.Total != 1190 || inv.Tax != 190 || inv.Status != "open" {
			t.Fatalf("manual invoice %+v", inv)
		}
		a.must(t, 201, "POST", admin+"/credit/adjustments", a.staff, map[string]any{"amount": 2000, "description": "bank transfer"}, "Idempotency-Key", "adj-1")
		a.must(t, 201, "POST", admin+"/credit/adjustments", a.staff, map[string]any{"amount": 2000, "description": "bank transfer"}, "Idempotency-Key", "adj-1")
		a.must(t, 200, "GET", acct+"/invoices/"+inv.ID, a.customer, nil).Decode(t, &inv)
		if inv.Status != "paid" {
			t.Errorf("the adjustment did not pay the open invoice: %s", inv.Status)
		}
		var entries struct {
			Data []struct {
				Kind         string `json:"kind"`
				Amount       int64  `json:"amount"`
				BalanceAfter int64  `json:"balance_after"`
			} `json:"data"`
			NextCursor string `json:"next_cursor"`
		}
		a.must(t, 200, "GET", acct+"/credit/entries?limit=1", a.customer, nil).Decode(t, &entries)
		if len(entries.Data) != 1 || entries.NextCursor == "" || entries.Data[0].Kind != "invoice_payment" || entries.Data[0].BalanceAfter != 810 {
			t.Fatalf("newest entry %+v cursor %q", entries.Data, entries.NextCursor)
		}
		a.must(t, 200, "GET", acct+"/credit/entries?limit=5&cursor="+entries.NextCursor, a.customer, nil).Decode(t, &entries)
		if len(entries.Data) != 1 || entries.Data[0].Kind != "adjustment" || entries.Data[0].Amount != 2000 {
			t.Errorf("second page %+v (one adjustment: the replayed key posted nothing)", entries.Data)
		}

		plan := tb.plan(t, "vps", 500, nil)
		var order struct {
			Service struct {
				ID string `json:"id"`
			} `json:"service"`
		}
		a.must(t, 201, "POST", acct+"/orders", a.customer, map[string]any{"plan_id": plan.ID}).Decode(t, &order)
		tb.waitService(t, order.Service.ID, services.StatusActive)
		var svc struct {
			Status      string   `json:"status"`
			Suspensions []string `json:"suspensions"`
		}
		a.must(t, 200, "POST", "/api/v1/admin/services/"+order.Service.ID+"/suspend", a.staff, map[string]any{"note": "abuse report"}).Decode(t, &svc)
		if svc.Status != "suspended" || len(svc.Suspensions) != 1 || svc.Suspensions[0] != "admin" {
			t.Errorf("after suspend: %+v", svc)
		}
		a.must(t, 200, "POST", "/api/v1/admin/services/"+order.Service.ID+"/unsuspend", a.staff, map[string]any{"reason": "admin"}).Decode(t, &svc)
		if svc.Status != "active" {
			t.Errorf("after unsuspend: %+v", svc)
		}
		var run struct {
			ID string `json:"id"`
		}
		a.must(t, 202, "POST", "/api/v1/admin/billing/runs", a.staff, map[string]any{"steps": []string{"generate"}}, "Idempotency-Key", "run-1").Decode(t, &run)
		a.must(t, 400, "POST", "/api/v1/admin/billing/runs", a.staff, map[string]any{"steps": []string{"everything"}})
		testkit.WaitFor(t, "the run's step", func() bool {
			var got struct {
				Steps []struct {
					Status string `json:"status"`
				} `json:"steps"`
			}
			a.must(t, 200, "GET", "/api/v1/admin/billing/runs/"+run.ID, a.staff, nil).Decode(t, &got)
			return len(got.Steps) == 1 && got.Steps[0].Status == "succeeded"
		})
		a.must(t, 403, "GET", "/api/v1/admin/billing/runs", a.customer, nil)
	})
}

// TestOrderOptionsRefusedOverHTTP: an order choosing options the plan does
// not offer is a 422 problem naming each options.<key>, valid against the
// OpenAPI document, and orders nothing; the plan shows what it offers.
func TestOrderOptionsRefusedOverHTTP(t *testing.T) {
	t.Parallel()
	databasetest.Each(t, func(t *testing.T, db *database.DB) {
		tb := setup(t, db, setupOpts{noHost: true, noJobs: true})
		a := tb.api(t)
		a.must(t, 201, "POST", "/api/v1/admin/plans", a.staff, map[string]any{
			"slug": "vps-1", "name": "VPS 1", "service_type": "vps", "currency": "USD", "monthly_price": 999, "plugin": "testprov",
			"plugin_options": map[string]string{"size": "1"}, "order_options": map[string][]string{"hostname": {}},
		})
		var problem struct {
			Code   string `json:"code"`
			Errors []struct {
				Field string `json:"field"`
			} `json:"errors"`
		}
		a.must(t, 422, "POST", "/api/v1/admin/plans", a.staff, map[string]any{
			"slug": "vps-2", "name": "VPS 2", "service_type": "vps", "currency": "USD", "monthly_price": 999, "plugin": "testprov",
			"plugin_options": map[string]string{"extra_ipv4": "16"},
		}).Decode(t, &problem)
		if problem.Code != "option_refused" || len(problem.Errors) != 1 || problem.Errors[0].Field != "plugin_options.extra_ipv4" {
			t.Errorf("plan with an out-of-range option: %+v", problem)
		}
		var plan struct {
			OrderOptions map[string][]string `json:"order_options"`
		}
		a.must(t, 200, "GET", "/api/v1/plans/vps-1", "", nil).Decode(t, &plan)
		if diff := cmp.Diff(map[string][]string{"hostname": {}}, plan.OrderOptions); diff != "" {
			t.Errorf("public plan's order_options (-want +got):\n%s", diff)
		}

		tb.credit(t, a.account, 5000)
		a.must(t, 422, "POST", "/api/v1/accounts/"+a.account+"/orders", a.customer, map[string]any{
			"plan_id": "vps-1", "options": map[string]string{"hostname": "web1", "size": "64", "docker_image": "attacker/miner"},
		}).Decode(t, &problem)
		var fields []string
		for _, e := range problem.Errors {
			fields = append(fields, e.Field)
		}
		if diff := cmp.Diff([]string{"options.docker_image", "options.size"}, fields); diff != "" || problem.Code != "option_refused" {
			t.Errorf("order with forbidden options: code %q, fields (-want +got):\n%s", problem.Code, diff)
		}
		if invs := tb.invoices(t, billing.InvoiceFilter{AccountID: a.account}); len(invs) != 0 {
			t.Errorf("invoices after the refused order: %d", len(invs))
		}
		a.must(t, 201, "POST", "/api/v1/accounts/"+a.account+"/orders", a.customer, map[string]any{
			"plan_id": "vps-1", "options": map[string]string{"hostname": "web1"},
		})
	})
}
