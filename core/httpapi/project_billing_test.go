package httpapi_test

import (
	"context"
	"encoding/csv"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/ezscale/platform/core/billing/billingtest"
	"github.com/ezscale/platform/core/catalog/catalogtest"
	"github.com/ezscale/platform/core/database"
	"github.com/ezscale/platform/core/database/databasetest"
)

// billedService inserts an active USD service of the account (the
// platform's default currency) on a plan of its own, renewing on renews.
func billedService(t *testing.T, db *database.DB, accountID, label, cycle string, price int64, renews time.Time) string {
	t.Helper()
	ctx, now := context.Background(), time.Now().UTC()
	plan, err := catalogtest.PlanOf(ctx, db, catalogtest.PlanSpec{Name: "Game", ServiceType: "game", Currency: "USD", Plugin: "test", MonthlyPrice: 1000})
	if err != nil {
		t.Fatal(err)
	}
	id, err := billingtest.Service(ctx, db, billingtest.ServiceSpec{
		AccountID: accountID, PlanID: plan, Label: label, Cycle: cycle, Currency: "USD", Price: price,
		PeriodStart: &now, PeriodEnd: &renews, AnchorDay: renews.Day(), CreatedAt: now,
	})
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// billedInvoice inserts an invoice of the account issued at issued, with
// one line of amount per service (and its project, "" for none).
func billedInvoice(t *testing.T, db *database.DB, accountID, status string, issued time.Time, lines ...[3]any) {
	t.Helper()
	spec := billingtest.InvoiceSpec{AccountID: accountID, Status: status, Currency: "USD", DueAt: issued, IssuedAt: &issued, CreatedAt: issued}
	for _, l := range lines {
		spec.Lines = append(spec.Lines, billingtest.InvoiceLine{Description: "Game", ServiceID: l[0].(string), ProjectID: l[1].(string), Amount: l[2].(int64), Tax: 100})
	}
	if _, err := billingtest.Invoice(context.Background(), db, spec); err != nil {
		t.Fatal(err)
	}
}

// TestProjectBillingSummary: a project's billing summary has this month's
// spend by service (the project's lines of this month's invoices, tax
// included; another project's or no project's lines, last month's and void
// invoices left out), the next renewals by service and by cycle, and the
// totals; the CSV export has the same rows with decimal amounts and quotes
// a name with a comma, a quote and a leading =; another account's project
// (or "none") is 404.
func TestProjectBillingSummary(t *testing.T) {
	t.Parallel()
	databasetest.EachURL(t, func(t *testing.T, d database.Dialect, url string) {
		tb := startApp(t, d, url)
		owner, other := tb.newUser(t, "owner"), tb.newUser(t, "other")
		now := time.Now().UTC()
		db := tb.app.DB
		web := billedService(t, db, owner.AccountID, `=web, "blue"`, "monthly", 1250, now.AddDate(0, 0, 10))
		store := billedService(t, db, owner.AccountID, "store", "annual", 11000, now.AddDate(0, 0, 100))
		loose := billedService(t, db, owner.AccountID, "loose", "monthly", 500, now.AddDate(0, 0, 5))
		base := "/api/v1/accounts/" + owner.AccountID
		c := tb.client
		var p, theirs struct{ ID string }
		c.do("POST", base+"/projects", owner.Token, map[string]any{"name": "Shop"}).want(t, http.StatusCreated).decode(t, &p)
		c.do("POST", "/api/v1/accounts/"+other.AccountID+"/projects", other.Token, map[string]any{"name": "Theirs"}).want(t, http.StatusCreated).decode(t, &theirs)
		c.do("POST", base+"/projects/"+p.ID+"/services", owner.Token, map[string]any{"service_ids": []string{web, store}}).want(t, http.StatusOK)

		billedInvoice(t, db, owner.AccountID, "paid", now, [3]any{web, p.ID, int64(1250)}, [3]any{loose, "", int64(500)})
		billedInvoice(t, db, owner.AccountID, "open", now, [3]any{web, p.ID, int64(300)})
		billedInvoice(t, db, owner.AccountID, "void", now, [3]any{store, p.ID, int64(9999)})
		billedInvoice(t, db, owner.AccountID, "paid", now.AddDate(0, 0, -40), [3]any{store, p.ID, int64(11000)})

		type amount struct {
			ServiceID string `json:"service_id"`
			Name      string `json:"name"`
			Cycle     string `json:"cycle"`
			Amount    int64  `json:"amount"`
		}
		var got struct {
			ProjectID       string   `json:"project_id"`
			Currency        string   `json:"currency"`
			Month           string   `json:"month"`
			Spend           []amount `json:"spend"`
			SpendTotal      int64    `json:"spend_total"`
			Renewals        []amount `json:"renewals"`
			RenewalsByCycle []amount `json:"renewals_by_cycle"`
			RenewalsTotal   int64    `json:"renewals_total"`
		}
		c.do("GET", base+"/projects/"+p.ID+"/billing", owner.Token, nil).want(t, http.StatusOK).decode(t, &got)
		want := got
		want.ProjectID, want.Currency, want.Month = p.ID, "USD", now.Format("2006-01")
		want.Spend = []amount{{ServiceID: web, Name: `=web, "blue"`, Amount: 1250 + 100 + 300 + 100}}
		want.SpendTotal = 1750
		want.Renewals = []amount{{ServiceID: web, Name: `=web, "blue"`, Cycle: "monthly", Amount: 1250}, {ServiceID: store, Name: "store", Cycle: "annual", Amount: 11000}}
		want.RenewalsByCycle = []amount{{Cycle: "monthly", Amount: 1250}, {Cycle: "annual", Amount: 11000}}
		want.RenewalsTotal = 12250
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("summary (-want +got):\n%s", diff)
		}

		res := c.do("GET", base+"/projects/"+p.ID+"/billing.csv", owner.Token, nil).want(t, http.StatusOK)
		if ct := res.Header.Get("Content-Type"); ct != "text/csv; charset=utf-8" {
			t.Errorf("Content-Type %q", ct)
		}
		if cd := res.Header.Get("Content-Disposition"); !strings.HasPrefix(cd, "attachment; filename=") {
			t.Errorf("Content-Disposition %q", cd)
		}
		if !strings.Contains(string(res.Body), `"'=web, ""blue"""`) {
			t.Errorf("the name is not quoted and defused:\n%s", res.Body)
		}
		rows, err := csv.NewReader(strings.NewReader(string(res.Body))).ReadAll()
		if err != nil {
			t.Fatal(err)
		}
		month, webRenews, storeRenews := now.Format("2006-01"), now.AddDate(0, 0, 10).Format("2006-01-02"), now.AddDate(0, 0, 100).Format("2006-01-02")
		wantRows := [][]string{
			{"section", "month", "service_id", "service", "cycle", "renews_on", "amount", "currency"},
			{"spend", month, web, `'=web, "blue"`, "", "", "17.50", "USD"},
			{"spend_total", month, "", "", "", "", "17.50", "USD"},
			{"renewal", "", web, `'=web, "blue"`, "monthly", webRenews, "12.50", "USD"},
			{"renewal", "", store, "store", "annual", storeRenews, "110.00", "USD"},
			{"renewal_cycle", "", "", "", "monthly", "", "12.50", "USD"},
			{"renewal_cycle", "", "", "", "annual", "", "110.00", "USD"},
			{"renewals_total", "", "", "", "", "", "122.50", "USD"},
		}
		if diff := cmp.Diff(wantRows, rows); diff != "" {
			t.Errorf("CSV (-want +got):\n%s", diff)
		}

		for _, path := range []string{"/billing", "/billing.csv"} {
			c.do("GET", base+"/projects/"+theirs.ID+path, owner.Token, nil).wantProblem(t, http.StatusNotFound, "not_found")
			c.do("GET", base+"/projects/none"+path, owner.Token, nil).wantProblem(t, http.StatusNotFound, "not_found")
		}
	})
}
