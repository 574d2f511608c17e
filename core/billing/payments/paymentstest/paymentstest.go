// Package paymentstest makes the saved cards and top-ups other packages'
// tests need without the payment gateway that normally creates them. It is
// payments' own kit, so payments' tables are written here and nowhere else
// in other packages' tests. Imported by tests only.
package paymentstest

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/ezscale/platform/core/database"
)

func id() string { return uuid.Must(uuid.NewV7()).String() }

// SavedCard records a saved Stripe card of the account, as attaching one
// through the payment gateway would, and returns its id.
func SavedCard(ctx context.Context, db *database.DB, accountID string) (string, error) {
	pid := id()
	_, err := db.NewRaw("INSERT INTO payment_methods (id, account_id, gateway, gateway_method_id, created_at) VALUES (?, ?, 'stripe', ?, ?)",
		pid, accountID, "pm_"+accountID, time.Now().UTC()).Exec(ctx)
	if err != nil {
		return "", fmt.Errorf("paymentstest: inserting a payment method: %w", err)
	}
	return pid, nil
}

// TopUp records a succeeded top-up of amount in currency from source
// (card or auto) made at, and returns its id. Its ledger entry is not
// posted.
func TopUp(ctx context.Context, db *database.DB, accountID, source string, amount int64, currency string, at time.Time) (string, error) {
	tid := id()
	_, err := db.NewRaw(`INSERT INTO topups (id, account_id, source, amount, currency, payment_method_id, status, idempotency_key, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, 'pm', 'succeeded', ?, ?, ?)`, tid, accountID, source, amount, currency, "k-"+tid, at, at).Exec(ctx)
	if err != nil {
		return "", fmt.Errorf("paymentstest: inserting a top-up: %w", err)
	}
	return tid, nil
}
