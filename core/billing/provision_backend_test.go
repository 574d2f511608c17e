package billing_test

import (
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/ezscale/platform/core/apperr"
	"github.com/ezscale/platform/core/billing"
	"github.com/ezscale/platform/core/billing/billingtest"
	"github.com/ezscale/platform/core/catalog"
	"github.com/ezscale/platform/core/database"
	"github.com/ezscale/platform/core/database/databasetest"
	"github.com/ezscale/platform/core/money"
	"github.com/ezscale/platform/core/services"
	"github.com/ezscale/platform/core/testkit"
)

// marker sets (or, with on false, clears) a marker the test provisioner
// reads for a service.
func (tb *testBundle) marker(t testing.TB, serviceID, name string, on bool) {
	t.Helper()
	tb.prov.Mark(serviceID, name, on)
}

// service reads a service as staff see it.
func (tb *testBundle) service(t testing.TB, id string) *billing.Service {
	t.Helper()
	svc, err := tb.b.Service(tb.ctx, "", id)
	if err != nil {
		t.Fatal(err)
	}
	return svc
}

// waitUntil waits until the service satisfies cond and returns it.
func (tb *testBundle) waitUntil(t testing.TB, id, what string, cond func(*billing.Service) bool) *billing.Service {
	t.Helper()
	var svc *billing.Service
	testkit.WaitFor(t, what, func() bool {
		svc = tb.service(t, id)
		return cond(svc)
	})
	return svc
}

// order orders plan for acc and returns the new service's id.
func (tb *testBundle) order(t testing.TB, acc string, plan *catalog.Plan) string {
	t.Helper()
	res, err := tb.b.Order(tb.ctx, acc, billing.OrderInput{PlanID: plan.ID, Cycle: money.Monthly})
	if err != nil {
		t.Fatal(err)
	}
	return res.Service.ID
}

// balance is the account's credit in USD.
func (tb *testBundle) balance(t testing.TB, acc string) int64 {
	t.Helper()
	bal, err := tb.b.Ledger().Balance(tb.ctx, acc, "USD")
	if err != nil {
		t.Fatal(err)
	}
	return bal.Amount
}

// TestProvisioningRetryWaitsForThePluginsRetryAfter: a plugin that fails
// Create asking to be retried in an hour is retried in an hour, not after
// the backoff's first step (20 ms here).
func TestProvisioningRetryWaitsForThePluginsRetryAfter(t *testing.T) {
	t.Parallel()
	databasetest.Each(t, func(t *testing.T, db *database.DB) {
		tb := setup(t, db, setupOpts{opts: billing.Options{RetryBase: 20 * time.Millisecond, RetryMax: 2 * time.Hour}, services: services.Options{ProvisionMaxAttempts: 5}})
		acc := tb.account(t)
		plan := tb.plan(t, "busy", 0, map[string]string{"fail_create": "always", "fail_retry_after": "1h"})
		before := time.Now()
		id := tb.order(t, acc, plan)
		svc := tb.waitUntil(t, id, "the first failed attempt", func(s *billing.Service) bool { return s.ProvisionAttempts == 1 })
		if svc.Status != services.StatusProvisioning || !strings.Contains(svc.LastError, "retry after 1h0m0s") {
			t.Errorf("after the first attempt: status %s, last error %q", svc.Status, svc.LastError)
		}
		var job *rivertype.JobRow
		testkit.WaitFor(t, "the provisioning job to stop running", func() bool {
			res, err := tb.engine.Client().JobList(tb.ctx, river.NewJobListParams().Kinds("billing_provision").First(10))
			if err != nil {
				t.Fatal(err)
			}
			for _, j := range res.Jobs {
				if strings.Contains(string(j.EncodedArgs), id) && j.State != rivertype.JobStateRunning && j.State != rivertype.JobStateAvailable {
					job = j
					return true
				}
			}
			return false
		})
		if wait := job.ScheduledAt.Sub(before); wait < 59*time.Minute {
			t.Errorf("the retry is scheduled %s after the order; the plugin asked for 1h", wait.Round(time.Millisecond))
		}
		if got := tb.backend(t, id).CreateAttempts; got != 1 {
			t.Errorf("the backend saw %d Create calls, want 1", got)
		}
	})
}

