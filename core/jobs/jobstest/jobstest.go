// Package jobstest holds the job engine's settings for tests that work
// jobs, so that every package's harness polls the same way.
package jobstest

import (
	"context"
	"testing"
	"time"

	"github.com/ezscale/platform/core/jobs"
)

// Working returns the engine's settings for a test whose jobs run.
//
// The fetch poll is what decides how soon a job inserted inside a
// transaction starts (River has no LISTEN on our drivers): a job waits on
// average half the interval. Under the race detector every idle poll is a
// query that costs milliseconds of CPU on SQLite, and a package's tests
// run dozens of engines at once; at 100 ms the polling stops being a
// fifth of a package's CPU time (core/billing: 137 s of CPU at 20 ms, 116 s
// at 100 ms) while a chain of a few jobs still takes well under a second.
func Working(workers int) jobs.Options {
	return jobs.Options{
		Workers:           workers,
		FetchCooldown:     10 * time.Millisecond,
		FetchPollInterval: 100 * time.Millisecond,
		RescueAfter:       time.Hour,
		DefaultTimeout:    time.Minute,
	}
}

// Start starts engine and stops it when the test ends (waiting up to ten
// seconds for its jobs to finish).
func Start(t testing.TB, engine *jobs.Engine) {
	t.Helper()
	if err := engine.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = engine.Stop(ctx)
	})
}
