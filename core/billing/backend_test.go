package billing_test

import (
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/ezscale/platform/core/apperr"
	"github.com/ezscale/platform/core/billing"
	"github.com/ezscale/platform/core/catalog"
	"github.com/ezscale/platform/core/database"
	"github.com/ezscale/platform/core/database/databasetest"
	"github.com/ezscale/platform/core/money"
)

// refusal is what a test compares of a refusal.
type refusal struct {
	Code   apperr.Code
	Reason string
	Fields []string
}

func refusalOf(err error) refusal {
	e, ok := apperr.As(err)
	if !ok {
		return refusal{Reason: fmt.Sprint(err)} // nil, or not an application error
	}
	r := refusal{Code: e.Code, Reason: e.Reason}
	for _, f := range e.Fields {
		r.Fields = append(r.Fields, f.Field)
	}
	return r
}

var backendFixed = refusal{Code: apperr.Unprocessable, Reason: billing.ReasonBackendFixed, Fields: []string{"plan_id"}}

// TestPlanChangeKeepsProvisionerAndServiceType: a service's provisioner
// plugin and service type are fixed for its life. A change to a plan of
// another plugin or service type is refused with 422 naming plan_id, now
// and at the end of the term, by ChangePlan and by CheckPlanChange (the
// scheduler's check), and nothing changes (plan, state version, invoices,
// plan changes); a plan on the same plugin and type, named by its slug,
// is accepted.
func TestPlanChangeKeepsProvisionerAndServiceType(t *testing.T) {
	t.Parallel()
	databasetest.Each(t, func(t *testing.T, db *database.DB) {
		tb := setup(t, db, setupOpts{noHost: true, noJobs: true})
		acc := tb.account(t)
		small := tb.plan(t, "small", 1000, nil)
		big := tb.plan(t, "big", 3000, nil)
		otherPlugin, err := tb.cat.CreatePlan(tb.ctx, catalog.PlanInput{Slug: "other-plugin", Name: "Other", ServiceType: "vps", Currency: "USD",
			MonthlyPrice: 5000, Plugin: "otherprov"})
		if err != nil {
			t.Fatal(err)
		}
		game, err := tb.cat.CreatePlan(tb.ctx, catalog.PlanInput{Slug: "game", Name: "Game", ServiceType: "game", Currency: "USD",
			MonthlyPrice: 5000, Plugin: "testprov"})
		if err != nil {
			t.Fatal(err)
		}
		svc := tb.insertServices(t, acc, small, money.Monthly, date("2024-01-01"), 1)[0]
		tb.clock.Set(date("2024-01-15"))

		for _, target := range []*catalog.Plan{otherPlugin, game} {
			for _, when := range []string{"now", "end_of_term", ""} {
				for _, ref := range []string{target.ID, target.Slug} {
					_, err := tb.b.ChangePlan(tb.ctx, acc, svc.ID, billing.ChangeInput{PlanID: ref, When: when})
					if diff := cmp.Diff(backendFixed, refusalOf(err)); diff != "" {
						t.Errorf("ChangePlan to %s (%s): (-want +got)\n%s", ref, when, diff)
					}
				}
			}
			_, err := tb.b.CheckPlanChange(tb.ctx, acc, svc.ID, target.Slug)
			if diff := cmp.Diff(backendFixed, refusalOf(err)); diff != "" {
				t.Errorf("CheckPlanChange to %s: (-want +got)\n%s", target.Slug, diff)
			}
		}
		got, err := tb.b.Service(tb.ctx, acc, svc.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.PlanID != small.ID || got.Terms.PendingPlanID != nil || got.StateVersion != svc.StateVersion {
			t.Errorf("after the refusals: plan %s, pending %v, state version %d", got.PlanID, got.Terms.PendingPlanID, got.StateVersion)
		}
		if changes, err := tb.b.PlanChanges(tb.ctx, svc.ID); err != nil || len(changes) != 0 {
			t.Errorf("plan changes after the refusals: %v, %v", changes, err)
		}
		if invs := tb.invoices(t, billing.InvoiceFilter{ServiceID: svc.ID}); len(invs) != 0 {
			t.Errorf("invoices after the refusals: %d", len(invs))
		}

		if p, err := tb.b.CheckPlanChange(tb.ctx, acc, svc.ID, "big"); err != nil || p.ID != big.ID {
			t.Errorf("CheckPlanChange by slug: %v, %v", p, err)
		}
		res, err := tb.b.ChangePlan(tb.ctx, acc, svc.ID, billing.ChangeInput{PlanID: "big", When: "now"})
		if err != nil {
			t.Fatal(err)
		}
		if res.Service.PlanID != big.ID || res.Change.ToPlanID != big.ID {
			t.Errorf("upgrade by slug: service plan %s, change to %s", res.Service.PlanID, res.Change.ToPlanID)
		}
	})
}

// TestPlanInUseKeepsProvisionerAndServiceType: staff cannot move a plan
// with live services (or one a change is scheduled onto) to another
// provisioner plugin or service type (422 naming plugin or service_type);
// a plan nobody uses may change both.
func TestPlanInUseKeepsProvisionerAndServiceType(t *testing.T) {
	t.Parallel()
	databasetest.Each(t, func(t *testing.T, db *database.DB) {
		tb := setup(t, db, setupOpts{noHost: true, noJobs: true})
		acc := tb.account(t)
		big := tb.plan(t, "big", 3000, nil)
		small := tb.plan(t, "small", 1000, nil)
		unused := tb.plan(t, "unused", 1000, nil)
		svc := tb.insertServices(t, acc, big, money.Monthly, date("2024-01-01"), 1)[0]
		tb.clock.Set(date("2024-01-15"))
		// A downgrade waits for the end of the term: small is the
		// service's next plan.
		if _, err := tb.b.ChangePlan(tb.ctx, acc, svc.ID, billing.ChangeInput{PlanID: small.ID}); err != nil {
			t.Fatal(err)
		}
		input := func(p *catalog.Plan, plugin, serviceType string) catalog.PlanInput {
			return catalog.PlanInput{Slug: p.Slug, Name: p.Name, ServiceType: serviceType, Currency: p.Currency,
				MonthlyPrice: p.MonthlyPrice, Plugin: plugin}
		}
		for _, p := range []*catalog.Plan{big, small} {
			_, err := tb.cat.UpdatePlan(tb.ctx, p.ID, input(p, "otherprov", "vps"))
			want := refusal{Code: apperr.Unprocessable, Reason: billing.ReasonBackendFixed, Fields: []string{"plugin"}}
			if diff := cmp.Diff(want, refusalOf(err)); diff != "" {
				t.Errorf("moving %s to another plugin: (-want +got)\n%s", p.Slug, diff)
			}
			_, err = tb.cat.UpdatePlan(tb.ctx, p.ID, input(p, "testprov", "game"))
			want.Fields = []string{"service_type"}
			if diff := cmp.Diff(want, refusalOf(err)); diff != "" {
				t.Errorf("moving %s to another service type: (-want +got)\n%s", p.Slug, diff)
			}
			// Everything else about a plan in use may change.
			in := input(p, "testprov", "vps")
			in.Name = "Renamed " + p.Slug
			if _, err := tb.cat.UpdatePlan(tb.ctx, p.ID, in); err != nil {
				t.Errorf("renaming %s: %v", p.Slug, err)
			}
		}
		if got, err := tb.cat.Plan(tb.ctx, big.ID); err != nil || got.Plugin != "testprov" || got.ServiceType != "vps" {
			t.Errorf("big after the refusals: %+v, %v", got, err)
		}
		if got, err := tb.cat.UpdatePlan(tb.ctx, unused.ID, input(unused, "otherprov", "game")); err != nil || got.Plugin != "otherprov" {
			t.Errorf("moving an unused plan: %+v, %v", got, err)
		}
	})
}

// TestChangePlanAcrossBackendsOverHTTP: POST …/change-plan with when=now
// to a plan of another provisioner answers 422 problem+json naming
// plan_id, and the service keeps its plan; a plan named by its slug is
// accepted.
func TestChangePlanAcrossBackendsOverHTTP(t *testing.T) {
	t.Parallel()
	databasetest.Each(t, func(t *testing.T, db *database.DB) {
		tb := setup(t, db, setupOpts{noHost: true, noJobs: true})
		a := tb.api(t)
		small := tb.plan(t, "small", 1000, nil)
		tb.plan(t, "big", 3000, nil)
		if _, err := tb.cat.CreatePlan(tb.ctx, catalog.PlanInput{Slug: "elsewhere", Name: "Elsewhere", ServiceType: "vps", Currency: "USD",
			MonthlyPrice: 3000, Plugin: "otherprov"}); err != nil {
			t.Fatal(err)
		}
		svc := tb.insertServices(t, a.account, small, money.Monthly, date("2024-01-01"), 1)[0]
		tb.clock.Set(date("2024-01-15"))
		path := "/api/v1/accounts/" + a.account + "/services/" + svc.ID + "/change-plan"
		r := a.must(t, 422, "POST", path, a.customer, map[string]any{"plan_id": "elsewhere", "when": "now"}, "Idempotency-Key", "cp-1")
		if p := r.Problem(t); p.Code != billing.ReasonBackendFixed || len(p.Errors) != 1 || p.Errors[0].Field != "plan_id" {
			t.Errorf("problem %s", r.Body)
		}
		if got, _ := tb.b.Service(tb.ctx, a.account, svc.ID); got.PlanID != small.ID {
			t.Errorf("plan after the refusal: %s", got.PlanID)
		}
		a.must(t, 200, "POST", path, a.customer, map[string]any{"plan_id": "big", "when": "now"}, "Idempotency-Key", "cp-2")
	})
}

// TestProvisionerRefRefusesAServiceMovedAcrossBackends: a service whose
// backend runs a plan of another provisioner than its current plan (moved
// before the rule held) is not handed to its plan's provisioner (power,
// SSO and usage go through ProvisionerRef): 409 service_backend_fixed.
func TestProvisionerRefRefusesAServiceMovedAcrossBackends(t *testing.T) {
	t.Parallel()
	databasetest.Each(t, func(t *testing.T, db *database.DB) {
		tb := setup(t, db, setupOpts{noHost: true, noJobs: true})
		acc := tb.account(t)
		small, big := tb.plan(t, "small", 1000, nil), tb.plan(t, "big", 3000, nil)
		elsewhere, err := tb.cat.CreatePlan(tb.ctx, catalog.PlanInput{Slug: "elsewhere", Name: "Elsewhere", ServiceType: "vps", Currency: "USD",
			MonthlyPrice: 3000, Plugin: "otherprov"})
		if err != nil {
			t.Fatal(err)
		}
		svcs := tb.insertServices(t, acc, small, money.Monthly, date("2024-01-01"), 2)
		moved, changed := svcs[0], svcs[1]
		for _, u := range []struct {
			svc  *billing.Service
			plan *catalog.Plan
		}{{moved, elsewhere}, {changed, big}} {
			if _, err := db.NewUpdate().Table("services").Set("plan_id = ?", u.plan.ID).Set("backend_plan_id = ?", small.ID).
				Set("external_id = 'ext-1'").Set("backend_state = 'active'").Where("id = ?", u.svc.ID).Exec(tb.ctx); err != nil {
				t.Fatal(err)
			}
		}
		svc, _ := tb.b.Service(tb.ctx, acc, moved.ID)
		_, _, err = tb.provisioning.ProvisionerRef(tb.ctx, svc.Service)
		if diff := cmp.Diff(refusal{Code: apperr.Conflict, Reason: billing.ReasonBackendFixed}, refusalOf(err)); diff != "" {
			t.Errorf("a service moved across backends: (-want +got)\n%s", diff)
		}
		// A plan change on the same provisioner, not yet synced, is fine.
		svc, _ = tb.b.Service(tb.ctx, acc, changed.ID)
		if _, plan, err := tb.provisioning.ProvisionerRef(tb.ctx, svc.Service); err != nil || plan.ID != big.ID {
			t.Errorf("a service between a plan change and its sync: %v, %v", plan, err)
		}
	})
}
