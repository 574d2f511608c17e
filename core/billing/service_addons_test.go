package billing_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/ezscale/platform/core/apperr"
	"github.com/ezscale/platform/core/billing"
	"github.com/ezscale/platform/core/catalog"
	"github.com/ezscale/platform/core/database"
	"github.com/ezscale/platform/core/database/databasetest"
	"github.com/ezscale/platform/core/money"
	"github.com/ezscale/platform/core/services"
	"github.com/ezscale/platform/core/testkit"
)

// addon creates an active USD add-on.
func (tb *testBundle) addon(t testing.TB, slug string, monthly int64, maxQty int, plans []string, opts map[string]string) *catalog.Addon {
	t.Helper()
	a, err := tb.cat.CreateAddon(tb.ctx, catalog.AddonInput{Slug: slug, Name: slug, Currency: "USD", MonthlyPrice: monthly,
		MaxQuantity: maxQty, PlanIDs: plans, PluginOptions: opts})
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// fieldErr returns an error's code and its first field.
func fieldErr(err error) (apperr.Code, string) {
	e, ok := apperr.As(err)
	if !ok {
		return "", ""
	}
	if len(e.Fields) == 0 {
		return e.Code, ""
	}
	return e.Code, e.Fields[0].Field
}

type addonRow struct {
	AddonID        string
	Quantity, Next int
	UnitPrice      int64
}

func addonRows(sas []billing.ServiceAddon) []addonRow {
	out := []addonRow{}
	for _, sa := range sas {
		out = append(out, addonRow{sa.AddonID, sa.Quantity, sa.NextQuantity(), sa.UnitPrice})
	}
	return out
}

// TestAddAddonChargesActualDaysLeft: an add-on added mid-February of a
// leap year is invoiced for the days left over the 29 days of that cycle,
// paid from credit; the quantity counts what the service has against the
// add-on's maximum; an add-on not offered with the plan is refused naming
// addon_id; another account's service is not found; the next renewal
// bills the add-on.
func TestAddAddonChargesActualDaysLeft(t *testing.T) {
	t.Parallel()
	databasetest.Each(t, func(t *testing.T, db *database.DB) {
		tb := setup(t, db, setupOpts{noHost: true})
		acc, other := tb.account(t), tb.account(t)
		small, big := tb.plan(t, "small", 2900, nil), tb.plan(t, "big", 5800, nil)
		ip := tb.addon(t, "ipv4", 1000, 3, []string{small.ID}, nil)
		svc := tb.insertServices(t, acc, small, money.Monthly, date("2024-02-01"), 1)[0] // Feb 1 – Mar 1
		onBig := tb.insertServices(t, acc, big, money.Monthly, date("2024-02-01"), 1)[0]
		tb.credit(t, acc, 100_000)
		tb.clock.Set(date("2024-02-15").Add(20 * time.Hour))

		res, err := tb.b.AddAddon(tb.ctx, acc, svc.ID, billing.AddonAddInput{AddonID: ip.ID, Quantity: 2})
		if err != nil {
			t.Fatal(err)
		}
		// 15 of 29 days (Feb 15 to Mar 1) of 2 × 1000 = 1034.48 → 1034.
		type proration struct {
			Prorated              int64
			DaysLeft, DaysInCycle int
		}
		if diff := cmp.Diff(proration{1034, 15, 29}, proration{res.Prorated, res.DaysLeft, res.DaysInCycle}); diff != "" {
			t.Errorf("proration (-want +got):\n%s", diff)
		}
		inv, err := tb.b.Invoice(tb.ctx, acc, res.Invoice.ID)
		if err != nil {
			t.Fatal(err)
		}
		if inv.Reason != billing.ReasonUpgrade || inv.Total != 1034 || inv.Status != billing.InvoicePaid || len(inv.Lines) != 1 ||
			!strings.Contains(inv.Lines[0].Description, "Add-on ipv4 ×2, 15 of 29 days (2024-02-15 – 2024-03-01)") {
			t.Errorf("add-on invoice: %s %s %d %+v", inv.Reason, inv.Status, inv.Total, inv.Lines)
		}
		if diff := cmp.Diff([]addonRow{{ip.ID, 2, 2, 1000}}, addonRows(res.Addons)); diff != "" {
			t.Errorf("add-ons (-want +got):\n%s", diff)
		}

		// Two more would make 4 of at most 3.
		tb.clock.Add(time.Hour)
		_, err = tb.b.AddAddon(tb.ctx, acc, svc.ID, billing.AddonAddInput{AddonID: ip.ID, Quantity: 2})
		if code, field := fieldErr(err); code != apperr.Invalid || field != "quantity" {
			t.Errorf("over the maximum: %v, want invalid quantity", err)
		}
		res, err = tb.b.AddAddon(tb.ctx, acc, svc.ID, billing.AddonAddInput{AddonID: ip.Slug, Quantity: 1})
		if err != nil {
			t.Fatal(err)
		}
		if res.Prorated != 517 || res.Addons[0].Quantity != 3 { // 1000 × 15/29 = 517.24
			t.Errorf("third unit: prorated %d, add-ons %+v", res.Prorated, res.Addons)
		}

		_, err = tb.b.AddAddon(tb.ctx, acc, onBig.ID, billing.AddonAddInput{AddonID: ip.ID})
		if code, field := fieldErr(err); code != apperr.Unprocessable || field != "addon_id" {
			t.Errorf("add-on not offered with the plan: %v, want unprocessable addon_id", err)
		}
		if _, err := tb.b.AddAddon(tb.ctx, other, svc.ID, billing.AddonAddInput{AddonID: ip.ID}); apperr.CodeOf(err) != apperr.NotFound {
			t.Errorf("another account's service: %v, want not found", err)
		}
		if err := tb.cat.ArchiveAddon(tb.ctx, ip.ID); err != nil {
			t.Fatal(err)
		}
		_, err = tb.b.AddAddon(tb.ctx, acc, onBig.ID, billing.AddonAddInput{AddonID: ip.ID})
		if code, field := fieldErr(err); code != apperr.Unprocessable || field != "addon_id" {
			t.Errorf("archived add-on: %v, want unprocessable addon_id", err)
		}

		// The March renewal bills the plan and the three units.
		tb.step(t, billing.StepGenerate, date("2024-02-25"))
		renewal := tb.invoices(t, billing.InvoiceFilter{ServiceID: svc.ID})[0]
		renewal2, err := tb.b.Invoice(tb.ctx, acc, renewal.ID)
		if err != nil {
			t.Fatal(err)
		}
		type line struct {
			Kind   string
			Qty    int
			Amount int64
		}
		var lines []line
		for _, l := range renewal2.Lines {
			lines = append(lines, line{l.Kind, l.Quantity, l.Amount})
		}
		if diff := cmp.Diff([]line{{billing.LinePlan, 1, 2900}, {billing.LineAddon, 3, 3000}}, lines); diff != "" || renewal2.Reason != billing.ReasonRenewal {
			t.Errorf("renewal %s lines (-want +got):\n%s", renewal2.Reason, diff)
		}
		if n := countOf(tb.auditActions(t, svc.ID), "billing.service.addon_add"); n != 2 {
			t.Errorf("%d addon_add audit events, want 2", n)
		}
		if err := tb.b.Ledger().Verify(tb.ctx, acc); err != nil {
			t.Error(err)
		}
	})
}

func countOf(xs []string, x string) int {
	n := 0
	for _, v := range xs {
		if v == x {
			n++
		}
	}
	return n
}

// TestAddonRenewalRepricedAndRemoval: adding an add-on re-prices a renewal
// already issued; removing it at the end of the term (the default)
// re-prices it back and drops the add-on when it is paid; removing now
// credits the unused days.
func TestAddonRenewalRepricedAndRemoval(t *testing.T) {
	t.Parallel()
	databasetest.Each(t, func(t *testing.T, db *database.DB) {
		tb := setup(t, db, setupOpts{noHost: true})
		acc := tb.account(t)
		plan := tb.plan(t, "vps", 2900, nil)
		backup := tb.addon(t, "backup", 1000, 5, nil, nil)
		later := tb.insertServices(t, acc, plan, money.Monthly, date("2024-02-01"), 1)[0] // Feb 1 – Mar 1
		tb.step(t, billing.StepGenerate, date("2024-02-25"))
		now := tb.insertServices(t, acc, plan, money.Monthly, date("2024-02-01"), 1)[0] // no renewal yet
		tb.clock.Set(date("2024-02-26"))
		renewal := tb.invoices(t, billing.InvoiceFilter{ServiceID: later.ID})[0]

		res, err := tb.b.AddAddon(tb.ctx, acc, later.ID, billing.AddonAddInput{AddonID: backup.ID, Quantity: 2})
		if err != nil {
			t.Fatal(err)
		}
		if res.Prorated != 276 || res.DaysLeft != 4 { // Feb 26 – Mar 1: 2000 × 4/29 = 275.86
			t.Errorf("prorated %d for %d days", res.Prorated, res.DaysLeft)
		}
		got, _ := tb.b.Invoice(tb.ctx, acc, renewal.ID)
		if got.Total != 4900 || *got.Number != *renewal.Number {
			t.Errorf("re-priced renewal: %d (number %d, was %d)", got.Total, *got.Number, *renewal.Number)
		}

		tb.clock.Add(time.Hour)
		res, err = tb.b.RemoveAddon(tb.ctx, acc, later.ID, backup.ID, billing.AddonRemoveInput{Quantity: 1})
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff([]addonRow{{backup.ID, 2, 1, 1000}}, addonRows(res.Addons)); diff != "" || res.Credit != nil {
			t.Errorf("removal at the end of the term (-want +got):\n%s credit %+v", diff, res.Credit)
		}
		if got, _ := tb.b.Invoice(tb.ctx, acc, renewal.ID); got.Total != 3900 {
			t.Errorf("renewal after the removal: %d, want 3900", got.Total)
		}
		_, err = tb.b.RemoveAddon(tb.ctx, acc, later.ID, backup.ID, billing.AddonRemoveInput{Quantity: 2})
		if code, field := fieldErr(err); code != apperr.Invalid || field != "quantity" {
			t.Errorf("removing more than the next term has: %v", err)
		}
		// Paying the renewal renews the service with one unit.
		tb.credit(t, acc, 3900+276)
		svc, _ := tb.b.Service(tb.ctx, acc, later.ID)
		sas, _ := tb.b.ServiceAddons(tb.ctx, later.ID)
		if !svc.Terms.PeriodEnd.Equal(date("2024-04-01")) || !cmp.Equal([]addonRow{{backup.ID, 1, 1, 1000}}, addonRows(sas)) {
			t.Errorf("after the renewal: ends %s, add-ons %+v", svc.Terms.PeriodEnd, addonRows(sas))
		}

		// Now: the unit leaves at once and its unused days are credited.
		if _, err := tb.b.AddAddon(tb.ctx, acc, now.ID, billing.AddonAddInput{AddonID: backup.ID}); err != nil {
			t.Fatal(err)
		}
		tb.clock.Add(time.Hour)
		res, err = tb.b.RemoveAddon(tb.ctx, acc, now.ID, backup.ID, billing.AddonRemoveInput{When: "now"})
		if err != nil {
			t.Fatal(err)
		}
		if res.Credit == nil || res.Credit.Amount != 138 || len(res.Addons) != 0 { // 1000 × 4/29 = 137.9
			t.Errorf("immediate removal: credit %+v, add-ons %+v", res.Credit, res.Addons)
		}
		if _, err := tb.b.RemoveAddon(tb.ctx, acc, now.ID, backup.ID, billing.AddonRemoveInput{}); apperr.CodeOf(err) != apperr.NotFound {
			t.Errorf("removing an add-on the service lacks: %v", err)
		}
		if acts := tb.auditActions(t, later.ID); !slices.Contains(acts, "billing.service.addon_remove") || !slices.Contains(acts, "billing.service.addon_removed") {
			t.Errorf("audit %v", acts)
		}
		if err := tb.b.Ledger().Verify(tb.ctx, acc); err != nil {
			t.Error(err)
		}
	})
}

// TestAddonOptionsReachTheBackend: an add-on with provisioner options
// added to a running service changes it at the backend through the sync
// job's ChangePlan, with the whole new option set; one without options
// makes no backend call.
func TestAddonOptionsReachTheBackend(t *testing.T) {
	t.Parallel()
	databasetest.Each(t, func(t *testing.T, db *database.DB) {
		tb := setup(t, db, setupOpts{})
		acc := tb.account(t)
		plan := tb.plan(t, "vps", 999, map[string]string{"size": "1"})
		ips := tb.addon(t, "ips", 300, 4, nil, map[string]string{"extra_ipv4": "1"})
		plain := tb.addon(t, "support", 500, 1, nil, nil)
		tb.credit(t, acc, 10_000)
		ord, err := tb.b.Order(tb.ctx, acc, billing.OrderInput{PlanID: plan.ID})
		if err != nil {
			t.Fatal(err)
		}
		tb.waitService(t, ord.Service.ID, services.StatusActive)

		if _, err := tb.b.AddAddon(tb.ctx, acc, ord.Service.ID, billing.AddonAddInput{AddonID: plain.ID}); err != nil {
			t.Fatal(err)
		}
		tb.clock.Add(time.Minute)
		if _, err := tb.b.AddAddon(tb.ctx, acc, ord.Service.ID, billing.AddonAddInput{AddonID: ips.ID, Quantity: 2}); err != nil {
			t.Fatal(err)
		}
		testkit.WaitFor(t, "the backend to run the add-on's options", func() bool {
			s, err := tb.b.Service(tb.ctx, acc, ord.Service.ID)
			return err == nil && s.BackendOptionsVersion == 1 && tb.backend(t, ord.Service.ID).Options["extra_ipv4"] == "1"
		})
		rec := tb.backend(t, ord.Service.ID)
		if diff := cmp.Diff([]string{"create", "change_plan:1"}, rec.Calls); diff != "" {
			t.Errorf("backend calls (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff(map[string]string{"size": "1", "extra_ipv4": "1"}, rec.Options); diff != "" {
			t.Errorf("backend options (-want +got):\n%s", diff)
		}
	})
}

// TestServiceAddonsOverHTTP: adding an add-on is 201 with the service and
// its invoice, made once per Idempotency-Key and replayed; an add-on not
// offered with the plan is 422 naming addon_id; too many units is 400
// naming quantity; another account's service is 404; removal is scheduled
// for the end of the term. Every response is checked against the OpenAPI
// document by the test client.
func TestServiceAddonsOverHTTP(t *testing.T) {
	t.Parallel()
	databasetest.Each(t, func(t *testing.T, db *database.DB) {
		tb := setup(t, db, setupOpts{noHost: true})
		a := tb.api(t)
		small, big := tb.plan(t, "small", 2900, nil), tb.plan(t, "big", 5800, nil)
		ip := tb.addon(t, "ipv4", 1000, 2, []string{small.ID}, nil)
		svc := tb.insertServices(t, a.account, small, money.Monthly, date("2024-02-01"), 1)[0]
		onBig := tb.insertServices(t, a.account, big, money.Monthly, date("2024-02-01"), 1)[0]
		tb.clock.Set(date("2024-02-15").Add(20 * time.Hour))
		base := "/api/v1/accounts/" + a.account + "/services/"
		path := base + svc.ID + "/addons"

		body := map[string]any{"addon_id": ip.ID, "quantity": 1}
		first := a.must(t, 201, "POST", path, a.customer, body, "Idempotency-Key", "addon-1")
		again := a.must(t, 201, "POST", path, a.customer, body, "Idempotency-Key", "addon-1")
		if again.Header.Get("Idempotent-Replayed") != "true" || string(again.Body) != string(first.Body) {
			t.Errorf("replay: %v %s", again.Header, again.Body)
		}
		a.must(t, 422, "POST", path, a.customer, map[string]any{"addon_id": ip.ID, "quantity": 2}, "Idempotency-Key", "addon-1")
		var res struct {
			Service struct {
				ID string `json:"id"`
			} `json:"service"`
			Invoice struct {
				Reason string `json:"reason"`
				Total  int64  `json:"total"`
				Status string `json:"status"`
			} `json:"invoice"`
			Addons []struct {
				AddonID  string `json:"addon_id"`
				Quantity int    `json:"quantity"`
			} `json:"addons"`
			Prorated int64 `json:"prorated"`
			DaysLeft int   `json:"days_left"`
		}
		first.Decode(t, &res)
		if res.Service.ID != svc.ID || res.Invoice.Reason != "upgrade" || res.Invoice.Total != 517 || res.Prorated != 517 || res.DaysLeft != 15 ||
			len(res.Addons) != 1 || res.Addons[0].Quantity != 1 {
			t.Errorf("response %+v", res)
		}
		if sas, _ := tb.b.ServiceAddons(tb.ctx, svc.ID); len(sas) != 1 || sas[0].Quantity != 1 {
			t.Errorf("a replayed request added again: %+v", sas)
		}

		p := a.do(t, "POST", base+onBig.ID+"/addons", a.customer, map[string]any{"addon_id": ip.ID}, "Idempotency-Key", "addon-2")
		if prob := p.Problem(t); p.Status != 422 || len(prob.Errors) != 1 || prob.Errors[0].Field != "addon_id" {
			t.Errorf("add-on not offered with the plan: %d %s", p.Status, p.Body)
		}
		tb.clock.Add(time.Hour)
		p = a.do(t, "POST", path, a.customer, map[string]any{"addon_id": ip.ID, "quantity": 2}, "Idempotency-Key", "addon-3")
		if prob := p.Problem(t); p.Status != 400 || len(prob.Errors) != 1 || prob.Errors[0].Field != "quantity" {
			t.Errorf("over the maximum: %d %s", p.Status, p.Body)
		}
		a.must(t, 400, "POST", path, a.customer, map[string]any{"addon_id": ip.ID, "price": 0}, "Idempotency-Key", "addon-4")

		other, otherToken := a.signup(t, tb)
		a.must(t, 404, "POST", path, otherToken, body, "Idempotency-Key", "addon-5")
		a.must(t, 404, "POST", "/api/v1/accounts/"+other+"/services/"+svc.ID+"/addons", otherToken, body, "Idempotency-Key", "addon-6")
		a.must(t, 404, "GET", "/api/v1/accounts/"+other+"/services/"+svc.ID+"/addons", otherToken, nil)

		var list struct {
			Data []struct {
				AddonID      string `json:"addon_id"`
				Quantity     int    `json:"quantity"`
				NextQuantity int    `json:"next_quantity"`
			} `json:"data"`
		}
		a.must(t, 200, "POST", path+"/"+ip.ID+"/remove", a.customer, map[string]any{}, "Idempotency-Key", "addon-7")
		a.must(t, 200, "GET", path, a.customer, nil).Decode(t, &list)
		if len(list.Data) != 1 || list.Data[0].Quantity != 1 || list.Data[0].NextQuantity != 0 {
			t.Errorf("after the removal: %+v", list)
		}
		a.must(t, 404, "POST", base+onBig.ID+"/addons/"+ip.ID+"/remove", a.customer, map[string]any{}, "Idempotency-Key", "addon-8")
	})
}
