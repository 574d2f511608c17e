// Package catalog is what a hosting company sells: plans (public, and the
// private plans of enterprise quotes), add-ons, coupons and the tax rate of
// each country, with the provisioner options staff set on plans and
// add-ons checked against the plugin's declaration (package
// billing/pluginoption). It owns the plans, addons, coupons,
// coupon_account_uses and tax_rates tables; no other package queries them.
//
// Billing prices orders, renewals and plan changes from the catalog it
// reads through the lookups here (PlanTx, PlansByID, AddonsByID,
// CouponsByID, TaxRateMap, PlanIDs, …), each taking the caller's
// transaction or connection, so a price is read in the transaction that
// charges it. Coupon redemption (RedeemCoupon) runs in the order's
// transaction, whose rollback gives the use back.
//
// What the catalog does not know is how services use a plan: a plan whose
// provisioner or service type changes while services run on it is refused
// by the guard billing gives at construction (Deps.PlanGuard).
//
// Every change writes its audit event in the same transaction (the
// events keep the billing.plan.*, billing.addon.*, billing.coupon.* and
// billing.tax_rate.* names they always had).
package catalog

import (
	"context"
	"time"

	"github.com/google/uuid"
	"github.com/uptrace/bun"

	"github.com/ezscale/platform/core/audit"
	"github.com/ezscale/platform/core/billing/pluginoption"
	"github.com/ezscale/platform/core/database"
)

// PlanGuard refuses, inside tx, a change of a plan from old to next that
// the services on it cannot follow (billing.KeepsBackendInUse).
type PlanGuard func(ctx context.Context, tx bun.IDB, old, next *Plan) error

// Deps are what the catalog uses.
type Deps struct {
	DB *database.DB
	// Options is the store of provisioners' option declarations (shared
	// with billing, which checks customers' options against the same
	// declarations); nil = a store of its own over DB.
	Options *pluginoption.Store
	// Plugins answers a running provisioner's declaration; nil = only the
	// stored ones.
	Plugins pluginoption.Live
	// PlanGuard is run before a plan's update is stored; nil = none.
	PlanGuard PlanGuard
}

// Options tune the catalog.
type Options struct {
	// Now is the clock (tests); nil = the wall clock in UTC.
	Now func() time.Time
}

// Catalog is the catalog's service. Build it with New.
type Catalog struct {
	db      *database.DB
	options *pluginoption.Store
	plugins pluginoption.Live
	guard   PlanGuard
	now     func() time.Time
}

// New builds the catalog.
func New(deps Deps, opts Options) *Catalog {
	c := &Catalog{db: deps.DB, options: deps.Options, plugins: deps.Plugins, guard: deps.PlanGuard, now: opts.Now}
	if c.now == nil {
		c.now = func() time.Time { return time.Now().UTC() }
	}
	if c.options == nil {
		c.options = pluginoption.NewStore(deps.DB, c.now)
	}
	return c
}

func newID() string { return uuid.Must(uuid.NewV7()).String() }

// tx runs fn in the ambient transaction or a new one.
func (cat *Catalog) tx(ctx context.Context, fn func(ctx context.Context, tx bun.Tx) error) error {
	return cat.db.Tx(ctx, fn)
}

// appendAudit records a catalog event as the last write of tx.
func appendAudit(ctx context.Context, tx bun.Tx, action, accountID, targetType, targetID string, changes map[string]any) error {
	_, err := audit.Append(ctx, tx, audit.Event{Action: action, AccountID: accountID, TargetType: targetType, TargetID: targetID, Changes: changes})
	return err
}
