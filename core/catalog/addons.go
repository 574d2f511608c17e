package catalog

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/uptrace/bun"

	"github.com/ezscale/platform/core/apperr"
	"github.com/ezscale/platform/core/database"
	"github.com/ezscale/platform/core/money"
)

// Addon is an extra ordered with a service (an IP address, a backup slot).
// Its price per cycle is derived from the monthly price like a plan's.
type Addon struct {
	bun.BaseModel `bun:"table:addons"`

	ID            string         `bun:"id,pk"`
	Slug          string         `bun:"slug"`
	Name          string         `bun:"name"`
	Description   string         `bun:"description"`
	Currency      money.Currency `bun:"currency"`
	MonthlyPrice  int64          `bun:"monthly_price"`
	PlanIDs       string         `bun:"plan_ids"` // JSON array; [] = every plan
	MaxQuantity   int            `bun:"max_quantity"`
	PluginOptions string         `bun:"plugin_options"`
	Active        bool           `bun:"active"`
	CreatedAt     time.Time      `bun:"created_at"`
	UpdatedAt     time.Time      `bun:"updated_at"`
}

// Price is the add-on's unit price for one cycle.
func (a *Addon) Price(c money.Cycle) int64 { return money.CyclePrice(a.MonthlyPrice, c) }

// Plans returns the ids of the plans it is offered with (nil = all).
func (a *Addon) Plans() []string { return decodeList(a.PlanIDs) }

// OffersPlan reports whether the add-on may be ordered with plan id.
func (a *Addon) OffersPlan(id string) bool {
	ps := a.Plans()
	return len(ps) == 0 || slices.Contains(ps, id)
}

func decodeList(s string) []string {
	var out []string
	_ = json.Unmarshal([]byte(s), &out)
	return out
}

// AddonInput creates or replaces an add-on.
type AddonInput struct {
	Slug          string            `json:"slug"`
	Name          string            `json:"name"`
	Description   string            `json:"description"`
	Currency      money.Currency    `json:"currency"`
	MonthlyPrice  int64             `json:"monthly_price"`
	PlanIDs       []string          `json:"plan_ids"`
	MaxQuantity   int               `json:"max_quantity"`
	PluginOptions map[string]string `json:"plugin_options"`
	Active        *bool             `json:"active"`
}

func (in *AddonInput) toAddon(a *Addon) error {
	var errs apperr.Fields
	if !slugRe.MatchString(in.Slug) {
		errs.Add("slug", "must be 1-63 lower-case letters, digits and dashes")
	}
	if strings.TrimSpace(in.Name) == "" || len(in.Name) > 200 {
		errs.Add("name", "is required (at most 200 characters)")
	}
	if !in.Currency.Valid() {
		errs.Add("currency", "must be an ISO 4217 code such as USD")
	}
	checkPrice(&errs, "monthly_price", in.MonthlyPrice)
	// An add-on is priced for the cycle of each service it joins.
	checkDerivedPrices(&errs, in.MonthlyPrice, money.Cycles(), func(money.Cycle) bool { return false })
	if in.MaxQuantity == 0 {
		in.MaxQuantity = 1
	}
	if in.MaxQuantity < 1 || in.MaxQuantity > 1000 {
		errs.Add("max_quantity", "must be from 1 to 1000")
	}
	if len(in.PlanIDs) > 500 {
		errs.Add("plan_ids", "must list at most 500 plans")
	}
	if err := errs.Err(); err != nil {
		return err
	}
	plans := in.PlanIDs
	if plans == nil {
		plans = []string{}
	}
	opts := in.PluginOptions
	if opts == nil {
		opts = map[string]string{}
	}
	active := in.Active == nil || *in.Active
	*a = Addon{
		ID: a.ID, Slug: in.Slug, Name: strings.TrimSpace(in.Name), Description: in.Description, Currency: in.Currency,
		MonthlyPrice: in.MonthlyPrice, PlanIDs: encodeJSON(plans), MaxQuantity: in.MaxQuantity,
		PluginOptions: encodeJSON(opts), Active: active, CreatedAt: a.CreatedAt, UpdatedAt: a.UpdatedAt,
	}
	return nil
}

