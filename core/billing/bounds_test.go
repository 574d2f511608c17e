package billing_test

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/ezscale/platform/core/apperr"
	"github.com/ezscale/platform/core/billing"
	"github.com/ezscale/platform/core/catalog"
	"github.com/ezscale/platform/core/database"
	"github.com/ezscale/platform/core/database/databasetest"
	"github.com/ezscale/platform/core/money"
)

// TestInvoiceTotalsAreBounded: no invoice can exceed money.MaxAmount.
// Catalog prices whose derived cycle price would are refused when saved
// (naming monthly_price); an order whose term (quantities × prices, the
// add-ons, the tax) would, an add-on whose units would, a plan change
// whose new terms would, and a manual invoice whose lines would, are
// refused with 422 amount_too_large naming the field that made it too
// large and saying the bound, and nothing is stored.
func TestInvoiceTotalsAreBounded(t *testing.T) {
	t.Parallel()
	databasetest.Each(t, func(t *testing.T, db *database.DB) {
		tb := setup(t, db, setupOpts{noHost: true, noJobs: true})
		const maxAmount = money.MaxAmount
		tooLarge := func(field string) refusal {
			return refusal{Code: apperr.Unprocessable, Reason: "amount_too_large", Fields: []string{field}}
		}
		check := func(what string, err error, want refusal) {
			t.Helper()
			if diff := cmp.Diff(want, refusalOf(err)); diff != "" {
				t.Errorf("%s: (-want +got)\n%s", what, diff)
			}
			if e, ok := apperr.As(err); ok && e.Code == apperr.Unprocessable && !strings.Contains(e.Message, "100000000000.00 USD") {
				t.Errorf("%s: the message does not state the bound: %s", what, e.Message)
			}
		}

		// The catalog: a monthly price at the bound has a biennial price
		// 19.2 times over it.
		_, err := tb.cat.CreatePlan(tb.ctx, catalog.PlanInput{Slug: "huge", Name: "Huge", ServiceType: "vps", Currency: "USD", MonthlyPrice: maxAmount, Plugin: "testprov"})
		if code, field := fieldErr(err); code != apperr.Invalid || field != "monthly_price" {
			t.Errorf("a plan whose biennial price is over the bound: %v", err)
		}
		_, err = tb.cat.CreateAddon(tb.ctx, catalog.AddonInput{Slug: "huge", Name: "Huge", Currency: "USD", MonthlyPrice: maxAmount, MaxQuantity: 1})
		if code, field := fieldErr(err); code != apperr.Invalid || field != "monthly_price" {
			t.Errorf("an add-on whose biennial price is over the bound: %v", err)
		}
		monthlyOnly := func(slug string, monthly int64) *catalog.Plan {
			p, err := tb.cat.CreatePlan(tb.ctx, catalog.PlanInput{Slug: slug, Name: slug, ServiceType: "vps", Currency: "USD", MonthlyPrice: monthly,
				Cycles: []money.Cycle{money.Monthly}, Plugin: "testprov"})
			if err != nil {
				t.Fatal(err)
			}
			return p
		}
		half, most := monthlyOnly("half", maxAmount/2), monthlyOnly("most", maxAmount*9/10)
		ip := tb.addon(t, "ip", maxAmount/20, 1000, nil, nil)

		acc := tb.account(t)
		_, err = tb.b.Order(tb.ctx, acc, billing.OrderInput{PlanID: half.ID, Addons: []billing.AddonChoice{{AddonID: ip.ID, Quantity: 20}}})
		check("an order with too many add-on units", err, tooLarge("addons"))
		// The tax takes 90 % of the bound over it.
		taxed := tb.account(t)
		if _, err := tb.cat.PutTaxRate(tb.ctx, "DE", "VAT", 250_000); err != nil {
			t.Fatal(err)
		}
		de := "DE"
		if _, err := tb.b.UpdateProfile(tb.ctx, taxed, billing.ProfileUpdate{Country: &de}, false); err != nil {
			t.Fatal(err)
		}
		_, err = tb.b.Order(tb.ctx, taxed, billing.OrderInput{PlanID: most.ID})
		check("an order taxed over the bound", err, tooLarge("plan_id"))
		for _, a := range []string{acc, taxed} {
			if svcs, _ := tb.b.Services(tb.ctx, billingFilter(a)); len(svcs) != 0 {
				t.Errorf("services stored by refused orders: %d", len(svcs))
			}
		}

		// A running service: its add-ons and plan changes are bounded too.
		svc := tb.insertServices(t, acc, half, money.Monthly, date("2024-01-01"), 1)[0]
		tb.clock.Set(date("2024-01-15"))
		_, err = tb.b.AddAddon(tb.ctx, acc, svc.ID, billing.AddonAddInput{AddonID: ip.ID, Quantity: 11})
		check("add-on units over the bound", err, tooLarge("quantity"))
		if sas, _ := tb.b.ServiceAddons(tb.ctx, svc.ID); len(sas) != 0 {
			t.Errorf("add-ons stored by the refusal: %+v", sas)
		}
		if _, err := tb.b.AddAddon(tb.ctx, acc, svc.ID, billing.AddonAddInput{AddonID: ip.ID, Quantity: 5}); err != nil {
			t.Fatal(err)
		}
		_, err = tb.b.ChangePlan(tb.ctx, acc, svc.ID, billing.ChangeInput{PlanID: most.ID})
		check("a plan change whose terms would be over the bound", err, tooLarge("plan_id"))
		if got, _ := tb.b.Service(tb.ctx, acc, svc.ID); got.PlanID != half.ID {
			t.Errorf("plan after the refusal: %s", got.PlanID)
		}

		// Manual invoices: each unit amount up to the bound, the total too.
		_, err = tb.b.CreateManualInvoice(tb.ctx, acc, billing.ManualInvoiceInput{Lines: []billing.ManualLine{{Description: "x", Quantity: 1, UnitAmount: maxAmount + 1}}})
		if e, ok := apperr.As(err); !ok || e.Code != apperr.Invalid || len(e.Fields) != 1 || e.Fields[0].Field != "lines[0].unit_amount" ||
			!strings.Contains(e.Fields[0].Message, "10000000000000") {
			t.Errorf("a unit amount over the bound: %v", err)
		}
		for _, draft := range []bool{false, true} {
			_, err = tb.b.CreateManualInvoice(tb.ctx, acc, billing.ManualInvoiceInput{Draft: draft, Lines: []billing.ManualLine{
				{Description: "a", Quantity: 3, UnitAmount: maxAmount / 2}}})
			check("a manual invoice over the bound", err, tooLarge("lines"))
		}
		if invs := tb.invoices(t, billing.InvoiceFilter{AccountID: acc}); len(invs) != 1 {
			t.Errorf("invoices: %d, want the add-on's only", len(invs))
		}
	})
}

