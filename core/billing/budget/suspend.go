package budget

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"
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

// TableSuspender records suspensions in the services schema only
// (service_suspensions and the service's status) without telling the
// provisioner. It stands in for billing's lifecycle where that is not wired
// (tests, and until the billing service is merged).
type TableSuspender struct {
	Now func() time.Time
}

func (t TableSuspender) now() time.Time {
	if t.Now != nil {
		return t.Now().UTC()
	}
	return time.Now().UTC()
}

// SuspendTx implements Suspender.
func (t TableSuspender) SuspendTx(ctx context.Context, tx bun.Tx, serviceID, reason, note string) (bool, error) {
	now := t.now()
	res, err := tx.NewRaw(`INSERT INTO service_suspensions (id, service_id, reason, note, created_at) VALUES (?, ?, ?, ?, ?)
		ON CONFLICT (service_id, reason) WHERE lifted_at IS NULL DO NOTHING`,
		uuid.Must(uuid.NewV7()).String(), serviceID, reason, note, now).Exec(ctx)
	if err != nil {
		return false, fmt.Errorf("budget: suspending %s: %w", serviceID, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return false, nil
	}
	_, err = tx.NewRaw(`UPDATE services SET status = 'suspended', suspended_at = ?, updated_at = ? WHERE id = ? AND status = 'active'`,
		now, now, serviceID).Exec(ctx)
	if err != nil {
		return false, fmt.Errorf("budget: suspending %s: %w", serviceID, err)
	}
	return true, nil
}

// UnsuspendTx implements Suspender.
func (t TableSuspender) UnsuspendTx(ctx context.Context, tx bun.Tx, serviceID, reason string) (bool, error) {
	now := t.now()
	res, err := tx.NewRaw(`UPDATE service_suspensions SET lifted_at = ? WHERE service_id = ? AND reason = ? AND lifted_at IS NULL`,
		now, serviceID, reason).Exec(ctx)
	if err != nil {
		return false, fmt.Errorf("budget: lifting %s suspension of %s: %w", reason, serviceID, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return false, nil
	}
	_, err = tx.NewRaw(`UPDATE services SET status = 'active', suspended_at = NULL, updated_at = ?
		WHERE id = ? AND status = 'suspended'
		AND NOT EXISTS (SELECT 1 FROM service_suspensions AS s WHERE s.service_id = ? AND s.lifted_at IS NULL)`,
		now, serviceID, serviceID).Exec(ctx)
	if err != nil {
		return false, fmt.Errorf("budget: lifting %s suspension of %s: %w", reason, serviceID, err)
	}
	return true, nil
}
