package services_test

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/riverqueue/river"
	"github.com/uptrace/bun"

	"github.com/ezscale/platform/core/accounts/accountstest"
	"github.com/ezscale/platform/core/apperr"
	"github.com/ezscale/platform/core/audit"
	"github.com/ezscale/platform/core/catalog"
	"github.com/ezscale/platform/core/catalog/catalogtest"
	"github.com/ezscale/platform/core/database"
	"github.com/ezscale/platform/core/database/databasetest"
	"github.com/ezscale/platform/core/jobs"
	"github.com/ezscale/platform/core/jobs/jobstest"
	"github.com/ezscale/platform/core/services"
	"github.com/ezscale/platform/core/services/servicestest"
	"github.com/ezscale/platform/core/testkit"
	"github.com/ezscale/platform/core/txwork"
	"github.com/ezscale/platform/sdk"
)

// bundle is the services domain over a real database, with a pending
// service of one account on one plan, and the status changes its hooks saw.
type bundle struct {
	db      *database.DB
	svcs    *services.Services
	work    txwork.Runner
	ctx     context.Context
	account string
	plan    string
	mu      sync.Mutex
	seen    []string // "<from>><to>", in order
}

// stored is a worker of a job kind the tests queue and never work.
type stored[T river.JobArgs] struct{ river.WorkerDefaults[T] }

func (*stored[T]) Work(context.Context, *river.Job[T]) error { return nil }

func setup(t *testing.T, db *database.DB) *bundle {
	t.Helper()
	reg := jobs.NewRegistry(time.Hour)
	clock := testkit.NewClock(time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC))
	b := &bundle{db: db, ctx: audit.WithMeta(context.Background(), audit.Meta{ActorType: audit.ActorSystem, ActorID: "test"})}
	cat := catalog.New(catalog.Deps{DB: db}, catalog.Options{Now: clock.Now})
	b.svcs = services.New(services.Deps{DB: db, Jobs: reg, Catalog: cat}, services.Options{Now: clock.Now, ProvisionMaxAttempts: 2})
	b.work = txwork.NewRunner(db, reg.Inserter())
	// The engine makes the inserter work; it is not started: the jobs
	// queued here (provisioning, readiness, syncs; core/provisioning works
	// them) are only stored.
	jobs.Add(reg, &stored[services.ProvisionJob]{})
	jobs.Add(reg, &stored[services.ReadyJob]{})
	jobs.Add(reg, &stored[services.SyncJob]{})
	if _, err := jobs.New(db, reg, jobstest.Working(1)); err != nil {
		t.Fatal(err)
	}
	b.svcs.OnStatus(func(_ context.Context, _ bun.Tx, svc *services.Service, from string) error {
		b.mu.Lock()
		defer b.mu.Unlock()
		b.seen = append(b.seen, from+">"+svc.Status)
		return nil
	})
	var err error
	if b.account, err = accountstest.Account(b.ctx, db, "owner@example.test"); err != nil {
		t.Fatal(err)
	}
	if b.plan, err = catalogtest.Plan(b.ctx, db, "testprov", 1000); err != nil {
		t.Fatal(err)
	}
	return b
}

// create makes a pending service as an order does.
func (b *bundle) create(t *testing.T) *services.Service {
	t.Helper()
	svc := &services.Service{ID: fmt.Sprintf("svc-%d", time.Now().UnixNano()), AccountID: b.account, PlanID: b.plan,
		Environment: services.EnvProduction, Options: "{}"}
	if err := b.work.Run(b.ctx, func(ctx context.Context, t *txwork.Tx) error { return b.svcs.CreateIn(ctx, t, svc) }); err != nil {
		t.Fatal(err)
	}
	return svc
}

// in runs fn on the service, locked, in one work transaction.
func (b *bundle) in(t *testing.T, id string, fn func(ctx context.Context, tx *txwork.Tx, svc *services.Service) error) *services.Service {
	t.Helper()
	var svc *services.Service
	err := b.work.Run(b.ctx, func(ctx context.Context, tx *txwork.Tx) error {
		var err error
		if svc, err = b.svcs.ServiceTx(ctx, tx, id, true); err != nil {
			return err
		}
		return fn(ctx, tx, svc)
	})
	if err != nil {
		t.Fatal(err)
	}
	return svc
}

