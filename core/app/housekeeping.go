package app

import (
	"context"
	"time"

	"github.com/riverqueue/river"

	"github.com/ezscale/platform/core/accounts"
	"github.com/ezscale/platform/core/database"
	"github.com/ezscale/platform/core/httpapi"
	"github.com/ezscale/platform/core/jobs"
	"github.com/ezscale/platform/core/ratelimit"
)

// housekeepingArgs prunes expired rate-limit windows, old login-failure
// records and Idempotency-Key records (kept 24 h) once an hour.
type housekeepingArgs struct{}

func (housekeepingArgs) Kind() string { return "housekeeping" }

type housekeepingWorker struct {
	river.WorkerDefaults[housekeepingArgs]
	db      *database.DB
	limiter *ratelimit.Limiter
	timeout time.Duration
}

func (w *housekeepingWorker) Timeout(*river.Job[housekeepingArgs]) time.Duration {
	return w.timeout
}

func (w *housekeepingWorker) Work(ctx context.Context, _ *river.Job[housekeepingArgs]) error {
	if _, err := w.limiter.Prune(ctx, time.Now().Add(-48*time.Hour)); err != nil {
		return err
	}
	if _, err := accounts.PruneLoginThrottles(ctx, w.db, time.Now().Add(-48*time.Hour)); err != nil {
		return err
	}
	_, err := httpapi.PruneIdempotencyKeys(ctx, w.db)
	return err
}

func registerHousekeeping(reg *jobs.Registry, db *database.DB, limiter *ratelimit.Limiter) {
	jobs.Add(reg, &housekeepingWorker{db: db, limiter: limiter, timeout: min(10*time.Minute, reg.MaxTimeout())})
	reg.Periodic("housekeeping", time.Hour, func() river.JobArgs { return housekeepingArgs{} })
}