// TestServiceIsProvisioningUntilTheBackendIsReady: a backend that answers
// Create while still installing leaves the service provisioning (with its
// external id and backend_state installing, and no "ready" message); the
// readiness job polls GetInfo until the backend reports it ready, and only
// then is the service active and the customer told, once.
func TestServiceIsProvisioningUntilTheBackendIsReady(t *testing.T) {
	t.Parallel()
	databasetest.Each(t, func(t *testing.T, db *database.DB) {
		tb := setup(t, db, setupOpts{services: services.Options{InstallPollInterval: 10 * time.Millisecond}})
		acc := tb.account(t)
		plan := tb.plan(t, "slow-install", 0, map[string]string{"install": "wait"})
		id := tb.order(t, acc, plan)
		testkit.WaitFor(t, "two readiness polls", func() bool { return tb.backend(t, id).Polls >= 2 })
		svc := tb.service(t, id)
		if svc.Status != services.StatusProvisioning || svc.BackendState != "installing" || svc.ExternalID != "ext-"+id || svc.ActivatedAt != nil {
			t.Fatalf("while installing: status %s, backend %q, external %q, activated %v", svc.Status, svc.BackendState, svc.ExternalID, svc.ActivatedAt)
		}
		if msgs := tb.messages(t, acc); slices.Contains(msgs, "service.provisioned") {
			t.Errorf("the customer was told the service is ready while it installs: %v", msgs)
		}
		tb.marker(t, id, "installed", true)
		svc = tb.waitService(t, id, services.StatusActive)
		if svc.BackendState != "active" || svc.ActivatedAt == nil || svc.LastError != "" {
			t.Errorf("ready: backend %q, activated %v, last error %q", svc.BackendState, svc.ActivatedAt, svc.LastError)
		}
		if n := count(tb.messages(t, acc), "service.provisioned"); n != 1 {
			t.Errorf("service.provisioned messages = %d, want 1", n)
		}
		actions := tb.auditActions(t, id)
		if !slices.Contains(actions, "billing.service.backend_installing") || count(actions, "billing.service.provisioned") != 1 {
			t.Errorf("audit %v", actions)
		}
		if got := tb.backend(t, id).CreateAttempts; got != 1 {
			t.Errorf("Create calls = %d, want 1 (readiness is read, not created again)", got)
		}
	})
}

