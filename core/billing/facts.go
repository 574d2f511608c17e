package billing

import (
	"context"
	"fmt"

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

// withCosts adds each fact's terms, read in one query per thousand.
func withCosts(ctx context.Context, db bun.IDB, facts []services.Fact) ([]ServiceFact, error) {
	terms := make(map[string]*Terms, len(facts))
	ids := make([]string, len(facts))
	for i, f := range facts {
		ids[i] = f.ID
	}
	for start := 0; start < len(ids); start += factChunk {
		var rows []*Terms
		chunk := ids[start:min(start+factChunk, len(ids))]
		if err := db.NewSelect().Model(&rows).Column("service_id", "cycle", "price").Where("service_id IN (?)", bun.List(chunk)).Scan(ctx); err != nil {
			return nil, fmt.Errorf("billing: loading the terms of %d services: %w", len(chunk), err)
		}
		for _, r := range rows {
			terms[r.ServiceID] = r
		}
	}
	out := make([]ServiceFact, len(facts))
	for i, f := range facts {
		out[i].Fact = f
		if t := terms[f.ID]; t != nil {
			out[i].Cycle, out[i].Price = string(t.Cycle), t.Price
		}
	}
	return out, nil
}

// factChunk bounds the ids of one query, under the database
// engines' limits on bound parameters.
const factChunk = 1000

// ServiceFacts returns the facts of the services among ids that exist, as
// db sees them (the caller's transaction, or the read pool). Unknown ids
// are absent from the map.
func (b *Billing) ServiceFacts(ctx context.Context, db bun.IDB, ids []string) (map[string]ServiceFact, error) {
	byID, err := b.services.Facts(ctx, db, ids)
	if err != nil {
		return nil, err
	}
	facts := make([]services.Fact, 0, len(byID))
	for _, f := range byID {
		facts = append(facts, f)
	}
	costed, err := withCosts(ctx, db, facts)
	if err != nil {
		return nil, err
	}
	out := make(map[string]ServiceFact, len(costed))
	for _, f := range costed {
		out[f.ID] = f
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
	return withCosts(ctx, db, facts)
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
