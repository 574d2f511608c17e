package jobs

import (
	"context"
	"errors"
	"time"

	"github.com/riverqueue/river"
)

// Long work is split into follow-ups rather than given a long timeout: a
// long timeout is also how long the work of a crashed replica waits to be
// rescued. A job that runs out of budget with work left stops between
// batches and returns Continue, or enqueues a follow-up job carrying its
// cursor.

// Continue is what a job returns when its budget is nearly spent and work
// is left: River runs it again at once (on any replica) without counting
// an attempt — a snooze — and the new run continues from what the first
// committed. Only for jobs whose work is "whatever is still to do".
func Continue() error { return river.JobSnooze(0) }

// Remaining is the time left before ctx's deadline (the job's timeout);
// a day without a deadline.
func Remaining(ctx context.Context) time.Duration {
	d, ok := ctx.Deadline()
	if !ok {
		return 24 * time.Hour
	}
	return time.Until(d)
}

// Reserve returns a context whose deadline is reserve (at most a quarter of
// the time left) before ctx's, so that work under it stops in time for the
// job to record what it did.
func Reserve(ctx context.Context, reserve time.Duration) (context.Context, context.CancelFunc) {
	d, ok := ctx.Deadline()
	if !ok {
		return context.WithCancel(ctx)
	}
	return context.WithDeadline(ctx, d.Add(-min(reserve, time.Until(d)/4)))
}

// Cut reports whether work under the Reserve context work ended because
// its deadline passed while the job's own context (ctx) is still live: the
// budget ran out, not the job.
func Cut(ctx, work context.Context) bool {
	return ctx.Err() == nil && errors.Is(work.Err(), context.DeadlineExceeded)
}