// TestInstallThatFailsOrNeverEndsIsRefunded: an install the backend
// reports failed, and one still running after install_timeout, both end
// the provisioning: the service is failed with the reason, the paid order
// is voided and its payment returned to credit once, the customer gets
// the refund notice, and the half-made server is terminated at the
// backend.
func TestInstallThatFailsOrNeverEndsIsRefunded(t *testing.T) {
	t.Parallel()
	databasetest.Each(t, func(t *testing.T, db *database.DB) {
		tb := setup(t, db, setupOpts{services: services.Options{InstallPollInterval: 10 * time.Millisecond, InstallTimeout: time.Hour}})
		acc := tb.account(t)
		plan := tb.plan(t, "vps-install", 999, map[string]string{"install": "wait"})
		tb.credit(t, acc, 5000)

		// The half-made server's termination is held until the failed
		// service has been read: it ends the backend's story, and with it
		// the service's last error.
		broken := tb.order(t, acc, plan)
		release := tb.prov.Hold(broken, "terminate")
		tb.waitUntil(t, broken, "installing", func(s *billing.Service) bool { return s.BackendState == "installing" })
		tb.marker(t, broken, "install_failed", true)
		svc := tb.waitService(t, broken, services.StatusFailed)
		if !strings.Contains(svc.LastError, "installation failed") {
			t.Errorf("failed install: last error %q", svc.LastError)
		}
		release()

		stuck := tb.order(t, acc, plan)
		release = tb.prov.Hold(stuck, "terminate")
		tb.waitUntil(t, stuck, "installing", func(s *billing.Service) bool { return s.BackendState == "installing" })
		tb.clock.Add(2 * time.Hour)
		svc = tb.waitService(t, stuck, services.StatusFailed)
		if !strings.Contains(svc.LastError, "still installing it after 1h0m0s") {
			t.Errorf("stuck install: last error %q", svc.LastError)
		}
		release()

		for _, id := range []string{broken, stuck} {
			invs := tb.invoices(t, billing.InvoiceFilter{AccountID: acc, ServiceID: id})
			if len(invs) != 1 || invs[0].Status != billing.InvoiceVoid || invs[0].AmountPaid != 999 {
				t.Errorf("%s: order invoices %+v, want one voided paid 999", id, invs)
			}
		}
		if got := tb.balance(t, acc); got != 5000 {
			t.Errorf("balance %d, want 5000 (both payments returned)", got)
		}
		if err := tb.b.Ledger().Verify(tb.ctx, acc); err != nil {
			t.Error(err)
		}
		if n := count(tb.messages(t, acc), "order.refunded"); n != 2 {
			t.Errorf("order.refunded messages = %d, want 2", n)
		}
		for _, id := range []string{broken, stuck} {
			svc := tb.waitUntil(t, id, "the half-made server to be terminated", func(s *billing.Service) bool { return s.BackendState == "terminated" })
			if st := tb.backend(t, id).State; st != "terminated" || svc.Status != services.StatusFailed {
				t.Errorf("%s: status %s, at the backend %q", id, svc.Status, st)
			}
		}
	})
}

// TestCapacityShortageIsRetriedAlertedAndRefunded: a backend with no room
// (the capacity kind) is not a permanent failure: Create is retried with
// backoff up to provision_max_attempts, staff are alerted once, and when
// the attempts run out the paid order is voided, its payment returned to
// credit exactly once, and the customer told; staff cannot re-provision a
// refunded order.
func TestCapacityShortageIsRetriedAlertedAndRefunded(t *testing.T) {
	t.Parallel()
	databasetest.Each(t, func(t *testing.T, db *database.DB) {
		tb := setup(t, db, setupOpts{services: services.Options{ProvisionMaxAttempts: 3}})
		acc := tb.account(t)
		plan := tb.plan(t, "full", 999, map[string]string{"fail_create": "always", "fail_kind": "capacity"})
		tb.credit(t, acc, 5000)
		id := tb.order(t, acc, plan)
		if got := tb.balance(t, acc); got != 5000-999 {
			t.Fatalf("balance after the order %d", got)
		}
		svc := tb.waitService(t, id, services.StatusFailed)
		if svc.ProvisionAttempts != 3 || !strings.Contains(svc.LastError, "no allocations satisfying the requirements") {
			t.Errorf("attempts %d, last error %q", svc.ProvisionAttempts, svc.LastError)
		}
		if got := tb.backend(t, id).CreateAttempts; got != 3 {
			t.Errorf("the backend saw %d Create calls, want 3 (capacity is retried)", got)
		}
		actions := tb.auditActions(t, id)
		if n := count(actions, "billing.service.capacity_shortage"); n != 3 {
			t.Errorf("capacity_shortage events = %d in %v", n, actions)
		}
		var alerts int
		if err := db.NewRaw("SELECT COUNT(*) FROM notification_keys WHERE key LIKE ?", "billing.capacity:"+id+":%").Scan(tb.ctx, &alerts); err != nil {
			t.Fatal(err)
		}
		if alerts != 1 {
			t.Errorf("admin alerts = %d, want 1 for the provisioning", alerts)
		}
		invs := tb.invoices(t, billing.InvoiceFilter{AccountID: acc, ServiceID: id})
		if len(invs) != 1 || invs[0].Status != billing.InvoiceVoid {
			t.Fatalf("order invoices %+v, want one voided", invs)
		}
		var credits int
		if err := db.NewRaw("SELECT COUNT(*) FROM credit_entries WHERE account_id = ? AND idempotency_key = ?", acc, "void:"+invs[0].ID).Scan(tb.ctx, &credits); err != nil {
			t.Fatal(err)
		}
		if got := tb.balance(t, acc); got != 5000 || credits != 1 {
			t.Errorf("balance %d with %d refund entries, want 5000 and 1", got, credits)
		}
		if err := tb.b.Ledger().Verify(tb.ctx, acc); err != nil {
			t.Error(err)
		}
		msgs := tb.messages(t, acc)
		if count(msgs, "order.refunded") != 1 || count(msgs, "service.failed") != 1 {
			t.Errorf("messages %v, want one order.refunded and one service.failed", msgs)
		}
		if _, err := tb.b.RetryProvisioning(tb.ctx, id); apperr.CodeOf(err) != apperr.Conflict {
			t.Errorf("re-provisioning a refunded order: %v, want Conflict", err)
		}
		if got := tb.balance(t, acc); got != 5000 {
			t.Errorf("balance after the refused retry %d", got)
		}
	})
}

