package billing

import (
	"context"
	"fmt"

	"github.com/uptrace/bun"

	"github.com/ezscale/platform/core/money"
)

// Terms are billing's terms of a service, kept apart from the service
// record in billing's service_terms table (one row per service, written
// with it at order): the coupon it was ordered with and the cycles it
// still discounts, and a change scheduled for the end of the term. The
// record says what the service is and what its backend runs; the terms
// say how billing renews it, and only billing reads them.
type Terms struct {
	bun.BaseModel `bun:"table:service_terms,alias:st"`

	ServiceID        string  `bun:"service_id,pk"`
	CouponID         *string `bun:"coupon_id"`
	CouponCyclesLeft *int    `bun:"coupon_cycles_left"` // nil: every cycle
	// A change scheduled for the end of the term.
	PendingPlanID *string      `bun:"pending_plan_id"`
	PendingCycle  *money.Cycle `bun:"pending_cycle"`
	PendingPrice  *int64       `bun:"pending_price"`
}

// clearPending drops the change scheduled for the end of the term.
func (t *Terms) clearPending() {
	t.PendingPlanID, t.PendingCycle, t.PendingPrice = nil, nil, nil
}

// pendingColumns are the columns of the scheduled change, for updates.
var pendingColumns = []string{"pending_plan_id", "pending_cycle", "pending_price"}

// loadTerms sets the Terms of each of svcs, read in one statement. A
// service without a terms row is a broken invariant (Order writes both),
// reported rather than renewed on made-up terms.
func loadTerms(ctx context.Context, db bun.IDB, svcs ...*Service) error {
	if len(svcs) == 0 {
		return nil
	}
	ids := make([]string, len(svcs))
	for i, s := range svcs {
		ids[i] = s.ID
	}
	var rows []*Terms
	if err := db.NewSelect().Model(&rows).Where("service_id IN (?)", bun.List(ids)).Scan(ctx); err != nil {
		return fmt.Errorf("billing: loading the terms of %d service(s): %w", len(ids), err)
	}
	byID := make(map[string]*Terms, len(rows))
	for _, r := range rows {
		byID[r.ServiceID] = r
	}
	for _, s := range svcs {
		if s.Terms = byID[s.ID]; s.Terms == nil {
			return fmt.Errorf("billing: service %s has no terms row", s.ID)
		}
	}
	return nil
}

// saveTerms writes the named columns of a service's terms.
func saveTerms(ctx context.Context, db bun.IDB, t *Terms, columns ...string) error {
	if _, err := db.NewUpdate().Model(t).WherePK().Column(columns...).Exec(ctx); err != nil {
		return fmt.Errorf("billing: updating the terms of %s: %w", t.ServiceID, err)
	}
	return nil
}
