package jobs_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/riverqueue/river"
	"github.com/uptrace/bun"

	"github.com/ezscale/platform/core/database"
	"github.com/ezscale/platform/core/database/databasetest"
	"github.com/ezscale/platform/core/jobs"
	"github.com/ezscale/platform/core/testkit"
)

type pingArgs struct {
	Marker string `json:"marker"`
}

func (pingArgs) Kind() string { return "test_ping" }

type pingWorker struct {
	river.WorkerDefaults[pingArgs]
	done chan string
}

func (w *pingWorker) Work(ctx context.Context, job *river.Job[pingArgs]) error {
	w.done <- job.Args.Marker
	return nil
}

func (w *pingWorker) Timeout(*river.Job[pingArgs]) time.Duration { return time.Minute }

func options() jobs.Options {
	return jobs.Options{Workers: 10, FetchCooldown: 10 * time.Millisecond, FetchPollInterval: 50 * time.Millisecond, RescueAfter: time.Hour, DefaultTimeout: time.Minute}
}

// TestInsertTxFollowsTheTransaction: a rolled-back transaction leaves no job;
// a committed one leaves exactly one, which runs.
func TestInsertTxFollowsTheTransaction(t *testing.T) {
	t.Parallel()
	databasetest.Each(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		w := &pingWorker{done: make(chan string, 10)}
		reg := jobs.NewRegistry(time.Hour)
		jobs.Add(reg, w)
		engine, err := jobs.New(db, reg, options())
		if err != nil {
			t.Fatal(err)
		}
		errRollback := errors.New("roll back")
		err = db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
			if _, err := engine.InsertTx(ctx, tx, pingArgs{Marker: "rolled-back"}, nil); err != nil {
				return err
			}
			return errRollback
		})
		if !errors.Is(err, errRollback) {
			t.Fatalf("RunInTx: %v", err)
		}
		err = db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
			_, err := engine.InsertTx(ctx, tx, pingArgs{Marker: "committed"}, nil)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		var n int
		if err := db.NewSelect().Table("river_job").ColumnExpr("count(*)").Scan(ctx, &n); err != nil {
			t.Fatal(err)
		}
		if n != 1 {
			t.Fatalf("river_job has %d rows, want 1 (the rolled-back insert must leave nothing)", n)
		}
		if err := engine.Start(ctx); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			stopCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			_ = engine.Stop(stopCtx)
		})
		select {
		case got := <-w.done:
			if got != "committed" {
				t.Fatalf("worked %q, want committed", got)
			}
		case <-time.After(30 * time.Second):
			t.Fatal("the committed job never ran")
		}
		select {
		case got := <-w.done:
			t.Fatalf("a second job ran: %q", got)
		case <-time.After(200 * time.Millisecond):
		}
	})
}

type slowArgs struct{}

func (slowArgs) Kind() string { return "test_slow" }

type slowWorker struct{ river.WorkerDefaults[slowArgs] }

func (slowWorker) Work(context.Context, *river.Job[slowArgs]) error { return nil }
func (slowWorker) Timeout(*river.Job[slowArgs]) time.Duration       { return 2 * time.Hour }

// TestTimeoutAboveRescueHorizonIsCapped: a kind's budget never reaches the
// rescue horizon, or River would start a second copy of a running job.
func TestTimeoutAboveRescueHorizonIsCapped(t *testing.T) {
	t.Parallel()
	reg := jobs.NewRegistry(time.Hour)
	jobs.Add(reg, slowWorker{})
	if got := reg.Kinds()["test_slow"]; got >= time.Hour || got != reg.MaxTimeout() {
		t.Fatalf("timeout of a 2 h kind under a 1 h horizon = %s, want the cap %s", got, reg.MaxTimeout())
	}
	if diff := cmp.Diff([]string{"test_slow"}, reg.Capped()); diff != "" {
		t.Errorf("Capped (-want +got):\n%s", diff)
	}
}

type tickArgs struct{}

func (tickArgs) Kind() string { return "test_tick" }

type tickWorker struct {
	river.WorkerDefaults[tickArgs]
	n *atomic.Int64
}

func (w tickWorker) Work(context.Context, *river.Job[tickArgs]) error { w.n.Add(1); return nil }

