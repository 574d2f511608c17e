// Package txwork is a database transaction that carries the audit events
// and the jobs its work produces, written as the transaction's last
// statements. Billing and payments share it: their work touches many rows
// and the audit chain's head lock, taken by the first appended event, is
// then held only for the end of the transaction.
package txwork

import (
	"context"

	"github.com/riverqueue/river"
	"github.com/uptrace/bun"

	"github.com/ezscale/platform/core/audit"
	"github.com/ezscale/platform/core/database"
	"github.com/ezscale/platform/core/jobs"
)

// Tx is a transaction with the audit events and jobs its work produces.
type Tx struct {
	bun.Tx
	events []audit.Event
	jobs   []river.InsertManyParams
}

// Audit queues an event for the end of the transaction.
func (t *Tx) Audit(action, accountID, targetType, targetID string, changes map[string]any) {
	t.AuditEvent(audit.Event{Action: action, AccountID: accountID, TargetType: targetType, TargetID: targetID, Changes: changes})
}

// AuditEvent queues a whole event (a failure, say) for the end of the
// transaction.
func (t *Tx) AuditEvent(ev audit.Event) { t.events = append(t.events, ev) }

// Enqueue queues a job inserted with the transaction.
func (t *Tx) Enqueue(args river.JobArgs, opts *river.InsertOpts) {
	t.jobs = append(t.jobs, river.InsertManyParams{Args: args, InsertOpts: opts})
}

// Runner opens the transactions of one domain.
type Runner struct {
	db   *database.DB
	jobs *jobs.Inserter
}

// NewRunner returns a runner over db inserting jobs with ins.
func NewRunner(db *database.DB, ins *jobs.Inserter) Runner { return Runner{db: db, jobs: ins} }

// Run runs fn in the ambient transaction or a new one, then inserts the
// queued jobs and appends the queued audit events.
func (r Runner) Run(ctx context.Context, fn func(ctx context.Context, t *Tx) error) error {
	return r.db.Tx(ctx, func(ctx context.Context, tx bun.Tx) error {
		return r.Join(ctx, tx, func(t *Tx) error { return fn(ctx, t) })
	})
}

// Join runs fn in the caller's transaction tx (the exported *Tx methods of
// a domain), then writes what it queued.
func (r Runner) Join(ctx context.Context, tx bun.Tx, fn func(t *Tx) error) error {
	t := &Tx{Tx: tx}
	if err := fn(t); err != nil {
		return err
	}
	return r.finish(ctx, t)
}

func (r Runner) finish(ctx context.Context, t *Tx) error {
	// Unique jobs are deduplicated by the insert (ON CONFLICT DO NOTHING
	// on their unique key), in batches as in one.
	if err := r.jobs.InsertManyTx(ctx, t.Tx, t.jobs); err != nil {
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
