package payments

import (
	"context"
	"time"

	"github.com/riverqueue/river"
)

// gatewayJob is the one shape of the jobs that call the payment gateway
// (an invoice's charge, a top-up's charge, a refund): each attempt may take
// two minutes (capped below the engine's rescue horizon), a failed attempt
// is retried after billing's backoff, and work does the job, calling the
// gateway outside any transaction with a key derived from what it is for,
// so a retried attempt charges or refunds once.
type gatewayJob[A river.JobArgs] struct {
	river.WorkerDefaults[A]
	s    *Payments
	work func(ctx context.Context, job *river.Job[A]) error
}

func (w *gatewayJob[A]) Timeout(*river.Job[A]) time.Duration {
	return w.s.billing.JobTimeout(2 * time.Minute)
}

func (w *gatewayJob[A]) NextRetry(job *river.Job[A]) time.Time {
	return w.s.billing.NextRetry(job.Attempt)
}

func (w *gatewayJob[A]) Work(ctx context.Context, job *river.Job[A]) error { return w.work(ctx, job) }