func (b *bundle) statuses() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return slices.Clone(b.seen)
}

// TestStatusMachine follows one service from order to termination through
// the status machine: the hooks see each change once (and none for a
// status set again), the wanted-state version moves with each change,
// suspensions are counted by reason, and the end closes them.
func TestStatusMachine(t *testing.T) {
	t.Parallel()
	databasetest.Each(t, func(t *testing.T, db *database.DB) {
		b := setup(t, db)
		svc := b.create(t)
		if svc.Status != services.StatusPending || svc.Attributes != "{}" {
			t.Fatalf("created: status %q, attributes %q; want pending and {}", svc.Status, svc.Attributes)
		}
		svc = b.in(t, svc.ID, func(ctx context.Context, tx *txwork.Tx, s *services.Service) error {
			return b.svcs.StartProvisioningIn(ctx, tx, s)
		})
		svc = b.in(t, svc.ID, func(ctx context.Context, tx *txwork.Tx, s *services.Service) error {
			if err := b.svcs.SetStatusIn(ctx, tx, s, services.StatusActive); err != nil {
				return err
			}
			return b.svcs.SetStatusIn(ctx, tx, s, services.StatusActive) // again: no hook
		})
		if svc.StateVersion != 3 {
			t.Errorf("state version after three status writes = %d, want 3", svc.StateVersion)
		}

		// Two reasons: suspended while either is in force.
		for _, reason := range []string{services.SuspendAdmin, services.SuspendBudget, services.SuspendAdmin} {
			b.in(t, svc.ID, func(ctx context.Context, tx *txwork.Tx, s *services.Service) error {
				_, err := b.svcs.SuspendIn(ctx, tx, s, reason, "")
				return err
			})
		}
		reasons, err := b.svcs.ReasonsInForce(b.ctx, db.DB, svc.ID)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff([]string{services.SuspendAdmin, services.SuspendBudget}, reasons); diff != "" {
			t.Errorf("reasons in force (-want +got):\n%s", diff)
		}
		if _, err := b.svcs.Unsuspend(b.ctx, svc.ID, services.SuspendAbuse); apperr.CodeOf(err) != apperr.Unprocessable {
			t.Errorf("lifting a reason not in force: %v, want Unprocessable", err)
		}
		if svc, err = b.svcs.Unsuspend(b.ctx, svc.ID, services.SuspendAdmin); err != nil || svc.Status != services.StatusSuspended {
			t.Fatalf("after lifting one of two reasons: %v, %v; want still suspended", svc, err)
		}
		if svc, err = b.svcs.Unsuspend(b.ctx, svc.ID, services.SuspendBudget); err != nil || svc.Status != services.StatusActive {
			t.Fatalf("after lifting the last reason: %v, %v; want active", svc, err)
		}

		b.in(t, svc.ID, func(ctx context.Context, tx *txwork.Tx, s *services.Service) error {
			if _, err := b.svcs.SuspendIn(ctx, tx, s, services.SuspendAbuse, "report"); err != nil {
				return err
			}
			return b.svcs.EndIn(ctx, tx, s, services.StatusTerminated)
		})
		svc, err = b.svcs.Service(b.ctx, b.account, svc.ID)
		if err != nil {
			t.Fatal(err)
		}
		if svc.Status != services.StatusTerminated || svc.EndedAt == nil {
			t.Errorf("ended: status %q, ended at %v; want terminated with an end time", svc.Status, svc.EndedAt)
		}
		if open, err := b.svcs.Suspensions(b.ctx, svc.ID, true); err != nil || len(open) != 0 {
			t.Errorf("suspensions in force after the end: %v, %v; want none", open, err)
		}
		want := []string{"pending>provisioning", "provisioning>active", "active>suspended", "suspended>active",
			"active>suspended", "suspended>terminated"}
		if diff := cmp.Diff(want, b.statuses()); diff != "" {
			t.Errorf("status changes the hooks saw (-want +got):\n%s", diff)
		}
	})
}

