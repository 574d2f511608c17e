package billing_test

import (
	"context"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/uptrace/bun"

	"github.com/ezscale/platform/core/apperr"
	"github.com/ezscale/platform/core/billing"
	"github.com/ezscale/platform/core/database"
	"github.com/ezscale/platform/core/database/databasetest"
	"github.com/ezscale/platform/core/money"
	"github.com/ezscale/platform/core/services"
)

// terminateManyBundle is a billing with an account holding live services
// on a plan of the test provisioner.
type terminateManyBundle struct {
	*testBundle
	acc string
	// dependedOn is the service the ending guard refuses to end without
	// confirm_dependents.
	dependedOn string
	ids        []string
}

func setupTerminateMany(t *testing.T, db *database.DB, n int) *terminateManyBundle {
	t.Helper()
	tb := &terminateManyBundle{testBundle: setup(t, db, setupOpts{noHost: true, noJobs: true})}
	tb.acc = tb.account(t)
	plan := tb.plan(t, "vps", 1000, nil)
	for _, s := range tb.insertServices(t, tb.acc, plan, money.Monthly, date("2024-01-01"), n) {
		tb.ids = append(tb.ids, s.ID)
	}
	tb.b.OnEnding(func(_ context.Context, _ bun.Tx, svc *billing.Service, confirmed bool) error {
		if svc.ID == tb.dependedOn && !confirmed {
			return apperr.New(apperr.Conflict, "other services depend on this one").WithReason("service_has_dependents")
		}
		return nil
	})
	return tb
}

// statuses is the status of each of ids, in order.
func (tb *terminateManyBundle) statuses(t *testing.T, ids []string) []string {
	t.Helper()
	out := make([]string, len(ids))
	for i, id := range ids {
		svc, err := tb.b.Service(tb.ctx, "", id)
		if err != nil {
			t.Fatal(err)
		}
		out[i] = svc.Status
	}
	return out
}

// fieldsOf is the code, reason and fields of err.
func fieldsOf(err error) (apperr.Code, string, []string) {
	e, ok := apperr.As(err)
	if !ok {
		return "", "", nil
	}
	var fields []string
	for _, f := range e.Fields {
		fields = append(fields, f.Field)
	}
	return e.Code, e.Reason, fields
}

// TestTerminateManyRefusesAListAsAWhole: an empty list, one over the
// bound, and a list with a repeated, unknown or ended service are refused
// with an error per field (service_ids, service_ids[i]), and no service
// of the list is terminated.
func TestTerminateManyRefusesAListAsAWhole(t *testing.T) {
	t.Parallel()
	databasetest.Each(t, func(t *testing.T, db *database.DB) {
		tb := setupTerminateMany(t, db, 3)
		ended := tb.ids[2]
		if _, err := tb.b.TerminateRequested(tb.ctx, ended, billing.TerminateInput{Reason: "earlier"}); err != nil {
			t.Fatal(err)
		}
		tooMany := make([]string, billing.MaxTerminateMany+1)
		for i := range tooMany {
			tooMany[i] = tb.ids[0]
		}
		type refusal struct {
			Code   apperr.Code
			Reason string
			Fields []string
		}
		for _, tc := range []struct {
			name string
			ids  []string
			want refusal
		}{
			{"none", nil, refusal{apperr.Invalid, "", []string{"service_ids"}}},
			{"over the bound", tooMany, refusal{apperr.Invalid, "", []string{"service_ids"}}},
			{"repeated, unknown and ended", []string{tb.ids[0], tb.ids[1], tb.ids[0], "no-such", ended},
				refusal{apperr.Unprocessable, billing.ReasonNotTerminable, []string{"service_ids[2]", "service_ids[3]", "service_ids[4]"}}},
		} {
			out, err := tb.b.TerminateMany(tb.ctx, tc.ids, billing.TerminateInput{Reason: "abuse"})
			var got refusal
			got.Code, got.Reason, got.Fields = fieldsOf(err)
			if diff := cmp.Diff(tc.want, got); diff != "" || out != nil {
				t.Errorf("%s: refusal (-want +got):\n%s(outcome %+v)", tc.name, diff, out)
			}
		}
		want := []string{services.StatusActive, services.StatusActive, services.StatusTerminated}
		if diff := cmp.Diff(want, tb.statuses(t, tb.ids)); diff != "" {
			t.Errorf("statuses after the refusals (-want +got):\n%s", diff)
		}
		for _, id := range tb.ids[:2] {
			if diff := cmp.Diff([]string(nil), tb.auditActions(t, id)); diff != "" {
				t.Errorf("audit events of %s after the refusals (-want +got):\n%s", id, diff)
			}
		}
	})
}

// TestTerminateManyTerminatesEachOnce: each listed service is terminated
// once, through the one-service termination (its ending guard, its audit
// event), in the order listed; one the guard refuses is reported failed
// with the guard's error and the others still end; confirming dependents
// then ends it too.
func TestTerminateManyTerminatesEachOnce(t *testing.T) {
	t.Parallel()
	databasetest.Each(t, func(t *testing.T, db *database.DB) {
		tb := setupTerminateMany(t, db, 3)
		tb.dependedOn = tb.ids[1]
		out, err := tb.b.TerminateMany(tb.ctx, tb.ids, billing.TerminateInput{Reason: "abuse"})
		if err != nil {
			t.Fatal(err)
		}
		type outcome struct {
			ServiceID, Status string
			Code              apperr.Code
			Reason            string
		}
		summary := func(out *billing.Terminations) (int, int, []outcome) {
			var got []outcome
			for _, o := range out.Results {
				g := outcome{ServiceID: o.ServiceID}
				if o.Service != nil {
					g.Status = o.Service.Status
				}
				if o.Err != nil {
					g.Code, g.Reason, _ = fieldsOf(o.Err)
				}
				got = append(got, g)
			}
			return out.Terminated, out.Failed, got
		}
		terminated, failed, got := summary(out)
		want := []outcome{
			{ServiceID: tb.ids[0], Status: services.StatusTerminated},
			{ServiceID: tb.ids[1], Code: apperr.Conflict, Reason: "service_has_dependents"},
			{ServiceID: tb.ids[2], Status: services.StatusTerminated},
		}
		if diff := cmp.Diff(want, got); diff != "" || terminated != 2 || failed != 1 {
			t.Errorf("outcomes: %d terminated, %d failed (-want +got):\n%s", terminated, failed, diff)
		}
		if diff := cmp.Diff([]string{services.StatusTerminated, services.StatusActive, services.StatusTerminated}, tb.statuses(t, tb.ids)); diff != "" {
			t.Errorf("statuses (-want +got):\n%s", diff)
		}

		out, err = tb.b.TerminateMany(tb.ctx, tb.ids[1:2], billing.TerminateInput{Reason: "abuse", ConfirmDependents: true})
		if err != nil {
			t.Fatal(err)
		}
		terminated, failed, got = summary(out)
		if diff := cmp.Diff([]outcome{{ServiceID: tb.ids[1], Status: services.StatusTerminated}}, got); diff != "" || terminated != 1 || failed != 0 {
			t.Errorf("confirmed: %d terminated, %d failed (-want +got):\n%s", terminated, failed, diff)
		}
		for _, id := range tb.ids {
			if diff := cmp.Diff([]string{"billing.service.terminate"}, tb.auditActions(t, id)); diff != "" {
				t.Errorf("audit events of %s (-want +got):\n%s", id, diff)
			}
		}
	})
}
