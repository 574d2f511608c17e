package billing

import (
	"context"
	"fmt"

	"github.com/uptrace/bun"

	"github.com/ezscale/platform/core/notify"
)

// ServiceFact is what another domain reads of a service to act on it (the
// scheduler's tasks, plan changes and auto-recovery): whose it is, its
// status, its plan and provisioner, and the name customers know it by.
type ServiceFact struct {
	ID        string
	AccountID string
	Status    string
	PlanID    string
	// Plugin is the plan's provisioner.
	Plugin string
	// Name is what notices call the service (notify.ServiceName).
	Name string
}

// factChunk bounds the ids of one ServiceFacts query, well under both
// engines' limits on bound parameters.
const factChunk = 1000

// ServiceFacts returns the facts of the services among ids that exist, as
// db sees them (the caller's transaction, or the read pool), in one query
// per thousand ids. Unknown ids are absent from the map.
func (b *Billing) ServiceFacts(ctx context.Context, db bun.IDB, ids []string) (map[string]ServiceFact, error) {
	out := make(map[string]ServiceFact, len(ids))
	for start := 0; start < len(ids); start += factChunk {
		chunk := ids[start:min(start+factChunk, len(ids))]
		var rows []struct {
			ID         string `bun:"id"`
			AccountID  string `bun:"account_id"`
			Status     string `bun:"status"`
			Label      string `bun:"label"`
			Options    string `bun:"options"`
			Attributes string `bun:"attributes"`
			PlanID     string `bun:"plan_id"`
			Plugin     string `bun:"plugin"`
			PlanName   string `bun:"plan_name"`
		}
		err := db.NewSelect().TableExpr("services AS s").Join("JOIN plans AS p ON p.id = s.plan_id").
			ColumnExpr("s.id, s.account_id, s.status, s.label, s.options, s.attributes, s.plan_id, p.plugin, p.name AS plan_name").
			Where("s.id IN (?)", bun.List(chunk)).Scan(ctx, &rows)
		if err != nil {
			return nil, fmt.Errorf("billing: loading %d services: %w", len(chunk), err)
		}
		for _, r := range rows {
			out[r.ID] = ServiceFact{
				ID: r.ID, AccountID: r.AccountID, Status: r.Status, PlanID: r.PlanID, Plugin: r.Plugin,
				Name: notify.ServiceName(r.Label, r.PlanName, notify.Hostname(r.Attributes, r.Options)),
			}
		}
	}
	return out, nil
}