// TestFailedBackendSuspendIsVisibleAndRetried: a suspension the backend
// refuses leaves the service suspended in billing but with backend_state
// still active and the failure in last_error; the suspension is retried,
// and once the backend takes it the two agree and last_error is cleared.
func TestFailedBackendSuspendIsVisibleAndRetried(t *testing.T) {
	t.Parallel()
	databasetest.Each(t, func(t *testing.T, db *database.DB) {
		tb := setup(t, db, setupOpts{opts: billing.Options{RetryBase: 20 * time.Millisecond, RetryMax: 500 * time.Millisecond}, services: services.Options{ProvisionMaxAttempts: 25}})
		acc := tb.account(t)
		plan := tb.plan(t, "vps", 0, nil)
		id := tb.order(t, acc, plan)
		tb.waitService(t, id, services.StatusActive)
		tb.marker(t, id, "fail_suspend", true)
		if _, err := tb.svcs.Suspend(tb.ctx, id, services.SuspendAdmin, "abuse report"); err != nil {
			t.Fatal(err)
		}
		tb.waitUntil(t, id, "the failed suspend to show", func(s *billing.Service) bool { return s.LastError != "" })
		a := tb.api(t)
		var view struct {
			Status       string `json:"status"`
			BackendState string `json:"backend_state"`
			LastError    string `json:"last_error"`
		}
		a.must(t, 200, "GET", "/api/v1/admin/services/"+id, a.staff, nil).Decode(t, &view)
		if view.Status != "suspended" || view.BackendState != "active" || !strings.Contains(view.LastError, "suspend") {
			t.Errorf("after the failed suspend the API shows %+v; want suspended, backend_state active and the failure", view)
		}
		tb.marker(t, id, "fail_suspend", false)
		svc := tb.waitUntil(t, id, "the suspension to reach the backend", func(s *billing.Service) bool { return s.BackendState == "suspended" })
		if svc.LastError != "" {
			t.Errorf("after the retried suspend: last error %q", svc.LastError)
		}
		if st := tb.backend(t, id).State; st != "suspended" {
			t.Errorf("backend state %q", st)
		}
	})
}

