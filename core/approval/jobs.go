package approval

import (
	"context"
	"time"

	"github.com/riverqueue/river"
)

type expireArgs struct{}

func (expireArgs) Kind() string { return "approval_expire" }

// expireWorker expires pending approvals past their TTL.
type expireWorker struct {
	river.WorkerDefaults[expireArgs]
	s *Service
}

func (w *expireWorker) Timeout(*river.Job[expireArgs]) time.Duration { return time.Minute }

func (w *expireWorker) Work(ctx context.Context, _ *river.Job[expireArgs]) error {
	_, err := w.s.ExpireDue(ctx)
	return err
}
