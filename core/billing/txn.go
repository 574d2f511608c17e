package billing

import (
	"context"

	"github.com/riverqueue/river"
	"github.com/uptrace/bun"

	"github.com/ezscale/platform/core/audit"
)

// txn is a transaction with the audit events and jobs its work produces.
// Events are appended when the work is done, as the transaction's last
// writes, so the audit chain's head lock is held as briefly as possible.
type txn struct {
	bun.Tx
	events []audit.Event
	jobs   []river.InsertManyParams
}

// audit queues an event for the end of the transaction.
func (t *txn) audit(action, accountID, targetType, targetID string, changes map[string]any) {
	t.events = append(t.events, audit.Event{Action: action, AccountID: accountID, TargetType: targetType, TargetID: targetID, Changes: changes})
}

// enqueue queues a job inserted with the transaction.
func (t *txn) enqueue(args river.JobArgs, opts *river.InsertOpts) {
	t.jobs = append(t.jobs, river.InsertManyParams{Args: args, InsertOpts: opts})
}

// inTx runs fn in the ambient transaction or a new one, then inserts the
// queued jobs and appends the queued audit events.
func (b *Billing) inTx(ctx context.Context, fn func(ctx context.Context, t *txn) error) error {
	return b.db.Tx(ctx, func(ctx context.Context, tx bun.Tx) error {
		t := &txn{Tx: tx}
		if err := fn(ctx, t); err != nil {
			return err
		}
		return b.finish(ctx, t)
	})
}

// join wraps a caller's transaction for the exported *Tx methods.
func (b *Billing) join(ctx context.Context, tx bun.Tx, fn func(t *txn) error) error {
	t := &txn{Tx: tx}
	if err := fn(t); err != nil {
		return err
	}
	return b.finish(ctx, t)
}

func (b *Billing) finish(ctx context.Context, t *txn) error {
	// Unique jobs are deduplicated by the insert (ON CONFLICT DO NOTHING
	// on their unique key), in batches as in one.
	if err := b.jobs.InsertManyTx(ctx, t.Tx, t.jobs); err != nil {
		return err
	}
	t.jobs = nil
	for _, ev := range t.events {
		if _, err := audit.Append(ctx, t.Tx, ev); err != nil {
			return err
		}
	}
	t.events = nil
	return nil
}
