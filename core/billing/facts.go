package billing

import (
	"context"
	"fmt"
	"maps"
	"slices"

	"github.com/uptrace/bun"

	"github.com/ezscale/platform/core/database"
	"github.com/ezscale/platform/core/money"
	"github.com/ezscale/platform/core/services"
)

// ServiceFact is what another domain reads of a service to act on it (the
// scheduler's tasks, plan changes and auto-recovery; budget caps' rules
// and hard stop): the service's facts (core/services) and what it costs.
type ServiceFact struct {
	services.Fact
	// Cycle and Price are what the service renews at (minor units of the
	// account's currency).
	Cycle string
	Price int64
}

// costs are the terms each of the services renews at, by service id.
type costs map[string]*Terms

// costsOf reads the cycle and price of each of ids, in one query per
// thousand (factChunk).
func costsOf(ctx context.Context, db bun.IDB, ids []string) (costs, error) {
	out := make(costs, len(ids))
	for chunk := range slices.Chunk(ids, factChunk) {
		var rows []*Terms
		if err := db.NewSelect().Model(&rows).Column("service_id", "cycle", "price").Where("service_id IN (?)", bun.List(chunk)).Scan(ctx); err != nil {
			return nil, fmt.Errorf("billing: loading the terms of %d services: %w", len(chunk), err)
		}
		for _, r := range rows {
			out[r.ServiceID] = r
		}
	}
	return out, nil
}

// of is the fact with what its service costs.
func (c costs) of(f services.Fact) ServiceFact {
	out := ServiceFact{Fact: f}
	if t := c[f.ID]; t != nil {
		out.Cycle, out.Price = string(t.Cycle), t.Price
	}
	return out
}

// factChunk bounds the ids of one query, under the database
// engines' limits on bound parameters.
const factChunk = 1000

// ServiceFacts returns the facts of the services among ids that exist, as
// db sees them (the caller's transaction, or the read pool). Unknown ids
// are absent from the map.
func (b *Billing) ServiceFacts(ctx context.Context, db bun.IDB, ids []string) (map[string]ServiceFact, error) {
	facts, err := b.services.Facts(ctx, db, ids)
	if err != nil {
		return nil, err
	}
	c, err := costsOf(ctx, db, slices.Collect(maps.Keys(facts)))
	if err != nil {
		return nil, err
	}
	out := make(map[string]ServiceFact, len(facts))
	for id, f := range facts {
		out[id] = c.of(f)
	}
	return out, nil
}

// AccountServiceFacts returns the facts of the account's services in the
// given statuses (every status when none is given), in id order, as db sees
// them.
func (b *Billing) AccountServiceFacts(ctx context.Context, db bun.IDB, accountID string, statuses ...string) ([]ServiceFact, error) {
	facts, err := b.services.AccountFacts(ctx, db, accountID, statuses...)
	if err != nil {
		return nil, err
	}
	ids := make([]string, len(facts))
	for i, f := range facts {
		ids[i] = f.ID
	}
	c, err := costsOf(ctx, db, ids)
	if err != nil {
		return nil, err
	}
	out := make([]ServiceFact, len(facts))
	for i, f := range facts {
		out[i] = c.of(f)
	}
	return out, nil
}

// AccountCurrency is the account's currency as db sees it: its credit
// balance's, else its billing profile's; "" when it has neither.
func (b *Billing) AccountCurrency(ctx context.Context, db bun.IDB, accountID string) (money.Currency, error) {
	cur, err := b.ledger.Currency(ctx, db, accountID)
	if err != nil || cur != "" {
		return cur, err
	}
	var profile string
	err = db.NewSelect().Model((*Profile)(nil)).Column("currency").Where("account_id = ?", accountID).Scan(ctx, &profile)
	if err != nil && !database.IsNoRows(err) {
		return "", fmt.Errorf("billing: reading the currency of %s: %w", accountID, err)
	}
	return money.Currency(profile), nil
}
