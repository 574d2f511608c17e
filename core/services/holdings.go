package services

import (
	"context"
	"fmt"

	"github.com/uptrace/bun"

	"github.com/ezscale/platform/core/community"
)

// Holdings says what a user's accounts hold, for the Discord community
// roles core/community syncs (it implements community.HoldingsProvider): the vps
// role for an active VPS or dedicated server, gaming for an active game
// server, across every account the user is a member of. VIP is left to the
// operator (always false here).
func (s *Services) Holdings(ctx context.Context, userID string) (community.Holdings, error) {
	var types []string
	accountIDs, err := s.accounts.AccountIDsOf(ctx, userID)
	if err != nil || len(accountIDs) == 0 {
		return community.Holdings{}, err
	}
	var planIDs []string
	err = s.db.Read.NewSelect().Model((*Service)(nil)).ColumnExpr("DISTINCT plan_id").
		Where("account_id IN (?)", bun.List(accountIDs)).Where("status = ?", StatusActive).Scan(ctx, &planIDs)
	if err != nil {
		return community.Holdings{}, fmt.Errorf("services: loading holdings of %s: %w", userID, err)
	}
	plans, err := s.catalog.PlansByID(ctx, s.db.Read, planIDs)
	if err != nil {
		return community.Holdings{}, err
	}
	for _, p := range plans {
		types = append(types, p.ServiceType)
	}
	var h community.Holdings
	for _, t := range types {
		switch t {
		case "vps", "dedicated":
			h.VPS = true
		case "game":
			h.Gaming = true
		}
	}
	return h, nil
}

// RoleSyncer asks for a community role sync of an account's members
// (core/community's RequestRoleSync).
type RoleSyncer interface {
	RequestRoleSync(ctx context.Context, tx bun.Tx, accountID string) error
}

// SyncRolesOn hooks r into service status changes: a service that starts,
// is suspended or ends changes what its account's members hold.
func (s *Services) SyncRolesOn(r RoleSyncer) {
	s.OnStatus(func(ctx context.Context, tx bun.Tx, svc *Service, _ string) error {
		return r.RequestRoleSync(ctx, tx, svc.AccountID)
	})
}

var _ community.HoldingsProvider = (*Services)(nil)
