package services

import (
	"context"
	"fmt"
	"slices"

	"github.com/uptrace/bun"

	"github.com/ezscale/platform/core/catalog"
	"github.com/ezscale/platform/core/notify"
)

// Fact is what another domain reads of a service to act on it (the
// scheduler's tasks, plan changes and auto-recovery; budget caps' rules
// and hard stop): whose it is, its status, what it is, its plan and
// provisioner, and the name customers know it by. What it costs is
// billing's (billing.ServiceFact adds it).
type Fact struct {
	ID        string
	AccountID string
	Status    string
	// Label is the customer's own label ("" when none).
	Label string
	// ServiceType is the plan's type (vps, dedicated, game, …).
	ServiceType string
	PlanID      string
	PlanSlug    string
	PlanName    string
	// Plugin is the plan's provisioner.
	Plugin string
	// Name is what notices call the service (notify.ServiceName).
	Name string
}

// factRow is a Fact as it is read.
type factRow struct {
	ID         string `bun:"id"`
	AccountID  string `bun:"account_id"`
	Status     string `bun:"status"`
	Label      string `bun:"label"`
	Options    string `bun:"options"`
	Attributes string `bun:"attributes"`
	PlanID     string `bun:"plan_id"`
}

func factQuery(db bun.IDB) *bun.SelectQuery {
	return db.NewSelect().Model((*Service)(nil)).
		ColumnExpr("s.id, s.account_id, s.status, s.label, s.options, s.attributes, s.plan_id")
}

// facts completes rows with their plans, read from the catalog as db sees
// it (one query for the rows' plans). A service always has a plan (plans
// are archived, never deleted).
func (s *Services) facts(ctx context.Context, db bun.IDB, rows []factRow) ([]Fact, error) {
	planIDs := make([]string, len(rows))
	for i, r := range rows {
		planIDs[i] = r.PlanID
	}
	plans, err := s.catalog.PlansByID(ctx, db, planIDs)
	if err != nil {
		return nil, err
	}
	out := make([]Fact, 0, len(rows))
	for _, r := range rows {
		p := plans[r.PlanID]
		if p == nil {
			return nil, fmt.Errorf("services: plan %s of service %s is gone", r.PlanID, r.ID)
		}
		out = append(out, Fact{
			ID: r.ID, AccountID: r.AccountID, Status: r.Status, Label: r.Label, ServiceType: p.ServiceType,
			PlanID: r.PlanID, PlanSlug: p.Slug, PlanName: p.Name, Plugin: p.Plugin,
			Name: notify.ServiceName(r.Label, p.Name, notify.Hostname(r.Attributes, r.Options)),
		})
	}
	return out, nil
}

// factChunk bounds the ids of one Facts query, well under both engines'
// limits on bound parameters.
const factChunk = 1000

// Facts returns the facts of the services among ids that exist, as
// db sees them (the caller's transaction, or the read pool), in one query
// per thousand ids. Unknown ids are absent from the map.
func (s *Services) Facts(ctx context.Context, db bun.IDB, ids []string) (map[string]Fact, error) {
	out := make(map[string]Fact, len(ids))
	for chunk := range slices.Chunk(ids, factChunk) {
		var rows []factRow
		err := factQuery(db).Where("s.id IN (?)", bun.List(chunk)).Scan(ctx, &rows)
		if err != nil {
			return nil, fmt.Errorf("services: loading %d services: %w", len(chunk), err)
		}
		facts, err := s.facts(ctx, db, rows)
		if err != nil {
			return nil, err
		}
		for _, f := range facts {
			out[f.ID] = f
		}
	}
	return out, nil
}

// AccountFacts returns the facts of the account's services in the
// given statuses (every status when none is given), in id order, as db sees
// them.
func (s *Services) AccountFacts(ctx context.Context, db bun.IDB, accountID string, statuses ...string) ([]Fact, error) {
	var rows []factRow
	q := factQuery(db).Where("s.account_id = ?", accountID).OrderExpr("s.id")
	if len(statuses) > 0 {
		q = q.Where("s.status IN (?)", bun.List(statuses))
	}
	if err := q.Scan(ctx, &rows); err != nil {
		return nil, fmt.Errorf("services: loading services of %s: %w", accountID, err)
	}
	return s.facts(ctx, db, rows)
}

// SuspendedFor lists, in id order, the account's services with a
// suspension for reason in force, as db sees them.
func (s *Services) SuspendedFor(ctx context.Context, db bun.IDB, accountID, reason string) ([]string, error) {
	ids := []string{}
	err := db.NewSelect().TableExpr("service_suspensions AS ss").Join("JOIN services AS s ON s.id = ss.service_id").
		ColumnExpr("s.id").Where("s.account_id = ?", accountID).Where("ss.reason = ?", reason).Where("ss.lifted_at IS NULL").
		OrderExpr("s.id").Scan(ctx, &ids)
	if err != nil {
		return nil, fmt.Errorf("services: loading %s suspensions of %s: %w", reason, accountID, err)
	}
	return ids, nil
}

// ActiveProvisioners lists the provisioners of active services, inside the
// ambient transaction when ctx carries one, else from the read pool.
func (s *Services) ActiveProvisioners(ctx context.Context) ([]string, error) {
	db := s.db.ReadConn(ctx)
	var planIDs []string
	err := db.NewSelect().Model((*Service)(nil)).ColumnExpr("DISTINCT plan_id").Where("status = ?", StatusActive).Scan(ctx, &planIDs)
	if err != nil {
		return nil, fmt.Errorf("services: listing the plans of active services: %w", err)
	}
	plans, err := s.catalog.PlansByID(ctx, db, planIDs)
	if err != nil {
		return nil, err
	}
	plugins := []string{}
	for _, p := range plans {
		plugins = append(plugins, p.Plugin)
	}
	slices.Sort(plugins)
	return slices.Compact(plugins), nil
}

// ActiveServicesAfter lists, in id order after the id after, at most limit
// active services that exist at their backend (they have an external id)
// and whose plan's provisioner is one of plugins: a page of a sweep over
// running services (usage collection). It reads inside the ambient
// transaction when ctx carries one, else from the read pool.
func (s *Services) ActiveServicesAfter(ctx context.Context, plugins []string, after string, limit int) ([]string, error) {
	var ids []string
	if len(plugins) == 0 {
		return ids, nil
	}
	db := s.db.ReadConn(ctx)
	planIDs, err := s.catalog.PlanIDs(ctx, db, catalog.PlanFilter{Plugins: plugins})
	if err != nil || len(planIDs) == 0 {
		return ids, err
	}
	err = db.NewSelect().Model((*Service)(nil)).Column("id").Where("status = ?", StatusActive).Where("external_id <> ''").
		Where("plan_id IN (?)", bun.List(planIDs)).Where("id > ?", after).
		OrderExpr("id ASC").Limit(int64(limit)).Scan(ctx, &ids)
	if err != nil {
		return nil, fmt.Errorf("services: listing active services: %w", err)
	}
	return ids, nil
}
