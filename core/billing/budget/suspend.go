package budget

import (
	"context"

	"github.com/uptrace/bun"
)

// Reason is the suspension reason of the hard stop.
const Reason = "budget"

// Suspender suspends and lifts services for a reason, inside the caller's
// transaction, each reporting whether anything changed. Billing's service
// lifecycle implements it (it also tells the provisioner); a reason already
// in force, or not in force, is a no-op.
type Suspender interface {
	SuspendTx(ctx context.Context, tx bun.Tx, serviceID, reason, note string) (bool, error)
	UnsuspendTx(ctx context.Context, tx bun.Tx, serviceID, reason string) (bool, error)
}
