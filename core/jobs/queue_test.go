package jobs_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/riverqueue/river"

	"github.com/ezscale/platform/core/database"
	"github.com/ezscale/platform/core/database/databasetest"
	"github.com/ezscale/platform/core/jobs"
	"github.com/ezscale/platform/core/testkit"
)

type flakyArgs struct{}

func (flakyArgs) Kind() string { return "test_flaky" }

func (flakyArgs) InsertOpts() river.InsertOpts { return river.InsertOpts{MaxAttempts: 1} }

// flakyWorker fails until healed.
type flakyWorker struct {
	river.WorkerDefaults[flakyArgs]
	healed *atomic.Bool
	done   chan struct{}
}

func (w *flakyWorker) Work(context.Context, *river.Job[flakyArgs]) error {
	if !w.healed.Load() {
		return errors.New("backend down")
	}
	w.done <- struct{}{}
	return nil
}

func (w *flakyWorker) Timeout(*river.Job[flakyArgs]) time.Duration { return time.Minute }

// TestFailedJobsCanBeSeenAndRetried: a job that exhausts its attempts shows
// as failed in the stats and the failed list with its error, and an
// operator's retry runs it again.
func TestFailedJobsCanBeSeenAndRetried(t *testing.T) {
	t.Parallel()
	databasetest.Each(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		var healed atomic.Bool
		w := &flakyWorker{healed: &healed, done: make(chan struct{}, 1)}
		reg := jobs.NewRegistry(time.Hour)
		jobs.Add(reg, w)
		engine, err := jobs.New(db, reg, options())
		if err != nil {
			t.Fatal(err)
		}
		res, err := engine.Insert(ctx, flakyArgs{}, nil)
		if err != nil {
			t.Fatal(err)
		}
		if err := engine.Start(ctx); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			c, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			_ = engine.Stop(c)
		})
		var failed []jobs.FailedJob
		testkit.WaitFor(t, "the job to be discarded", func() bool {
			failed, err = engine.Failed(ctx, "test_flaky", 0, 10)
			if err != nil {
				t.Fatal(err)
			}
			return len(failed) == 1 && failed[0].State == "discarded"
		})
		if len(failed) != 1 || failed[0].ID != res.Job.ID || failed[0].LastError != "backend down" {
			t.Fatalf("failed list = %+v", failed)
		}
		stats, err := jobs.Stats(ctx, db, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		want := []jobs.KindStats{{Kind: "test_flaky", Failed: 1}}
		if diff := cmp.Diff(want, stats); diff != "" {
			t.Errorf("stats (-want +got):\n%s", diff)
		}
		healed.Store(true)
		if err := engine.Retry(ctx, res.Job.ID); err != nil {
			t.Fatal(err)
		}
		select {
		case <-w.done:
		case <-time.After(30 * time.Second):
			t.Fatal("the retried job did not run")
		}
		if err := engine.Retry(ctx, 999999); err == nil {
			t.Error("retrying an unknown job succeeded")
		}
	})
}

// TestStatsShowsOldestPending: due jobs nobody works are pending, with age.
func TestStatsShowsOldestPending(t *testing.T) {
	t.Parallel()
	databasetest.Each(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		reg := jobs.NewRegistry(time.Hour)
		jobs.Add(reg, &pingWorker{done: make(chan string, 10)})
		engine, err := jobs.New(db, reg, options())
		if err != nil {
			t.Fatal(err)
		}
		for range 3 {
			if _, err := engine.Insert(ctx, pingArgs{Marker: "x"}, nil); err != nil {
				t.Fatal(err)
			}
		}
		stats, err := jobs.Stats(ctx, db, time.Now().Add(time.Minute))
		if err != nil {
			t.Fatal(err)
		}
		if len(stats) != 1 || stats[0].Pending != 3 || stats[0].OldestPendingSeconds < 59 || stats[0].OldestPendingSeconds > 120 {
			t.Fatalf("stats = %+v, want 3 pending about a minute old", stats)
		}
	})
}