// TestEndingAServiceClearsItsLastError: a service terminated while its
// provisioning was failing (nothing at the backend to terminate) no longer
// shows the old error.
func TestEndingAServiceClearsItsLastError(t *testing.T) {
	t.Parallel()
	databasetest.Each(t, func(t *testing.T, db *database.DB) {
		tb := setup(t, db, setupOpts{opts: billing.Options{RetryMax: 500 * time.Millisecond}, services: services.Options{ProvisionMaxAttempts: 25}})
		acc := tb.account(t)
		plan := tb.plan(t, "down", 0, map[string]string{"fail_create": "always"})
		id := tb.order(t, acc, plan)
		tb.waitUntil(t, id, "a failed attempt", func(s *billing.Service) bool { return s.LastError != "" })
		svc, err := tb.b.Terminate(tb.ctx, id, "customer left")
		if err != nil {
			t.Fatal(err)
		}
		if svc.LastError != "" {
			t.Errorf("terminate answered last error %q", svc.LastError)
		}
		if got := tb.service(t, id); got.Status != services.StatusTerminated || got.LastError != "" {
			t.Errorf("terminated: status %s, last error %q", got.Status, got.LastError)
		}
	})
}

// TestUnsuspendNamesTheSuspension: lifting with no reason, or one not in
// force, lifts nothing and is a 422 naming the reason field and listing the
// suspensions in force; naming one lifts it. The service view shows the
// backend's state.
func TestUnsuspendNamesTheSuspension(t *testing.T) {
	t.Parallel()
	databasetest.Each(t, func(t *testing.T, db *database.DB) {
		tb := setup(t, db, setupOpts{})
		a := tb.api(t)
		plan := tb.plan(t, "vps", 0, nil)
		id := tb.order(t, a.account, plan)
		tb.waitService(t, id, services.StatusActive)
		path := "/api/v1/admin/services/" + id
		a.must(t, 200, "POST", path+"/suspend", a.staff, map[string]any{"reason": "abuse"})
		var problem struct {
			Reason string `json:"reason"`
			Errors []struct {
				Field   string `json:"field"`
				Message string `json:"message"`
			} `json:"errors"`
		}
		for _, body := range []map[string]any{{}, {"reason": "admin"}} {
			a.must(t, 422, "POST", path+"/unsuspend", a.staff, body).Decode(t, &problem)
			if len(problem.Errors) != 1 || problem.Errors[0].Field != "reason" || !strings.Contains(problem.Errors[0].Message, "abuse") {
				t.Errorf("unsuspend %v: %+v", body, problem)
			}
		}
		var svc struct {
			Status       string   `json:"status"`
			Suspensions  []string `json:"suspensions"`
			BackendState string   `json:"backend_state"`
		}
		a.must(t, 200, "GET", path, a.staff, nil).Decode(t, &svc)
		if svc.Status != "suspended" || len(svc.Suspensions) != 1 {
			t.Errorf("after the refusals: %+v", svc)
		}
		testkit.WaitFor(t, "the backend to suspend", func() bool { return tb.service(t, id).BackendState == "suspended" })
		a.must(t, 200, "GET", path, a.staff, nil).Decode(t, &svc)
		if svc.BackendState != "suspended" {
			t.Errorf("backend_state %q, want suspended", svc.BackendState)
		}
		a.must(t, 200, "POST", path+"/unsuspend", a.staff, map[string]any{"reason": "abuse"}).Decode(t, &svc)
		if svc.Status != "active" || len(svc.Suspensions) != 0 {
			t.Errorf("after lifting abuse: %+v", svc)
		}
	})
}