// TestPeriodicRunsOnStart checks that registered periodic jobs are scheduled.
func TestPeriodicRunsOnStart(t *testing.T) {
	t.Parallel()
	databasetest.Each(t, func(t *testing.T, db *database.DB) {
		var n atomic.Int64
		reg := jobs.NewRegistry(time.Hour)
		jobs.Add(reg, tickWorker{n: &n})
		reg.Periodic("tick", time.Hour, func() river.JobArgs { return tickArgs{} })
		engine, err := jobs.New(db, reg, options())
		if err != nil {
			t.Fatal(err)
		}
		if err := engine.Start(context.Background()); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			_ = engine.Stop(ctx)
		})
		testkit.WaitFor(t, "the periodic job to run", func() bool { return n.Load() > 0 })
		if n.Load() != 1 {
			t.Fatalf("periodic job ran %d times, want 1", n.Load())
		}
	})
}

// TestRescueAfterDerived: without a configured rescue horizon, kinds are
// held to DerivedMaxTimeout and the horizon is the longest timeout plus a
// margin, so a crashed replica's jobs are rescued within minutes; a
// configured horizon is kept.
func TestRescueAfterDerived(t *testing.T) {
	t.Parallel()
	reg := jobs.NewRegistry(0)
	jobs.Add(reg, &pingWorker{})
	jobs.Add(reg, slowWorker{})
	if diff := cmp.Diff([]string{"test_slow"}, reg.Capped()); diff != "" {
		t.Errorf("capped kinds (-want +got)\n%s", diff)
	}
	if got, want := reg.RescueAfter(90*time.Second), jobs.DerivedMaxTimeout+30*time.Second; got != want {
		t.Errorf("derived rescue_after %s, want %s", got, want)
	}
	if got := jobs.NewRegistry(time.Hour).RescueAfter(time.Minute); got != time.Hour {
		t.Errorf("configured rescue_after %s, want 1h", got)
	}
	databasetest.Each(t, func(t *testing.T, db *database.DB) {
		reg := jobs.NewRegistry(0)
		jobs.Add(reg, &pingWorker{})
		opts := options()
		opts.RescueAfter, opts.DefaultTimeout = 0, 30*time.Second
		engine, err := jobs.New(db, reg, opts)
		if err != nil {
			t.Fatal(err)
		}
		if got := engine.RescueAfter(); got != 90*time.Second {
			t.Errorf("engine rescue_after %s, want the ping's minute plus 30 s", got)
		}
	})
}

type longArgs struct{}

func (longArgs) Kind() string { return "test_long" }

// longWorker has more work than one budget: its first run works until
// its reserved deadline and continues; the follow-up finishes.
type longWorker struct {
	river.WorkerDefaults[longArgs]
	runs     atomic.Int64
	attempts chan int
}

func (w *longWorker) Timeout(*river.Job[longArgs]) time.Duration { return time.Second }

func (w *longWorker) Work(ctx context.Context, job *river.Job[longArgs]) error {
	w.attempts <- job.Attempt
	if w.runs.Add(1) > 1 {
		return nil
	}
	work, cancel := jobs.Reserve(ctx, time.Minute)
	defer cancel()
	<-work.Done()
	if !jobs.Cut(ctx, work) {
		return errors.New("the reserved deadline did not come before the job's")
	}
	return jobs.Continue()
}

// TestContinueIsAFollowUp: a job whose budget runs out with work left
// continues in a follow-up run at once, without spending an attempt.
func TestContinueIsAFollowUp(t *testing.T) {
	t.Parallel()
	databasetest.Each(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		w := &longWorker{attempts: make(chan int, 10)}
		reg := jobs.NewRegistry(time.Hour)
		jobs.Add(reg, w)
		engine, err := jobs.New(db, reg, options())
		if err != nil {
			t.Fatal(err)
		}
		if _, err := engine.Insert(ctx, longArgs{}, nil); err != nil {
			t.Fatal(err)
		}
		if err := engine.Start(ctx); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			stopCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			_ = engine.Stop(stopCtx)
		})
		if diff := cmp.Diff([]int{1, 1}, []int{<-w.attempts, <-w.attempts}); diff != "" {
			t.Errorf("attempts of the two runs (-want +got)\n%s", diff)
		}
	})
}
