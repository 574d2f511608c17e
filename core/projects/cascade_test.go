package projects_test

import (
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/uptrace/bun"

	"github.com/ezscale/platform/core/database"
	"github.com/ezscale/platform/core/database/databasetest"
	"github.com/ezscale/platform/core/notify"
	"github.com/ezscale/platform/core/projects"
)

// notice is what a test compares of a cascade notice.
type notice struct {
	Type    notify.Type
	Service string
	Root    string
	Reason  string
}

func summarise(evs []notify.Event) []notice {
	out := make([]notice, len(evs))
	for i, ev := range evs {
		out[i] = notice{Type: ev.Type, Service: ev.Data["service_id"].(string), Root: ev.Data["root_id"].(string), Reason: ev.Data["reason"].(string)}
	}
	slices.SortFunc(out, func(a, b notice) int {
		if a.Type != b.Type {
			return compare(string(a.Type), string(b.Type))
		}
		return compare(a.Service, b.Service)
	})
	return out
}

func compare(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func notices(typ notify.Type, root, reason string, services ...string) []notice {
	slices.Sort(services)
	out := make([]notice, len(services))
	for i, s := range services {
		out[i] = notice{Type: typ, Service: s, Root: root, Reason: reason}
	}
	return out
}

// cascade runs the cascade job's work for root and returns the notices it
// sent.
func (tb *testBundle) cascade(t *testing.T, root string) []notice {
	t.Helper()
	if _, err := tb.p.Cascade(tb.ctx, tb.a.AccountID, root); err != nil {
		t.Fatal(err)
	}
	return summarise(tb.notices.take())
}

func (tb *testBundle) queuedCascades(t *testing.T) int {
	t.Helper()
	n, err := tb.db.NewSelect().Table("river_job").Where("kind = ?", projects.KindCascade).Count(tb.ctx)
	if err != nil {
		t.Fatal(err)
	}
	return int(n)
}

// TestCascadeAlertsAlongAChain: with C → B → A (C depends on B, B on A), a
// suspension of A queues the cascade job in the suspension's transaction
// and tells B and C once each, naming A and why; while A is still down,
// another down event (suspended again, its health check failing) queues
// nothing and a repeated run tells nobody again; when A is active again,
// B and C get one recovery notice each, and only once.
func TestCascadeAlertsAlongAChain(t *testing.T) {
	t.Parallel()
	databasetest.Each(t, func(t *testing.T, db *database.DB) {
		tb := setup(t, db)
		svc := tb.services(t, tb.a, 3)
		a, b, c := svc[0], svc[1], svc[2]
		tb.depend(t, b, a)
		tb.depend(t, c, b)

		if _, err := tb.svcs.Suspend(tb.ctx, a, "staff", ""); err != nil {
			t.Fatal(err)
		}
		if got := tb.queuedCascades(t); got != 1 {
			t.Errorf("cascade jobs queued by the suspension: %d, want 1", got)
		}
		if diff := cmp.Diff(notices(notify.DependencyDown, a, "suspended", b, c), tb.cascade(t, a)); diff != "" {
			t.Errorf("down notices (-want +got):\n%s", diff)
		}

		// Still down: nothing new is queued or told.
		if _, err := tb.svcs.Suspend(tb.ctx, a, "overdue", ""); err != nil {
			t.Fatal(err)
		}
		err := db.Tx(tb.ctx, func(ctx context.Context, tx bun.Tx) error {
			return tb.p.ServiceDown(ctx, tx, tb.a.AccountID, a, projects.CauseHealthCheck, "failed its http health check (timeout)")
		})
		if err != nil {
			t.Fatal(err)
		}
		if got := tb.queuedCascades(t); got != 1 {
			t.Errorf("cascade jobs queued while still down: %d, want 1", got)
		}
		if diff := cmp.Diff([]notice{}, tb.cascade(t, a)); diff != "" {
			t.Errorf("a repeated run told (-want +got):\n%s", diff)
		}

		// The health check passing is not a recovery while A is suspended.
		err = db.Tx(tb.ctx, func(ctx context.Context, tx bun.Tx) error {
			return tb.p.ServiceUp(ctx, tx, tb.a.AccountID, a, projects.CauseHealthCheck)
		})
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff([]notice{}, tb.cascade(t, a)); diff != "" {
			t.Errorf("told while still suspended (-want +got):\n%s", diff)
		}
		for _, reason := range []string{"staff", "overdue"} {
			if _, err := tb.svcs.Unsuspend(tb.ctx, a, reason); err != nil {
				t.Fatal(err)
			}
		}
		if got := tb.queuedCascades(t); got != 2 {
			t.Errorf("cascade jobs queued after the recovery: %d, want 2", got)
		}
		if diff := cmp.Diff(notices(notify.DependencyRecovered, a, "", b, c), tb.cascade(t, a)); diff != "" {
			t.Errorf("recovery notices (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff([]notice{}, tb.cascade(t, a)); diff != "" {
			t.Errorf("a repeated run after the recovery told (-want +got):\n%s", diff)
		}

		// A second outage is news again.
		err = db.Tx(tb.ctx, func(ctx context.Context, tx bun.Tx) error {
			return tb.p.ServiceDown(ctx, tx, tb.a.AccountID, a, projects.CauseHealthCheck, "failed its tcp health check (connection refused)")
		})
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(notices(notify.DependencyDown, a, "failed its tcp health check (connection refused)", b, c), tb.cascade(t, a)); diff != "" {
			t.Errorf("second outage's notices (-want +got):\n%s", diff)
		}
	})
}

// TestCascadeAlertsInADiamond: A depends on B and C, which both depend on
// D. When D goes down, A, B and C are told once each (A not once per
// path), naming D; D's recovery tells the same three once each.
func TestCascadeAlertsInADiamond(t *testing.T) {
	t.Parallel()
	databasetest.Each(t, func(t *testing.T, db *database.DB) {
		tb := setup(t, db)
		svc := tb.services(t, tb.a, 5)
		a, b, c, d, bystander := svc[0], svc[1], svc[2], svc[3], svc[4]
		tb.depend(t, a, b)
		tb.depend(t, a, c)
		tb.depend(t, b, d)
		tb.depend(t, c, d)
		tb.depend(t, d, bystander) // what D depends on is not affected

		down := func(ctx context.Context, tx bun.Tx) error {
			return tb.p.ServiceDown(ctx, tx, tb.a.AccountID, d, projects.CauseHealthCheck, "failed its ping health check (no reply)")
		}
		if err := db.Tx(tb.ctx, down); err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(notices(notify.DependencyDown, d, "failed its ping health check (no reply)", a, b, c), tb.cascade(t, d)); diff != "" {
			t.Errorf("down notices (-want +got):\n%s", diff)
		}
		err := db.Tx(tb.ctx, func(ctx context.Context, tx bun.Tx) error {
			return tb.p.ServiceUp(ctx, tx, tb.a.AccountID, d, projects.CauseHealthCheck)
		})
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(notices(notify.DependencyRecovered, d, "", a, b, c), tb.cascade(t, d)); diff != "" {
			t.Errorf("recovery notices (-want +got):\n%s", diff)
		}
	})
}

// TestCascadeAlertsAreNeitherLostNorRepeated: a run whose notification
// fails part-way records nothing, so the job's retry tells every
// dependent, once.
func TestCascadeAlertsAreNeitherLostNorRepeated(t *testing.T) {
	t.Parallel()
	databasetest.Each(t, func(t *testing.T, db *database.DB) {
		tb := setup(t, db)
		svc := tb.services(t, tb.a, 3)
		root, x, y := svc[0], svc[1], svc[2]
		tb.depend(t, x, root)
		tb.depend(t, y, root)
		err := db.Tx(tb.ctx, func(ctx context.Context, tx bun.Tx) error {
			return tb.p.ServiceDown(ctx, tx, tb.a.AccountID, root, projects.CauseFailed, "provisioning failed")
		})
		if err != nil {
			t.Fatal(err)
		}
		boom := errors.New("notification center unavailable")
		tb.notices.failFunc = func(ev notify.Event) error {
			if ev.Data["service_id"] == y {
				return boom
			}
			return nil
		}
		if _, err := tb.p.Cascade(tb.ctx, tb.a.AccountID, root); !errors.Is(err, boom) {
			t.Fatalf("cascade error %v, want %v", err, boom)
		}
		tb.notices.take() // x's notice was rolled back with the run
		tb.notices.failFunc = nil
		if diff := cmp.Diff(notices(notify.DependencyDown, root, "provisioning failed", x, y), tb.cascade(t, root)); diff != "" {
			t.Errorf("the retry's notices (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff([]notice{}, tb.cascade(t, root)); diff != "" {
			t.Errorf("a run after the retry told (-want +got):\n%s", diff)
		}
	})
}
