package billing_test

import (
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/ezscale/platform/core/apperr"
	"github.com/ezscale/platform/core/billing"
	"github.com/ezscale/platform/core/catalog"
	"github.com/ezscale/platform/core/database"
	"github.com/ezscale/platform/core/database/databasetest"
	"github.com/ezscale/platform/core/money"
	"github.com/ezscale/platform/core/services"
)

// TestOrderPaidByCreditIsProvisioned: an order paid by credit becomes an
// active service through the provisioner plugin, created once with the
// service id as its idempotency key.
func TestOrderPaidByCreditIsProvisioned(t *testing.T) {
	t.Parallel()
	databasetest.Each(t, func(t *testing.T, db *database.DB) {
		tb := setup(t, db, setupOpts{})
		acc := tb.account(t)
		plan, err := tb.cat.CreatePlan(tb.ctx, catalog.PlanInput{Slug: "vps-1", Name: "VPS 1", ServiceType: "vps", Currency: "USD", MonthlyPrice: 999,
			Plugin: "testprov", PluginOptions: map[string]string{"size": "small"}, OrderOptions: map[string][]string{"hostname": {}}})
		if err != nil {
			t.Fatal(err)
		}
		tb.credit(t, acc, 5000)
		res, err := tb.b.Order(tb.ctx, acc, billing.OrderInput{PlanID: plan.ID, Cycle: money.Quarterly, Label: "web", Options: map[string]string{"hostname": "web1"}})
		if err != nil {
			t.Fatal(err)
		}
		inv := res.Invoice
		if inv.Status != billing.InvoicePaid || inv.Total != 2847 || inv.AmountPaid != 2847 || inv.Number == nil {
			t.Fatalf("order invoice: status %s total %d paid %d number %v", inv.Status, inv.Total, inv.AmountPaid, inv.Number)
		}
		svc := tb.waitService(t, res.Service.ID, services.StatusActive)
		if svc.ExternalID != "ext-"+svc.ID || svc.Terms.PeriodStart == nil || !svc.Terms.PeriodEnd.Equal(date("2024-04-15")) {
			t.Errorf("active service: external %q period %v – %v", svc.ExternalID, svc.Terms.PeriodStart, svc.Terms.PeriodEnd)
		}
		got := tb.backend(t, svc.ID)
		want := backendRecord{ExternalID: "ext-" + svc.ID, State: "active", CreateAttempts: 1, Calls: []string{"create"},
			Options: map[string]string{"hostname": "web1", "size": "small"}}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("backend (-want +got):\n%s", diff)
		}
		bal, err := tb.b.Ledger().Balance(tb.ctx, acc, "USD")
		if err != nil || bal.Amount != 5000-2847 {
			t.Errorf("balance %d, %v", bal.Amount, err)
		}
		if err := tb.b.Ledger().Verify(tb.ctx, acc); err != nil {
			t.Error(err)
		}
		if msgs := tb.messages(t, acc); !slices.Contains(msgs, "service.provisioned") {
			t.Errorf("messages %v lack service.provisioned", msgs)
		}
	})
}

// TestFailedProvisioningIsRetriedAndVisible: a backend that fails twice
// is retried with backoff; each failure is on the service and audited, and
// the third attempt succeeds.
func TestFailedProvisioningIsRetriedAndVisible(t *testing.T) {
	t.Parallel()
	databasetest.Each(t, func(t *testing.T, db *database.DB) {
		tb := setup(t, db, setupOpts{services: services.Options{ProvisionMaxAttempts: 5}})
		acc := tb.account(t)
		plan := tb.plan(t, "flaky", 0, map[string]string{"fail_create": "2"})
		res, err := tb.b.Order(tb.ctx, acc, billing.OrderInput{PlanID: plan.ID})
		if err != nil {
			t.Fatal(err)
		}
		svc := tb.waitService(t, res.Service.ID, services.StatusActive)
		if svc.ProvisionAttempts != 2 || svc.LastError != "" {
			t.Errorf("attempts %d last error %q", svc.ProvisionAttempts, svc.LastError)
		}
		if got := tb.backend(t, svc.ID).CreateAttempts; got != 3 {
			t.Errorf("create attempts at the backend = %d, want 3", got)
		}
		actions := tb.auditActions(t, svc.ID)
		if n := count(actions, "billing.service.provision_retry"); n != 2 {
			t.Errorf("provision_retry events = %d in %v", n, actions)
		}
	})
}

// TestPermanentProvisioningFailureFailsLoudly: retries run out (or the
// backend refuses the input): the service is failed with the reason,
// audited, and the customer is told; staff can retry.
func TestPermanentProvisioningFailureFailsLoudly(t *testing.T) {
	t.Parallel()
	databasetest.Each(t, func(t *testing.T, db *database.DB) {
		tb := setup(t, db, setupOpts{})
		acc := tb.account(t)
		down := tb.plan(t, "down", 0, map[string]string{"fail_create": "always"})
		refused := tb.plan(t, "refused", 0, map[string]string{"fail_create": "always", "fail_kind": "invalid"})
		for _, tc := range []struct {
			plan     *catalog.Plan
			attempts int
		}{{down, 3}, {refused, 1}} {
			res, err := tb.b.Order(tb.ctx, acc, billing.OrderInput{PlanID: tc.plan.ID})
			if err != nil {
				t.Fatal(err)
			}
			svc := tb.waitService(t, res.Service.ID, services.StatusFailed)
			if svc.ProvisionAttempts != tc.attempts || svc.LastError == "" {
				t.Errorf("%s: attempts %d, last error %q", tc.plan.Slug, svc.ProvisionAttempts, svc.LastError)
			}
			if got := tb.backend(t, svc.ID).CreateAttempts; got != tc.attempts {
				t.Errorf("%s: backend saw %d attempts, want %d", tc.plan.Slug, got, tc.attempts)
			}
			if actions := tb.auditActions(t, svc.ID); !slices.Contains(actions, "billing.service.provision_failed") {
				t.Errorf("%s: audit %v lacks provision_failed", tc.plan.Slug, actions)
			}
		}
		if n := count(tb.messages(t, acc), "service.failed"); n != 2 {
			t.Errorf("provisioning_failed messages = %d, want 2", n)
		}
		// Staff retry: still failing, it fails again (and is not silent).
		svcs, err := tb.b.Services(tb.ctx, services.Filter{AccountID: acc, Status: services.StatusFailed, Limit: 10})
		if err != nil || len(svcs) != 2 {
			t.Fatalf("failed services: %d, %v", len(svcs), err)
		}
		if _, err := tb.b.RetryProvisioning(tb.ctx, svcs[0].ID); err != nil {
			t.Fatal(err)
		}
		if _, err := tb.b.RetryProvisioning(tb.ctx, svcs[0].ID); apperr.CodeOf(err) != apperr.Conflict {
			t.Errorf("retrying a provisioning service: %v, want Conflict", err)
		}
		tb.waitService(t, svcs[0].ID, services.StatusFailed)
	})
}

func count(xs []string, x string) int {
	n := 0
	for _, v := range xs {
		if v == x {
			n++
		}
	}
	return n
}
