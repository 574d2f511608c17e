package services

import (
	"context"
	"fmt"

	"github.com/uptrace/bun"
)

// PlanReach counts the live services on a plan (pending to suspended) and
// the accounts holding them: what a change of the plan reaches (the
// high-risk gate's facts, core/approval).
func (s *Services) PlanReach(ctx context.Context, planID string) (services, customers int64, err error) {
	var row struct {
		Services  int64 `bun:"services"`
		Customers int64 `bun:"customers"`
	}
	err = s.db.Read.NewSelect().Model((*Service)(nil)).
		ColumnExpr("COUNT(*) AS services").ColumnExpr("COUNT(DISTINCT s.account_id) AS customers").
		Where("s.plan_id = ?", planID).Where("s.status IN (?)", bun.List(liveStatuses)).Scan(ctx, &row)
	if err != nil {
		return 0, 0, fmt.Errorf("services: counting the plan's services: %w", err)
	}
	return row.Services, row.Customers, nil
}

// LiveServiceCounts counts the live services of each of accounts, read in
// db (the caller's transaction: deleting a user checks the accounts they
// alone own, core/accounts). Accounts without one are absent.
func (s *Services) LiveServiceCounts(ctx context.Context, db bun.IDB, accountIDs []string) (map[string]int, error) {
	out := map[string]int{}
	if len(accountIDs) == 0 {
		return out, nil
	}
	var rows []struct {
		AccountID string `bun:"account_id"`
		N         int    `bun:"n"`
	}
	err := db.NewSelect().Model((*Service)(nil)).ColumnExpr("s.account_id, COUNT(*) AS n").
		Where("s.account_id IN (?)", bun.List(accountIDs)).Where("s.status IN (?)", bun.List(liveStatuses)).
		Group("s.account_id").Scan(ctx, &rows)
	if err != nil {
		return nil, fmt.Errorf("services: counting live services: %w", err)
	}
	for _, r := range rows {
		out[r.AccountID] = r.N
	}
	return out, nil
}

// ServiceReach counts the live services among ids and the accounts
// holding them: the facts of a bulk termination.
func (s *Services) ServiceReach(ctx context.Context, ids []string) (services, customers int64, err error) {
	if len(ids) == 0 {
		return 0, 0, nil
	}
	var row struct {
		Services  int64 `bun:"services"`
		Customers int64 `bun:"customers"`
	}
	err = s.db.Read.NewSelect().Model((*Service)(nil)).
		ColumnExpr("COUNT(*) AS services").ColumnExpr("COUNT(DISTINCT s.account_id) AS customers").
		Where("s.id IN (?)", bun.List(ids)).Where("s.status IN (?)", bun.List(liveStatuses)).Scan(ctx, &row)
	if err != nil {
		return 0, 0, fmt.Errorf("services: counting services: %w", err)
	}
	return row.Services, row.Customers, nil
}
