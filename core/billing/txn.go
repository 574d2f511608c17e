package billing

import (
	"context"

	"github.com/uptrace/bun"

	"github.com/ezscale/platform/core/txwork"
)

// txn is a transaction with the audit events and jobs its work produces
// (core/txwork): they are written as the transaction's last statements, so
// the audit chain's head lock is held as briefly as possible.
type txn = txwork.Tx

// inTx runs fn in the ambient transaction or a new one, then inserts the
// queued jobs and appends the queued audit events.
func (b *Billing) inTx(ctx context.Context, fn func(ctx context.Context, t *txn) error) error {
	return b.work.Run(ctx, fn)
}

// join wraps a caller's transaction for the exported *Tx methods.
func (b *Billing) join(ctx context.Context, tx bun.Tx, fn func(t *txn) error) error {
	return b.work.Join(ctx, tx, fn)
}
