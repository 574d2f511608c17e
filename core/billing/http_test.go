package billing_test

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/ezscale/platform/core/database"
	"github.com/ezscale/platform/core/database/databasetest"
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
		a.must(t, 200, "GET", "/api/v1/plans", "", nil).decode(t, &list)
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
		first.decode(t, &res)
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
		a.must(t, 200, "GET", "/api/v1/accounts/"+a.account+"/invoices/"+res.Invoice.ID, a.customer, nil).decode(t, &inv)
		if len(inv.Lines) != 1 || inv.Lines[0].Amount != 999 {
			t.Errorf("lines %+v", inv.Lines)
		}
		var bal struct {
			Amount int64 `json:"amount"`
		}
		a.must(t, 200, "GET", "/api/v1/accounts/"+a.account+"/credit", a.customer, nil).decode(t, &bal)
		if bal.Amount != 0 {
			t.Errorf("balance %d", bal.Amount)
		}
	})
}
