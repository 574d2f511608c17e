package outbox

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"
	"github.com/uptrace/bun"

	"github.com/ezscale/platform/core/database"
	"github.com/ezscale/platform/core/jobs"
	"github.com/ezscale/platform/sdk"
)

// maxAttempts is how often a message is tried before it is failed.
const maxAttempts = 12

// leaseTime bounds one delivery attempt's hold on its message; it outlasts
// the delivery job's timeout, after which a crashed attempt's message is
// free again.
const leaseTime = 3 * time.Minute

type deliverArgs struct {
	MessageID string `json:"message_id"`
}

func (deliverArgs) Kind() string { return "outbox_deliver" }

// InsertOpts makes delivery jobs unique per message while one is live, so the
// sweep never races a retrying job into a double send.
func (deliverArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{
		MaxAttempts: maxAttempts,
		UniqueOpts: river.UniqueOpts{ByArgs: true, ByState: []rivertype.JobState{
			rivertype.JobStateAvailable, rivertype.JobStatePending, rivertype.JobStateRunning,
			rivertype.JobStateRetryable, rivertype.JobStateScheduled,
		}},
	}
}

type deliverWorker struct {
	river.WorkerDefaults[deliverArgs]
	o *Outbox
	// retryAfter carries a failed attempt's plugin hint from Work to
	// NextRetry, which River calls right after, by job id.
	retryAfter sync.Map
}

// NextRetry waits the backoff, or the plugin's retry-after when longer.
func (w *deliverWorker) NextRetry(job *river.Job[deliverArgs]) time.Time {
	d := w.o.retryDelay(job.Attempt)
	if v, ok := w.retryAfter.LoadAndDelete(job.ID); ok {
		d = max(d, v.(time.Duration))
	}
	return time.Now().Add(d)
}

func (w *deliverWorker) Timeout(*river.Job[deliverArgs]) time.Duration {
	return min(2*time.Minute, w.o.maxTimeout)
}

func (w *deliverWorker) Work(ctx context.Context, job *river.Job[deliverArgs]) error {
	m, err := w.o.Get(ctx, job.Args.MessageID)
	if database.IsNoRows(errors.Unwrap(err)) {
		return river.JobCancel(fmt.Errorf("message %s no longer exists", job.Args.MessageID))
	}
	if err != nil {
		return err
	}
	if m.Status != StatusPending {
		return nil // already delivered (a duplicate job after a sweep)
	}
	res, err := w.o.attempt(ctx, m, job.Attempt >= job.MaxAttempts)
	if err != nil {
		return err
	}
	switch {
	case res.permanent:
		return river.JobCancel(res.sendErr)
	case res.sendErr != nil && res.retryAfter > 0:
		w.retryAfter.Store(job.ID, res.retryAfter)
	}
	return res.sendErr
}

// attemptResult is the outcome of one delivery attempt.
type attemptResult struct {
	// skipped: no sender for the channel yet, or the Prepare hook
	// suppressed the message.
	skipped    bool
	sendErr    error
	permanent  bool
	retryAfter time.Duration
}

// attempt runs one delivery attempt of a pending message and records its
// outcome; last says whether a failure should fail the message for good.
// The returned error is the outbox's own (the database), not the send's.
func (o *Outbox) attempt(ctx context.Context, m *Message, last bool) (attemptResult, error) {
	s := o.sender(m.Channel)
	if s == nil {
		// Nothing to deliver with yet: the sweep re-enqueues pending
		// messages once a notifier is configured.
		return attemptResult{skipped: true}, nil
	}
	if o.prepare != nil {
		reason, err := o.prepare(ctx, m)
		if err != nil {
			return attemptResult{}, fmt.Errorf("outbox: preparing %s: %w", m.ID, err)
		}
		if reason != "" {
			_, err := o.db.NewUpdate().Model((*Message)(nil)).Where("id = ?", m.ID).Where("status = ?", StatusPending).
				Set("status = ?", StatusFailed).Set("last_error = ?", database.Text(SuppressedPrefix+reason, 500)).Exec(ctx)
			if err != nil {
				return attemptResult{}, fmt.Errorf("outbox: suppressing %s: %w", m.ID, err)
			}
			return attemptResult{skipped: true}, nil
		}
	}
	// Lease the message for this attempt: another job holding it (a batch
	// and a swept retry) means it is being sent right now.
	now := time.Now().UTC()
	claim, err := o.db.NewUpdate().Model((*Message)(nil)).Set("attempts = attempts + 1").Set("locked_until = ?", now.Add(leaseTime)).
		Where("id = ?", m.ID).Where("status = ?", StatusPending).
		WhereGroup(" AND ", func(q *bun.UpdateQuery) *bun.UpdateQuery {
			return q.Where("locked_until IS NULL").WhereOr("locked_until < ?", now)
		}).Exec(ctx)
	if err != nil {
		return attemptResult{}, fmt.Errorf("outbox: leasing %s: %w", m.ID, err)
	}
	if n, _ := claim.RowsAffected(); n == 0 {
		return attemptResult{skipped: true}, nil
	}
	// The plugin call happens outside any transaction.
	sendErr := s.Send(ctx, m)
	res := attemptResult{sendErr: sendErr, permanent: permanentFailure(sendErr), retryAfter: sdk.RetryAfterOf(sendErr)}
	q := o.db.NewUpdate().Model((*Message)(nil)).Where("id = ?", m.ID).Where("status = ?", StatusPending).
		Set("locked_until = NULL")
	switch {
	case errors.Is(sendErr, ErrNoSender):
		// Not an attempt: nothing could take the message (its notifier
		// is disabled). It stays pending and the sweep re-enqueues it.
		q = q.Set("attempts = attempts - 1").Set("last_error = ?", database.Text(sendErr.Error(), 500))
		res = attemptResult{skipped: true}
	case sendErr == nil:
		q = q.Set("status = ?", StatusSent).Set("sent_at = ?", time.Now().UTC()).Set("last_error = ''")
	case res.permanent || last:
		q = q.Set("status = ?", StatusFailed).Set("last_error = ?", database.Text(sendErr.Error(), 500))
	default:
		q = q.Set("last_error = ?", database.Text(sendErr.Error(), 500))
	}
	if _, err := q.Exec(ctx); err != nil {
		return res, fmt.Errorf("outbox: recording delivery of %s: %w", m.ID, err)
	}
	return res, nil
}

