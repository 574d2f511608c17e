// Package schedulertest makes the automated tasks and auto-recovery
// settings other packages' tests need without the capability checks and
// address probes the scheduler's API makes (no plugin, no network). It is
// the scheduler's own kit, so the scheduler's tables are written here and
// nowhere else in other packages' tests. Imported by tests only.
package schedulertest

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/ezscale/platform/core/database"
	"github.com/ezscale/platform/core/scheduler"
)

// Task stores an enabled task of type (reboot, snapshot, backup, …) on the
// account's service, due by cron in UTC but not yet scheduled (no next
// run), and returns its id.
func Task(ctx context.Context, db *database.DB, accountID, serviceID, typ, cron string) (string, error) {
	now := time.Now().UTC()
	t := &scheduler.Task{
		ID: uuid.Must(uuid.NewV7()).String(), AccountID: accountID, ServiceID: serviceID, Type: typ, Cron: cron, TimeZone: "UTC",
		Enabled: true, Notify: scheduler.NotifyFailure, MaxRetries: 3, CreatedAt: now, UpdatedAt: now,
	}
	if _, err := db.NewInsert().Model(t).Exec(ctx); err != nil {
		return "", fmt.Errorf("schedulertest: inserting a task: %w", err)
	}
	return t.ID, nil
}

// Recovery turns auto-recovery on for the account's service, checking
// target by checkType (http, tcp, ping) next at nextCheck.
func Recovery(ctx context.Context, db *database.DB, accountID, serviceID, checkType, target string, nextCheck time.Time) error {
	now := time.Now().UTC()
	c := &scheduler.RecoveryConfig{
		ServiceID: serviceID, AccountID: accountID, Enabled: true, CheckType: checkType, Target: target, MaxPerHour: 3,
		Notify: true, State: scheduler.StateUnknown, NextCheckAt: nextCheck, CreatedAt: now, UpdatedAt: now,
	}
	if _, err := db.NewInsert().Model(c).Exec(ctx); err != nil {
		return fmt.Errorf("schedulertest: inserting a recovery config: %w", err)
	}
	return nil
}
