package services

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/ezscale/platform/core/catalog"
	"github.com/uptrace/bun"
)

// GameService is a game service (a plan of service type "game") as
// game-server monitoring reads it: who owns it, its state, and the
// provisioner's attributes (Pterodactyl reports "address" as ip:port).
type GameService struct {
	ID         string            `bun:"id"`
	AccountID  string            `bun:"account_id"`
	Label      string            `bun:"label"`
	Status     string            `bun:"status"`
	Attributes map[string]string `bun:"-"`
	// Running: active here and at the backend (the provisioner last
	// reported it active).
	Running bool `bun:"-"`

	RawAttributes string `bun:"attributes"`
	BackendState  string `bun:"backend_state"`
}

// GameServiceFilter selects game services; the zero value is every one.
type GameServiceFilter struct {
	// AccountID limits to one account's services.
	AccountID string
	// IDs limits to these services (nil: no limit).
	IDs []string
	// Active limits to active services.
	Active bool
	// After and Limit page by id.
	After string
	Limit int
}

// GameServices lists game services in id order, inside the ambient
// transaction when ctx carries one.
func (s *Services) GameServices(ctx context.Context, f GameServiceFilter) ([]GameService, error) {
	var out []GameService
	if f.IDs != nil && len(f.IDs) == 0 {
		return out, nil
	}
	db := s.db.Conn(ctx)
	gamePlans, err := s.catalog.PlanIDs(ctx, db, catalog.PlanFilter{ServiceType: "game"})
	if err != nil || len(gamePlans) == 0 {
		return out, err
	}
	q := db.NewSelect().TableExpr("services AS s").
		ColumnExpr("s.id, s.account_id, s.label, s.status, s.attributes, s.backend_state").
		Where("s.plan_id IN (?)", bun.List(gamePlans)).Where("s.id > ?", f.After).OrderExpr("s.id")
	if f.AccountID != "" {
		q = q.Where("s.account_id = ?", f.AccountID)
	}
	if f.IDs != nil {
		q = q.Where("s.id IN (?)", bun.List(f.IDs))
	}
	if f.Active {
		q = q.Where("s.status = ?", StatusActive)
	}
	if f.Limit > 0 {
		q = q.Limit(int64(f.Limit))
	}
	if err := q.Scan(ctx, &out); err != nil {
		return nil, fmt.Errorf("services: listing game services: %w", err)
	}
	for i := range out {
		s := &out[i]
		s.Attributes = map[string]string{}
		_ = json.Unmarshal([]byte(s.RawAttributes), &s.Attributes)
		s.Running = s.Status == StatusActive && s.BackendState == backendActive
	}
	return out, nil
}