// batchArgs delivers the messages of a shared body whose ids lie between
// First and Last (EnqueueShared).
type batchArgs struct {
	BodyID string `json:"body_id"`
	First  string `json:"first"`
	Last   string `json:"last"`
}

func (batchArgs) Kind() string { return "outbox_deliver_batch" }

func (batchArgs) InsertOpts() river.InsertOpts { return river.InsertOpts{MaxAttempts: maxAttempts} }

type batchWorker struct {
	river.WorkerDefaults[batchArgs]
	o *Outbox
}

// Timeout leaves room for a batch of slow sends; a failing provider ends
// the batch early (see Work).
func (w *batchWorker) Timeout(*river.Job[batchArgs]) time.Duration {
	return min(20*time.Minute, w.o.maxTimeout)
}

// NextRetry uses the outbox's backoff for a batch that stopped early.
func (w *batchWorker) NextRetry(job *river.Job[batchArgs]) time.Time {
	return time.Now().Add(w.o.retryDelay(job.Attempt))
}

// consecutiveFailures ends a batch early: the provider is failing, so the
// rest of the batch waits for the batch's retry instead of failing one by
// one.
const consecutiveFailures = 3

// Work sends each message of the batch still pending and never tried. A
// message whose send fails gets a delivery job of its own (retried with
// backoff; a permanent error has already failed it); messages already sent
// or handed over are skipped when the batch is retried.
func (w *batchWorker) Work(ctx context.Context, job *river.Job[batchArgs]) error {
	a := job.Args
	var ms []Message
	if err := w.o.db.NewSelect().Model(&ms).Where("body_id = ?", a.BodyID).Where("id >= ?", a.First).Where("id <= ?", a.Last).
		Where("status = ?", StatusPending).Where("attempts = 0").Order("id").Scan(ctx); err != nil {
		return fmt.Errorf("outbox: loading batch %s..%s: %w", a.First, a.Last, err)
	}
	if len(ms) == 0 {
		return nil
	}
	b := &body{}
	if err := w.o.db.NewSelect().Model(b).Where("id = ?", a.BodyID).Scan(ctx); err != nil {
		return fmt.Errorf("outbox: loading body %s: %w", a.BodyID, err)
	}
	failures := 0
	// Keep the batch's budget short (a crashed replica's jobs are rescued
	// after the longest one): when it is nearly spent, the rest goes on in
	// a follow-up run of this job, which skips what was sent.
	reserve := min(20*time.Second, w.Timeout(job)/4)
	for i := range ms {
		if err := ctx.Err(); err != nil {
			return err
		}
		if i > 0 && jobs.Remaining(ctx) < reserve {
			return jobs.Continue()
		}
		m := &ms[i]
		m.BodyText, m.BodyHTML = b.BodyText, b.BodyHTML
		res, err := w.o.attempt(ctx, m, false)
		if err != nil {
			return err
		}
		if res.sendErr == nil || res.skipped {
			failures = 0
			continue
		}
		if res.permanent {
			continue // failed for good by attempt
		}
		failures++
		// The message's own job carries on from the second attempt.
		delay := max(w.o.retryDelay(1), res.retryAfter)
		if _, err := w.o.jobs.Insert(ctx, deliverArgs{MessageID: m.ID}, &river.InsertOpts{ScheduledAt: time.Now().Add(delay), MaxAttempts: maxAttempts - 1}); err != nil {
			return fmt.Errorf("outbox: handing %s to its own job: %w", m.ID, err)
		}
		if failures >= consecutiveFailures {
			return fmt.Errorf("outbox: %d deliveries in a row failed, last: %w", failures, res.sendErr)
		}
	}
	return nil
}

// permanentFailure reports errors that a retry cannot fix: marked with
// Permanent by the sender, or plugin errors whose kind is not retryable (a
// bad recipient or message, a deleted webhook, a channel the plugin lacks;
// sdk.ErrorKind.Retryable).
func permanentFailure(err error) bool {
	if err == nil {
		return false
	}
	return IsPermanent(err) || !sdk.IsRetryable(err)
}