// TestOpenOrdersAreBounded: an account may have at most
// billing.max_open_orders unpaid orders; one more is refused with 422
// open_orders_limit and creates nothing, and paying or voiding one makes
// room again. Free orders (paid at once) do not count.
func TestOpenOrdersAreBounded(t *testing.T) {
	t.Parallel()
	databasetest.Each(t, func(t *testing.T, db *database.DB) {
		tb := setup(t, db, setupOpts{noHost: true, noJobs: true, opts: billing.Options{MaxOpenOrders: 3}})
		a := tb.api(t)
		plan := tb.plan(t, "small", 1000, nil)
		free := tb.plan(t, "free", 0, nil)
		path := "/api/v1/accounts/" + a.account + "/orders"
		var first struct {
			Invoice struct {
				ID string `json:"id"`
			} `json:"invoice"`
		}
		for i := range 3 {
			r := a.must(t, 201, "POST", path, a.customer, map[string]any{"plan_id": plan.Slug}, "Idempotency-Key", "order-"+string(rune('a'+i)))
			if i == 0 {
				r.Decode(t, &first)
			}
		}
		a.must(t, 201, "POST", path, a.customer, map[string]any{"plan_id": free.Slug}, "Idempotency-Key", "order-free")
		r := a.must(t, 422, "POST", path, a.customer, map[string]any{"plan_id": plan.Slug}, "Idempotency-Key", "order-d")
		if p := r.Problem(t); p.Code != billing.ReasonOpenOrdersLimit {
			t.Errorf("the fourth unpaid order: %s", r.Body)
		}
		if svcs, _ := tb.b.Services(tb.ctx, billingFilter(a.account)); len(svcs) != 4 {
			t.Errorf("services after the refusal: %d, want 4", len(svcs))
		}
		if _, err := tb.b.VoidInvoice(tb.ctx, first.Invoice.ID, "changed my mind"); err != nil {
			t.Fatal(err)
		}
		a.must(t, 201, "POST", path, a.customer, map[string]any{"plan_id": plan.Slug}, "Idempotency-Key", "order-e")
	})
}
