// Package servicestest writes the service records other packages' tests
// and benchmarks need (services in bulk, statuses, suspensions) without the
// order and provisioning flow that normally makes them. It is
// core/services' own kit, so the services tables are written here and
// nowhere else in other packages' tests; billingtest adds billing's terms
// on top. Imported by tests only.
package servicestest

import (
	"cmp"
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/ezscale/platform/core/database"
)

func id() string { return uuid.Must(uuid.NewV7()).String() }

// Spec describes service records. Zero fields take the defaults: active,
// no label, no options or attributes, created now.
type Spec struct {
	AccountID  string
	PlanID     string
	Status     string
	Label      string
	Options    string // JSON, the options the customer chose
	Attributes string // JSON
	CreatedAt  time.Time
}

func (spec Spec) withDefaults() Spec {
	spec.Status = cmp.Or(spec.Status, "active")
	spec.Options = cmp.Or(spec.Options, "{}")
	spec.Attributes = cmp.Or(spec.Attributes, "{}")
	if spec.CreatedAt.IsZero() {
		spec.CreatedAt = time.Now().UTC()
	}
	return spec
}

// Records inserts n services as spec describes (labelled vps-0, vps-1, …
// when spec has no label), each created at its backend (external id
// ext-<id>), in batches, and returns their ids.
func Records(ctx context.Context, db *database.DB, spec Spec, n int) ([]string, error) {
	spec = spec.withDefaults()
	ids := make([]string, 0, n)
	for start := 0; start < n; start += 500 {
		q := "INSERT INTO services (id, account_id, plan_id, status, label, attributes, external_id, created_at, updated_at) VALUES "
		var args []any
		for i := start; i < min(n, start+500); i++ {
			sid := id()
			ids = append(ids, sid)
			if i > start {
				q += ", "
			}
			label := spec.Label
			if label == "" {
				label = fmt.Sprintf("vps-%d", i)
			}
			q += "(?, ?, ?, ?, ?, ?, ?, ?, ?)"
			args = append(args, sid, spec.AccountID, spec.PlanID, spec.Status, label, spec.Attributes,
				"ext-"+sid, spec.CreatedAt, spec.CreatedAt)
		}
		if _, err := db.Conn(ctx).NewRaw(q, args...).Exec(ctx); err != nil {
			return nil, fmt.Errorf("servicestest: inserting services: %w", err)
		}
	}
	return ids, nil
}

// Record inserts one service as spec describes and returns its id.
func Record(ctx context.Context, db *database.DB, spec Spec) (string, error) {
	spec = spec.withDefaults()
	sid := id()
	_, err := db.Conn(ctx).NewRaw(`INSERT INTO services (id, account_id, plan_id, status, label, options, attributes, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`, sid, spec.AccountID, spec.PlanID, spec.Status,
		spec.Label, spec.Options, spec.Attributes, spec.CreatedAt, spec.CreatedAt).Exec(ctx)
	if err != nil {
		return "", fmt.Errorf("servicestest: inserting a service: %w", err)
	}
	return sid, nil
}

// SetStatus changes a service's status (suspended, terminated, …).
func SetStatus(ctx context.Context, db *database.DB, serviceID, status string) error {
	return update(ctx, db, "UPDATE services SET status = ? WHERE id = ?", status, serviceID)
}

// Suspend suspends the service for reason (non_payment, budget, …) at: its
// status and a suspension in force, as the status machine leaves them
// (without the plugin call). It returns the suspension's id.
func Suspend(ctx context.Context, db *database.DB, serviceID, reason string, at time.Time) (string, error) {
	sid := id()
	if err := update(ctx, db, "UPDATE services SET status = 'suspended' WHERE id = ?", serviceID); err != nil {
		return "", err
	}
	err := update(ctx, db, "INSERT INTO service_suspensions (id, service_id, reason, created_at) VALUES (?, ?, ?, ?)", sid, serviceID, reason, at)
	return sid, err
}

// Development makes the service a free-tier development service.
func Development(ctx context.Context, db *database.DB, serviceID string) error {
	return update(ctx, db, "UPDATE services SET environment = 'development' WHERE id = ?", serviceID)
}

// Move gives the service to another account.
func Move(ctx context.Context, db *database.DB, serviceID, accountID string) error {
	return update(ctx, db, "UPDATE services SET account_id = ? WHERE id = ?", accountID, serviceID)
}

// ChangePlan puts the service on the plan.
func ChangePlan(ctx context.Context, db *database.DB, serviceID, planID string) error {
	return update(ctx, db, "UPDATE services SET plan_id = ? WHERE id = ?", planID, serviceID)
}

// SetOptions replaces the options (JSON) the customer chose for the
// service.
func SetOptions(ctx context.Context, db *database.DB, serviceID, options string) error {
	return update(ctx, db, "UPDATE services SET options = ? WHERE id = ?", options, serviceID)
}

// SetName replaces the service's label and attributes (JSON), what notices
// name it by.
func SetName(ctx context.Context, db *database.DB, serviceID, label, attributes string) error {
	return update(ctx, db, "UPDATE services SET label = ?, attributes = ? WHERE id = ?", label, attributes, serviceID)
}

// update runs a change in ctx's ambient transaction if there is one.
func update(ctx context.Context, db *database.DB, query string, args ...any) error {
	if _, err := db.Conn(ctx).NewRaw(query, args...).Exec(ctx); err != nil {
		return fmt.Errorf("servicestest: %w", err)
	}
	return nil
}