// TestUpdateMovesTheWantedState: a new plan, add-on options or account is
// a new wanted state (the version moves); an empty update only touches the
// record's time; another account's service is not found by Service.
func TestUpdateMovesTheWantedState(t *testing.T) {
	t.Parallel()
	databasetest.Each(t, func(t *testing.T, db *database.DB) {
		b := setup(t, db)
		other, err := accountstest.Account(b.ctx, db, "other@example.test")
		if err != nil {
			t.Fatal(err)
		}
		bigger, err := catalogtest.Plan(b.ctx, db, "testprov", 2000)
		if err != nil {
			t.Fatal(err)
		}
		id, err := servicestest.Record(b.ctx, db, servicestest.Spec{AccountID: b.account, PlanID: b.plan})
		if err != nil {
			t.Fatal(err)
		}
		for _, step := range []struct {
			name    string
			update  services.Update
			version int
		}{
			{"nothing", services.Update{}, 0},
			{"the same plan", services.Update{PlanID: b.plan}, 0},
			{"a new plan", services.Update{PlanID: bigger}, 1},
			{"add-on options", services.Update{OptionsBumped: true}, 2},
			{"another account", services.Update{AccountID: other}, 3},
		} {
			svc := b.in(t, id, func(ctx context.Context, tx *txwork.Tx, s *services.Service) error {
				return b.svcs.UpdateIn(ctx, tx, s, step.update)
			})
			if svc.StateVersion != step.version {
				t.Errorf("after %s: state version %d, want %d", step.name, svc.StateVersion, step.version)
			}
		}
		svc, err := b.svcs.Service(b.ctx, other, id)
		if err != nil {
			t.Fatal(err)
		}
		if svc.PlanID != bigger || svc.OptionsVersion != 1 {
			t.Errorf("stored: plan %s, options version %d; want %s and 1", svc.PlanID, svc.OptionsVersion, bigger)
		}
		if _, err := b.svcs.Service(b.ctx, b.account, id); apperr.CodeOf(err) != apperr.NotFound {
			t.Errorf("the former account's read: %v, want NotFound", err)
		}
	})
}

// TestFinalProvisioningFailureRunsItsReactions: a retried failure records
// the attempt only; a final one fails the service and runs the failure
// reactions once, the account lock before the service's.
func TestFinalProvisioningFailureRunsItsReactions(t *testing.T) {
	t.Parallel()
	databasetest.Each(t, func(t *testing.T, db *database.DB) {
		b := setup(t, db)
		var calls []string
		b.svcs.OnProvisioningFailed(services.FailureReaction{
			LockAccount: func(_ context.Context, _ bun.Tx, accountID string) error {
				calls = append(calls, "lock "+accountID)
				return nil
			},
			Failed: func(_ context.Context, _ *txwork.Tx, svc *services.Service) error {
				calls = append(calls, "failed "+svc.Status)
				return nil
			},
		})
		svc := b.create(t)
		b.in(t, svc.ID, func(ctx context.Context, tx *txwork.Tx, s *services.Service) error {
			return b.svcs.StartProvisioningIn(ctx, tx, s)
		})
		plan := &catalog.Plan{ID: b.plan, Plugin: "testprov", Name: "Plan"}
		cause := sdk.Errorf(sdk.Unavailable, "the backend is down")
		if err := b.svcs.RecordProvisionFailure(b.ctx, svc.ID, plan, 1, cause, false); err != nil {
			t.Fatal(err)
		}
		if len(calls) != 0 {
			t.Errorf("a retried failure ran the reactions: %v", calls)
		}
		if err := b.svcs.RecordProvisionFailure(b.ctx, svc.ID, plan, 2, cause, true); err != nil {
			t.Fatal(err)
		}
		// A failure recorded again (a retried job) finds it failed already.
		if err := b.svcs.RecordProvisionFailure(b.ctx, svc.ID, plan, 2, cause, true); err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff([]string{"lock " + b.account, "failed failed", "lock " + b.account}, calls); diff != "" {
			t.Errorf("reaction calls (-want +got):\n%s", diff)
		}
		got, err := b.svcs.Service(b.ctx, "", svc.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.Status != services.StatusFailed || got.ProvisionAttempts != 2 || got.LastError == "" {
			t.Errorf("failed service: status %q, attempts %d, last error %q", got.Status, got.ProvisionAttempts, got.LastError)
		}
		if _, err := b.svcs.Service(b.ctx, "", "no-such-service"); apperr.CodeOf(err) != apperr.NotFound {
			t.Errorf("a missing service: %v, want NotFound", err)
		}
	})
}
