package billing

import (
	"context"
	"fmt"

	"github.com/uptrace/bun"
)

// PlanReach counts the live services on a plan (pending to suspended) and
// the accounts holding them: what a change of the plan reaches (the
// high-risk gate's facts, core/approval).
func (b *Billing) PlanReach(ctx context.Context, planID string) (services, customers int64, err error) {
	var row struct {
		Services  int64 `bun:"services"`
		Customers int64 `bun:"customers"`
	}
	err = b.db.Read.NewSelect().Model((*Service)(nil)).
		ColumnExpr("COUNT(*) AS services").ColumnExpr("COUNT(DISTINCT s.account_id) AS customers").
		Where("s.plan_id = ?", planID).Where("s.status IN (?)", bun.List([]string{StatusPending, StatusProvisioning, StatusActive, StatusSuspended})).Scan(ctx, &row)
	if err != nil {
		return 0, 0, fmt.Errorf("billing: counting the plan's services: %w", err)
	}
	return row.Services, row.Customers, nil
}