// CreateAddon adds an add-on, offered with the plans plan_ids names by id
// or slug (stored as ids; none = every plan). Staff only. Errors: Invalid
// (an unknown plan too), Conflict, Unprocessable (options a plugin of its
// plans refuses, each named), Unavailable (such a plugin never described
// its options).
func (cat *Catalog) CreateAddon(ctx context.Context, in AddonInput) (*Addon, error) {
	a := &Addon{ID: newID(), CreatedAt: cat.now(), UpdatedAt: cat.now()}
	if err := in.toAddon(a); err != nil {
		return nil, err
	}
	err := cat.tx(ctx, func(ctx context.Context, tx bun.Tx) error {
		plans, err := resolvePlans(ctx, tx, in.PlanIDs, "plan_ids")
		if err != nil {
			return err
		}
		a.PlanIDs = encodeJSON(plans)
		if err := cat.checkAddonOptions(ctx, tx, a); err != nil {
			return err
		}
		if _, err := tx.NewInsert().Model(a).Exec(ctx); err != nil {
			if database.IsUniqueViolation(err) {
				return apperr.Field("slug", "is taken by another add-on")
			}
			return fmt.Errorf("catalog: inserting add-on: %w", err)
		}
		return appendAudit(ctx, tx, "billing.addon.create", "", "addon", a.ID, map[string]any{"slug": a.Slug, "monthly_price": a.MonthlyPrice})
	})
	if err != nil {
		return nil, err
	}
	return a, nil
}

// UpdateAddon replaces an add-on. Staff only. Errors: NotFound, Invalid,
// Conflict, Unprocessable and Unavailable as CreateAddon.
func (cat *Catalog) UpdateAddon(ctx context.Context, id string, in AddonInput) (*Addon, error) {
	var a *Addon
	err := cat.tx(ctx, func(ctx context.Context, tx bun.Tx) error {
		old, err := findAddon(ctx, tx, id)
		if err != nil {
			return err
		}
		a = &Addon{ID: old.ID, CreatedAt: old.CreatedAt, UpdatedAt: cat.now()}
		if err := in.toAddon(a); err != nil {
			return err
		}
		plans, err := resolvePlans(ctx, tx, in.PlanIDs, "plan_ids")
		if err != nil {
			return err
		}
		a.PlanIDs = encodeJSON(plans)
		if err := cat.checkAddonOptions(ctx, tx, a); err != nil {
			return err
		}
		if _, err := tx.NewUpdate().Model(a).WherePK().ExcludeColumn("id", "created_at").Exec(ctx); err != nil {
			if database.IsUniqueViolation(err) {
				return apperr.Field("slug", "is taken by another add-on")
			}
			return fmt.Errorf("catalog: updating add-on: %w", err)
		}
		return appendAudit(ctx, tx, "billing.addon.update", "", "addon", a.ID, map[string]any{"monthly_price": []int64{old.MonthlyPrice, a.MonthlyPrice}, "active": a.Active})
	})
	if err != nil {
		return nil, err
	}
	return a, nil
}

// ArchiveAddon stops an add-on from being ordered. Staff only.
func (cat *Catalog) ArchiveAddon(ctx context.Context, id string) error {
	return cat.tx(ctx, func(ctx context.Context, tx bun.Tx) error {
		a, err := findAddon(ctx, tx, id)
		if err != nil {
			return err
		}
		res, err := tx.NewUpdate().Model((*Addon)(nil)).Set("active = ?", false).Set("updated_at = ?", cat.now()).Where("id = ?", a.ID).Exec(ctx)
		if err != nil {
			return fmt.Errorf("catalog: archiving add-on: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return apperr.NotFoundf("no such add-on")
		}
		return appendAudit(ctx, tx, "billing.addon.archive", "", "addon", a.ID, nil)
	})
}

// Addons lists add-ons by slug; activeOnly for the public catalog.
func (cat *Catalog) Addons(ctx context.Context, activeOnly bool) ([]Addon, error) {
	var out []Addon
	q := cat.db.Conn(ctx).NewSelect().Model(&out).Order("slug ASC")
	if activeOnly {
		q = q.Where("active = ?", true)
	}
	if err := q.Scan(ctx); err != nil {
		return nil, fmt.Errorf("catalog: listing add-ons: %w", err)
	}
	return out, nil
}

// Addon returns an add-on by id or slug. Errors: NotFound.
func (cat *Catalog) Addon(ctx context.Context, id string) (*Addon, error) {
	return findAddon(ctx, cat.db.Conn(ctx), id)
}
