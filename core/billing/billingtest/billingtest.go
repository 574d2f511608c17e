// Package billingtest makes the catalog rows and services other packages'
// tests and benchmarks need (plans, add-ons, services in bulk) without the
// order and provisioning flow that normally creates them. It is billing's
// own kit, so billing's tables are written here and nowhere else in other
// packages' tests. Imported by tests only.
package billingtest

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/ezscale/platform/core/database"
)

func id() string { return uuid.Must(uuid.NewV7()).String() }

// Plan inserts an active VPS plan served by the provisioner plugin and
// returns its id.
func Plan(ctx context.Context, db *database.DB, plugin string, monthly int64) (string, error) {
	now := time.Now().UTC()
	pid := id()
	_, err := db.NewRaw(`INSERT INTO plans (id, slug, name, service_type, currency, monthly_price, plugin, plugin_options, created_at, updated_at)
		VALUES (?, ?, ?, 'vps', 'USD', ?, ?, '{"package":"1"}', ?, ?)`, pid, "plan-"+pid, "Plan "+pid[len(pid)-4:], monthly, plugin, now, now).Exec(ctx)
	if err != nil {
		return "", fmt.Errorf("billingtest: inserting plan: %w", err)
	}
	return pid, nil
}

// Addon inserts an active add-on offered with every plan.
func Addon(ctx context.Context, db *database.DB) (string, error) {
	now := time.Now().UTC()
	aid := id()
	_, err := db.NewRaw(`INSERT INTO addons (id, slug, name, currency, monthly_price, max_quantity, created_at, updated_at)
		VALUES (?, ?, 'Extra IP', 'USD', 300, 4, ?, ?)`, aid, "addon-"+aid, now, now).Exec(ctx)
	if err != nil {
		return "", fmt.Errorf("billingtest: inserting add-on: %w", err)
	}
	return aid, nil
}

// Services inserts n active services of the account on the plan, in
// batches, and returns their ids.
func Services(ctx context.Context, db *database.DB, accountID, planID string, n int) ([]string, error) {
	now := time.Now().UTC()
	ids := make([]string, 0, n)
	for start := 0; start < n; start += 500 {
		q := "INSERT INTO services (id, account_id, plan_id, cycle, currency, price, status, label, external_id, created_at, updated_at) VALUES "
		var args []any
		for i := start; i < min(n, start+500); i++ {
			sid := id()
			ids = append(ids, sid)
			if i > start {
				q += ", "
			}
			q += "(?, ?, ?, 'monthly', 'USD', 1000, 'active', ?, ?, ?, ?)"
			args = append(args, sid, accountID, planID, fmt.Sprintf("vps-%d", i), "ext-"+sid, now, now)
		}
		if _, err := db.NewRaw(q, args...).Exec(ctx); err != nil {
			return nil, fmt.Errorf("billingtest: inserting services: %w", err)
		}
	}
	return ids, nil
}

// SetServiceStatus changes a service's status (suspended, terminated, …).
func SetServiceStatus(ctx context.Context, db *database.DB, serviceID, status string) error {
	_, err := db.NewRaw("UPDATE services SET status = ? WHERE id = ?", status, serviceID).Exec(ctx)
	return err
}

// SavedCard records a saved Stripe card of the account, as attaching one
// through the payment gateway would, and returns its id.
func SavedCard(ctx context.Context, db *database.DB, accountID string) (string, error) {
	pid := id()
	_, err := db.NewRaw("INSERT INTO payment_methods (id, account_id, gateway, gateway_method_id, created_at) VALUES (?, ?, 'stripe', ?, ?)",
		pid, accountID, "pm_"+accountID, time.Now().UTC()).Exec(ctx)
	if err != nil {
		return "", fmt.Errorf("billingtest: inserting a payment method: %w", err)
	}
	return pid, nil
}
