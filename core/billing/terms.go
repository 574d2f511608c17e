package billing

import (
	"context"
	"fmt"
	"time"

	"github.com/uptrace/bun"

	"github.com/ezscale/platform/core/money"
	"github.com/ezscale/platform/core/services"
)

// Terms are billing's terms of a service, kept apart from the service
// record in billing's service_terms table (one row per service, written
// with it at order): the cycle and the price it renews at, the paid
// period, the coupon it was ordered with and the cycles it still
// discounts, a change scheduled for the end of the term and whether the
// service is cancelled then. The record says what the
// service is and what its backend runs; the terms say how billing renews
// it, and only billing reads them.
type Terms struct {
	bun.BaseModel `bun:"table:service_terms,alias:st"`

	ServiceID string `bun:"service_id,pk"`
	// Price of one cycle, in the account's currency, locked at order or
	// plan change.
	Cycle    money.Cycle    `bun:"cycle"`
	Currency money.Currency `bun:"currency"`
	Price    int64          `bun:"price"`
	// The paid period (nil until the order is paid) and its billing day.
	PeriodStart       *time.Time `bun:"period_start"`
	PeriodEnd         *time.Time `bun:"period_end"`
	AnchorDay         int        `bun:"anchor_day"`
	CancelAtPeriodEnd bool       `bun:"cancel_at_period_end"`
	// InTerm copies whether the service is active or suspended (InTerm):
	// its term runs, and renews or ends at PeriodEnd. Billing keeps it from
	// core/services' status hook, in the status change's transaction
	// (followStatus), so the renewal and dunning scans read this table
	// alone.
	InTerm           bool    `bun:"in_term"`
	CouponID         *string `bun:"coupon_id"`
	CouponCyclesLeft *int    `bun:"coupon_cycles_left"` // nil: every cycle
	// A change scheduled for the end of the term.
	PendingPlanID *string      `bun:"pending_plan_id"`
	PendingCycle  *money.Cycle `bun:"pending_cycle"`
	PendingPrice  *int64       `bun:"pending_price"`
}

// InTerm reports whether a service in status has a running term (active
// or suspended): what service_terms.in_term copies.
func InTerm(status string) bool {
	return status == services.StatusActive || status == services.StatusSuspended
}

// followStatus keeps a service's in_term with its status: billing's
// status hook on core/services, registered by New. A change within a term
// (active ⇄ suspended) or outside one (pending → provisioning, failed)
// leaves in_term as it is and writes nothing: the dunning step suspends a
// batch of services at a time.
func followStatus(ctx context.Context, tx bun.Tx, svc *services.Service, from string) error {
	in := InTerm(svc.Status)
	if in == InTerm(from) {
		return nil
	}
	if _, err := tx.NewUpdate().Model((*Terms)(nil)).Set("in_term = ?", in).
		Where("service_id = ?", svc.ID).Where("in_term <> ?", in).Exec(ctx); err != nil {
		return fmt.Errorf("billing: following the status of %s: %w", svc.ID, err)
	}
	return nil
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

// servicesWithTerms loads the services of terms, in their order, each
// carrying its terms.
func (b *Billing) servicesWithTerms(ctx context.Context, db bun.IDB, terms []*Terms) ([]*Service, error) {
	ids := make([]string, len(terms))
	for i, t := range terms {
		ids[i] = t.ServiceID
	}
	recs, err := b.services.ServicesTx(ctx, db, ids)
	if err != nil {
		return nil, err
	}
	byID := make(map[string]*services.Service, len(recs))
	for _, s := range recs {
		byID[s.ID] = s
	}
	out := make([]*Service, len(terms))
	for i, t := range terms {
		rec := byID[t.ServiceID]
		if rec == nil {
			return nil, fmt.Errorf("billing: the terms of %s have no service", t.ServiceID)
		}
		out[i] = &Service{Service: rec, Terms: t}
	}
	return out, nil
}
