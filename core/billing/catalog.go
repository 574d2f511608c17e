package billing

import (
	"context"

	"github.com/uptrace/bun"

	"github.com/ezscale/platform/core/billing/pluginoption"
	"github.com/ezscale/platform/core/catalog"
	"github.com/ezscale/platform/core/money"
)

// Catalog is what billing reads of core/catalog, whose tables it never
// queries: plans, add-ons, coupons and tax rates, each as the caller's
// transaction (db) sees them, so an order or a renewal is priced from what
// its own transaction reads. *catalog.Catalog satisfies it.
type Catalog interface {
	PlanTx(ctx context.Context, db bun.IDB, id string) (*catalog.Plan, error)
	FindPlan(ctx context.Context, db bun.IDB, ref string) (*catalog.Plan, error)
	PlanByRef(ctx context.Context, db bun.IDB, ref, field string) (*catalog.Plan, error)
	FindAddon(ctx context.Context, db bun.IDB, ref string) (*catalog.Addon, error)
	PlansByID(ctx context.Context, db bun.IDB, ids []string) (map[string]*catalog.Plan, error)
	AddonsByID(ctx context.Context, db bun.IDB, ids []string) (map[string]*catalog.Addon, error)
	CouponsByID(ctx context.Context, db bun.IDB, ids []string) (map[string]*catalog.Coupon, error)
	PlanIDs(ctx context.Context, db bun.IDB, f catalog.PlanFilter) ([]string, error)
	PricedTx(ctx context.Context, db bun.IDB) (*catalog.Priced, error)
	TaxRateMap(ctx context.Context, db bun.IDB) (map[string]int64, error)
	RedeemCoupon(ctx context.Context, tx bun.Tx, code, accountID, planID string, cur money.Currency) (*catalog.Coupon, error)
	// OptionDeclaration is a provisioner plugin's option declaration: the
	// running host's, else the last one stored.
	OptionDeclaration(ctx context.Context, plugin string) (pluginoption.Declaration, error)
}