// TestProvisionFailureStoresALongForeignMessage: a backend's error message
// longer than the column's limit, in another language and carrying a NUL,
// is recorded on both dialects: cut on a character, the NUL replaced.
// PostgreSQL refuses a NUL or half a character in text, and with the write
// went the record of the attempt.
func TestProvisionFailureStoresALongForeignMessage(t *testing.T) {
	t.Parallel()
	databasetest.Each(t, func(t *testing.T, db *database.DB) {
		tb := setup(t, db, setupOpts{})
		acc := tb.account(t)
		plan := tb.plan(t, "intl", 0, nil)
		id, err := billingtest.Service(tb.ctx, db, billingtest.ServiceSpec{AccountID: acc, PlanID: plan.ID, Status: services.StatusProvisioning})
		if err != nil {
			t.Fatal(err)
		}
		// Stored, the NUL takes three bytes (U+FFFD), which puts the
		// two-byte ü across the 500-byte limit.
		xs := strings.Repeat("x", 485)
		msg := "Der Server \x00" + xs + "ü konnte nicht angelegt werden"
		if err := tb.svcs.RecordProvisionFailure(tb.ctx, id, plan, 1, errors.New(msg), false); err != nil {
			t.Fatalf("recording the failure: %v", err)
		}
		svc := tb.service(t, id)
		want := "Der Server \uFFFD" + xs
		if svc.ProvisionAttempts != 1 || svc.LastError != want {
			t.Errorf("attempts %d, last error %q; want 1 and %q", svc.ProvisionAttempts, svc.LastError, want)
		}
	})
}

// TestBackendCallsOfAServiceTakeTurns: a service terminated while its
// suspension's call is still under way at the backend is terminated after
// that call, never beside it: the backend ends terminated, as the service
// says. (When the two overlapped, the suspension could land last and leave
// the server suspended while the service read terminated.)
func TestBackendCallsOfAServiceTakeTurns(t *testing.T) {
	t.Parallel()
	databasetest.Each(t, func(t *testing.T, db *database.DB) {
		tb := setup(t, db, setupOpts{})
		acc := tb.account(t)
		plan := tb.plan(t, "vps-turns", 999, nil)
		tb.credit(t, acc, 5000)
		id := tb.order(t, acc, plan)
		tb.waitService(t, id, services.StatusActive)

		release := tb.prov.Hold(id, "suspend")
		defer release()
		if _, err := tb.svcs.Suspend(tb.ctx, id, services.SuspendAdmin, "abuse report"); err != nil {
			t.Fatal(err)
		}
		syncs := func() []*rivertype.JobRow {
			res, err := tb.engine.Client().JobList(tb.ctx, river.NewJobListParams().Kinds(services.SyncJob{}.Kind()).First(100))
			if err != nil {
				t.Fatal(err)
			}
			var mine []*rivertype.JobRow
			for _, j := range res.Jobs {
				var args services.SyncJob
				if err := json.Unmarshal(j.EncodedArgs, &args); err != nil {
					t.Fatal(err)
				}
				if args.ServiceID == id {
					mine = append(mine, j)
				}
			}
			return mine
		}
		testkit.WaitFor(t, "the suspension's call to be under way", func() bool { return tb.prov.Held(id, "suspend") })
		if _, err := tb.b.Terminate(tb.ctx, id, "test"); err != nil {
			t.Fatal(err)
		}
		// The termination's job runs while the suspension is held: it waits
		// its turn (its output counts the wait), or calls the backend.
		testkit.WaitFor(t, "the termination's job to wait or call", func() bool {
			if slices.Contains(tb.backend(t, id).Calls, "terminate") {
				return true
			}
			js := syncs()
			if len(js) != 2 {
				return false
			}
			var meta struct {
				Output struct {
					TurnWaits int `json:"turn_waits"`
				} `json:"output"`
			}
			return json.Unmarshal(js[1].Metadata, &meta) == nil && meta.Output.TurnWaits > 0
		})
		release()
		testkit.WaitFor(t, "both jobs to finish", func() bool {
			js := syncs()
			return len(js) == 2 && js[0].State == rivertype.JobStateCompleted && js[1].State == rivertype.JobStateCompleted
		})
		rec := tb.backend(t, id)
		if rec.State != "terminated" || len(rec.Calls) == 0 || rec.Calls[len(rec.Calls)-1] != "terminate" {
			t.Errorf("the backend is %s after the calls %v, want terminated last", rec.State, rec.Calls)
		}
		if svc := tb.service(t, id); svc.BackendState != "terminated" {
			t.Errorf("the service records the backend %s", svc.BackendState)
		}
	})
}
