package catalog

import (
	"context"
	"fmt"
	"maps"
	"slices"

	"github.com/uptrace/bun"
)

// The lookups other domains read the catalog through. Each takes the
// caller's transaction or connection (db), so what is read is what that
// transaction sees.

// FindPlan loads a plan by id or slug as db sees it; an id wins over a
// slug that happens to spell it. Errors: NotFound.
func (cat *Catalog) FindPlan(ctx context.Context, db bun.IDB, ref string) (*Plan, error) {
	return findPlan(ctx, db, ref)
}

// PlanByRef is FindPlan for a request's field. Errors: Invalid naming
// field.
func (cat *Catalog) PlanByRef(ctx context.Context, db bun.IDB, ref, field string) (*Plan, error) {
	return planByRef(ctx, db, ref, field)
}

// FindAddon loads an add-on by id or slug as db sees it; an id wins.
// Errors: NotFound.
func (cat *Catalog) FindAddon(ctx context.Context, db bun.IDB, ref string) (*Addon, error) {
	return findAddon(ctx, db, ref)
}

// PlansByID returns the plans among ids that exist, by id.
func (cat *Catalog) PlansByID(ctx context.Context, db bun.IDB, ids []string) (map[string]*Plan, error) {
	return byID(ctx, db, ids, "plans", func(p *Plan) string { return p.ID })
}

// AddonsByID returns the add-ons among ids that exist, by id.
func (cat *Catalog) AddonsByID(ctx context.Context, db bun.IDB, ids []string) (map[string]*Addon, error) {
	return byID(ctx, db, ids, "add-ons", func(a *Addon) string { return a.ID })
}

// CouponsByID returns the coupons among ids that exist, by id.
func (cat *Catalog) CouponsByID(ctx context.Context, db bun.IDB, ids []string) (map[string]*Coupon, error) {
	return byID(ctx, db, ids, "coupons", func(c *Coupon) string { return c.ID })
}

// byID loads the rows of model T among ids (each asked once), by id.
func byID[T any](ctx context.Context, db bun.IDB, ids []string, what string, id func(*T) string) (map[string]*T, error) {
	out := map[string]*T{}
	if len(ids) == 0 {
		return out, nil
	}
	var rows []*T
	if err := db.NewSelect().Model(&rows).Where("id IN (?)", bun.List(uniq(ids))).Scan(ctx); err != nil {
		return nil, fmt.Errorf("catalog: loading %s: %w", what, err)
	}
	for _, r := range rows {
		out[id(r)] = r
	}
	return out, nil
}

// Priced is the whole catalog as one transaction sees it: what the
// billing run prices renewals from, read once per batch.
type Priced struct {
	Plans  map[string]*Plan
	Addons map[string]*Addon
	// Rates are each country's tax rate (parts per million).
	Rates map[string]int64
}

// PricedTx reads every plan, add-on and tax rate as db sees them.
func (cat *Catalog) PricedTx(ctx context.Context, db bun.IDB) (*Priced, error) {
	p := &Priced{Plans: map[string]*Plan{}, Addons: map[string]*Addon{}}
	var plans []*Plan
	if err := db.NewSelect().Model(&plans).Scan(ctx); err != nil {
		return nil, fmt.Errorf("catalog: loading plans: %w", err)
	}
	for _, pl := range plans {
		p.Plans[pl.ID] = pl
	}
	var addons []*Addon
	if err := db.NewSelect().Model(&addons).Scan(ctx); err != nil {
		return nil, fmt.Errorf("catalog: loading add-ons: %w", err)
	}
	for _, a := range addons {
		p.Addons[a.ID] = a
	}
	var err error
	if p.Rates, err = cat.TaxRateMap(ctx, db); err != nil {
		return nil, err
	}
	return p, nil
}

// PlanFilter selects plans by what they provision; empty fields select
// every plan.
type PlanFilter struct {
	ServiceType string
	Plugins     []string
}

// PlanIDs lists the ids of the plans the filter selects (archived and
// private plans included: services run on them), in id order, as db sees
// them.
func (cat *Catalog) PlanIDs(ctx context.Context, db bun.IDB, f PlanFilter) ([]string, error) {
	ids := []string{}
	q := db.NewSelect().Model((*Plan)(nil)).Column("id").Order("id ASC")
	if f.ServiceType != "" {
		q = q.Where("service_type = ?", f.ServiceType)
	}
	if f.Plugins != nil {
		if len(f.Plugins) == 0 {
			return ids, nil
		}
		q = q.Where("plugin IN (?)", bun.List(f.Plugins))
	}
	if err := q.Scan(ctx, &ids); err != nil {
		return nil, fmt.Errorf("catalog: listing plans: %w", err)
	}
	return ids, nil
}

func uniq(ids []string) []string {
	set := make(map[string]struct{}, len(ids))
	for _, id := range ids {
		set[id] = struct{}{}
	}
	return slices.Sorted(maps.Keys(set))
}
