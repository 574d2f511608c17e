package notify

import (
	"context"
	"fmt"
	"time"

	"github.com/riverqueue/river"

	"github.com/ezscale/platform/core/jobs"
)

func (s *Service) registerJobs(reg *jobs.Registry) {
	jobs.Add(reg, &pruneWorker{s: s})
	reg.Periodic("notify_prune", time.Hour, func() river.JobArgs { return pruneArgs{} })
}

// pruneArgs drops read-state signals older than a day (streams read them
// within seconds).
type pruneArgs struct{}

func (pruneArgs) Kind() string { return "notify_prune" }

type pruneWorker struct {
	river.WorkerDefaults[pruneArgs]
	s *Service
}

func (w *pruneWorker) Timeout(*river.Job[pruneArgs]) time.Duration {
	return min(5*time.Minute, w.s.maxTimeout)
}

func (w *pruneWorker) Work(ctx context.Context, _ *river.Job[pruneArgs]) error {
	_, err := w.s.db.NewDelete().TableExpr("notification_signals").Where("created_at < ?", w.s.now().Add(-24*time.Hour)).Exec(ctx)
	if err != nil {
		return fmt.Errorf("notify: pruning signals: %w", err)
	}
	_, err = w.s.Prune(ctx)
	return err
}
