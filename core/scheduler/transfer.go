package scheduler

import (
	"context"
	"fmt"

	"github.com/uptrace/bun"
)

// TransferServiceTx moves what the scheduler keeps about a service to the
// account it was transferred to, in the transfer's transaction: its
// automated tasks and their runs (backup and snapshot runs included), its
// auto-recovery settings and attempts, and its scheduled plan changes. It
// returns how many rows of each moved. Maintenance windows are the
// account's, not the service's: the receiver's windows apply from now on.
func (s *Service) TransferServiceTx(ctx context.Context, tx bun.Tx, serviceID, to string) (map[string]int64, error) {
	out := make(map[string]int64, 5)
	for _, table := range []string{"scheduled_tasks", "task_runs", "recovery_configs", "recovery_attempts", "scheduled_plan_changes"} {
		res, err := tx.NewUpdate().Table(table).Set("account_id = ?", to).Where("service_id = ?", serviceID).Exec(ctx)
		if err != nil {
			return nil, fmt.Errorf("scheduler: moving %s of service %s: %w", table, serviceID, err)
		}
		n, _ := res.RowsAffected()
		out[table] = n
	}
	return out, nil
}
