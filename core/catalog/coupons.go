package catalog

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/uptrace/bun"

	"github.com/ezscale/platform/core/apperr"
	"github.com/ezscale/platform/core/database"
	"github.com/ezscale/platform/core/money"
)

// Coupon kinds.
const (
	CouponPercent = "percent"
	CouponFixed   = "fixed"
)

var couponCodeRe = regexp.MustCompile(`^[A-Z0-9][A-Z0-9_-]{2,39}$`)

// Coupon discounts a service's invoices for some cycles.
type Coupon struct {
	bun.BaseModel `bun:"table:coupons"`

	ID          string `bun:"id,pk"`
	Code        string `bun:"code"`
	Description string `bun:"description"`
	Kind        string `bun:"kind"`
	// PercentBP is the discount of a percent coupon in basis points.
	PercentBP int64 `bun:"percent_bp"`
	// Amount and Currency of a fixed coupon, per invoice.
	Amount   int64          `bun:"amount"`
	Currency money.Currency `bun:"currency"`
	// Cycles the discount lasts (nil = every cycle).
	Cycles          *int       `bun:"cycles"`
	MaxUses         *int       `bun:"max_uses"`
	Uses            int        `bun:"uses"`
	PerAccountLimit *int       `bun:"per_account_limit"`
	PlanIDs         string     `bun:"plan_ids"`
	ExpiresAt       *time.Time `bun:"expires_at"`
	Active          bool       `bun:"active"`
	CreatedAt       time.Time  `bun:"created_at"`
	UpdatedAt       time.Time  `bun:"updated_at"`
}

// Discount is the coupon's discount on a subtotal, rounded once and never
// more than the subtotal.
func (c *Coupon) Discount(subtotal int64) int64 {
	if subtotal <= 0 {
		return 0
	}
	if c.Kind == CouponPercent {
		return min(money.PercentOf(subtotal, c.PercentBP), subtotal)
	}
	return min(c.Amount, subtotal)
}

// CouponInput creates a coupon.
type CouponInput struct {
	Code            string         `json:"code"`
	Description     string         `json:"description"`
	Kind            string         `json:"kind"`
	PercentBP       int64          `json:"percent_bp"`
	Amount          int64          `json:"amount"`
	Currency        money.Currency `json:"currency"`
	Cycles          *int           `json:"cycles"`
	MaxUses         *int           `json:"max_uses"`
	PerAccountLimit *int           `json:"per_account_limit"`
	PlanIDs         []string       `json:"plan_ids"`
	ExpiresAt       *time.Time     `json:"expires_at"`
	Active          *bool          `json:"active"`
}

// CreateCoupon adds a coupon, for the plans plan_ids names by id or slug
// (stored as ids; none = every plan). Staff only. Errors: Invalid (an
// unknown plan too), Conflict (code).
func (cat *Catalog) CreateCoupon(ctx context.Context, in CouponInput) (*Coupon, error) {
	var errs apperr.Fields
	code := strings.ToUpper(strings.TrimSpace(in.Code))
	if !couponCodeRe.MatchString(code) {
		errs.Add("code", "must be 3-40 letters, digits, dashes or underscores")
	}
	switch in.Kind {
	case CouponPercent:
		if in.PercentBP < 1 || in.PercentBP > money.BasisPoints {
			errs.Add("percent_bp", "must be from 1 to 10000 basis points (100 %%)")
		}
		if in.Amount != 0 || in.Currency != "" {
			errs.Add("amount", "is for fixed coupons only")
		}
	case CouponFixed:
		if in.Amount < 1 || in.Amount > money.MaxAmount {
			errs.Add("amount", "must be a positive number of minor units")
		}
		if !in.Currency.Valid() {
			errs.Add("currency", "must be an ISO 4217 code such as USD")
		}
		if in.PercentBP != 0 {
			errs.Add("percent_bp", "is for percent coupons only")
		}
	default:
		errs.Add("kind", "must be percent or fixed")
	}
	for _, f := range []struct {
		name string
		v    *int
		min  int
	}{{"cycles", in.Cycles, 1}, {"max_uses", in.MaxUses, 0}, {"per_account_limit", in.PerAccountLimit, 1}} {
		if f.v != nil && (*f.v < f.min || *f.v > 1_000_000) {
			errs.Add(f.name, "must be from %d to 1000000, or null for no limit", f.min)
		}
	}
	if in.ExpiresAt != nil && !in.ExpiresAt.After(cat.now()) {
		errs.Add("expires_at", "must be in the future")
	}
	if err := errs.Err(); err != nil {
		return nil, err
	}
	plans := in.PlanIDs
	if plans == nil {
		plans = []string{}
	}
	c := &Coupon{
		ID: newID(), Code: code, Description: in.Description, Kind: in.Kind, PercentBP: in.PercentBP, Amount: in.Amount,
		Currency: in.Currency, Cycles: in.Cycles, MaxUses: in.MaxUses, PerAccountLimit: in.PerAccountLimit,
		PlanIDs: encodeJSON(plans), ExpiresAt: in.ExpiresAt, Active: in.Active == nil || *in.Active,
		CreatedAt: cat.now(), UpdatedAt: cat.now(),
	}
	if c.ExpiresAt != nil {
		t := c.ExpiresAt.UTC()
		c.ExpiresAt = &t
	}
	err := cat.tx(ctx, func(ctx context.Context, tx bun.Tx) error {
		plans, err := resolvePlans(ctx, tx, in.PlanIDs, "plan_ids")
		if err != nil {
			return err
		}
		c.PlanIDs = encodeJSON(plans)
		if _, err := tx.NewInsert().Model(c).Exec(ctx); err != nil {
			if database.IsUniqueViolation(err) {
				return apperr.Field("code", "is taken by another coupon")
			}
			return fmt.Errorf("catalog: inserting coupon: %w", err)
		}
		return appendAudit(ctx, tx, "billing.coupon.create", "", "coupon", c.ID, map[string]any{"code": c.Code, "kind": c.Kind, "max_uses": c.MaxUses})
	})
	if err != nil {
		return nil, err
	}
	return c, nil
}

// CouponPatch changes what may change after a coupon is out: its limits,
// expiry and whether it is active. Nil fields stay.
type CouponPatch struct {
	Description     *string    `json:"description"`
	MaxUses         *int       `json:"max_uses"`
	PerAccountLimit *int       `json:"per_account_limit"`
	ExpiresAt       *time.Time `json:"expires_at"`
	Active          *bool      `json:"active"`
}

// UpdateCoupon applies patch. Lowering max_uses below the uses so far is
// refused (Conflict). Staff only. Errors: NotFound, Invalid, Conflict.
func (cat *Catalog) UpdateCoupon(ctx context.Context, id string, patch CouponPatch) (*Coupon, error) {
	c := &Coupon{}
	err := cat.tx(ctx, func(ctx context.Context, tx bun.Tx) error {
		if err := tx.NewSelect().Model(c).Where("id = ?", id).Scan(ctx); err != nil {
			if database.IsNoRows(err) {
				return apperr.NotFoundf("no such coupon")
			}
			return fmt.Errorf("catalog: loading coupon: %w", err)
		}
		if patch.Description != nil {
			c.Description = *patch.Description
		}
		if patch.MaxUses != nil {
			if *patch.MaxUses < c.Uses {
				return apperr.New(apperr.Conflict, "the coupon was already used %d times", c.Uses).WithReason("below_uses")
			}
			c.MaxUses = patch.MaxUses
		}
		if patch.PerAccountLimit != nil {
			if *patch.PerAccountLimit < 1 {
				return apperr.Field("per_account_limit", "must be at least 1")
			}
			c.PerAccountLimit = patch.PerAccountLimit
		}
		if patch.ExpiresAt != nil {
			t := patch.ExpiresAt.UTC()
			c.ExpiresAt = &t
		}
		if patch.Active != nil {
			c.Active = *patch.Active
		}
		c.UpdatedAt = cat.now()
		// uses is left out: only redemption moves it, atomically.
		if _, err := tx.NewUpdate().Model(c).WherePK().Column("description", "max_uses", "per_account_limit", "expires_at", "active", "updated_at").Exec(ctx); err != nil {
			return fmt.Errorf("catalog: updating coupon: %w", err)
		}
		return appendAudit(ctx, tx, "billing.coupon.update", "", "coupon", c.ID, map[string]any{"max_uses": c.MaxUses, "active": c.Active, "expires_at": c.ExpiresAt})
	})
	if err != nil {
		return nil, err
	}
	return c, nil
}

// Coupons lists coupons by code.
func (cat *Catalog) Coupons(ctx context.Context) ([]Coupon, error) {
	var out []Coupon
	if err := cat.db.Conn(ctx).NewSelect().Model(&out).Order("code ASC").Scan(ctx); err != nil {
		return nil, fmt.Errorf("catalog: listing coupons: %w", err)
	}
	return out, nil
}

// Coupon returns a coupon by id. Errors: NotFound.
func (cat *Catalog) Coupon(ctx context.Context, id string) (*Coupon, error) {
	c := &Coupon{}
	err := cat.db.Conn(ctx).NewSelect().Model(c).Where("id = ?", id).Scan(ctx)
	if database.IsNoRows(err) {
		return nil, apperr.NotFoundf("no such coupon")
	}
	if err != nil {
		return nil, fmt.Errorf("catalog: loading coupon: %w", err)
	}
	return c, nil
}

// errCoupon is the one answer for a code that cannot be used, whatever the
// reason, with the reason for the client.
func errCoupon(reason, format string, args ...any) error {
	e := apperr.New(apperr.Unprocessable, format, args...).WithReason(reason)
	e.Fields = []apperr.FieldError{{Field: "coupon_code", Message: e.Message}}
	return e
}

// RedeemCoupon takes one use of the coupon code for accountID ordering
// planID in currency, inside tx. The database enforces the limits: max uses
// by a conditional UPDATE (uses < max_uses) and the per-account limit by a
// conditional upsert, so concurrent orders can never exceed either; the
// caller's rollback gives the use back. Errors: Unprocessable (unknown,
// inactive, expired, used up, not for this plan or currency).
func (cat *Catalog) RedeemCoupon(ctx context.Context, tx bun.Tx, code, accountID, planID string, cur money.Currency) (*Coupon, error) {
	c := &Coupon{}
	err := tx.NewSelect().Model(c).Where("code = ?", strings.ToUpper(strings.TrimSpace(code))).Scan(ctx)
	if database.IsNoRows(err) {
		return nil, errCoupon("coupon_unknown", "no such coupon")
	}
	if err != nil {
		return nil, fmt.Errorf("catalog: loading coupon: %w", err)
	}
	now := cat.now()
	switch {
	case !c.Active:
		return nil, errCoupon("coupon_inactive", "this coupon is no longer offered")
	case c.ExpiresAt != nil && !now.Before(*c.ExpiresAt):
		return nil, errCoupon("coupon_expired", "this coupon has expired")
	case c.Kind == CouponFixed && c.Currency != cur:
		return nil, errCoupon("coupon_currency", "this coupon is for %s orders", c.Currency)
	}
	if plans := decodeList(c.PlanIDs); len(plans) > 0 && !slices.Contains(plans, planID) {
		return nil, errCoupon("coupon_plan", "this coupon does not apply to this plan")
	}
	res, err := tx.NewUpdate().Model((*Coupon)(nil)).Set("uses = uses + 1").
		Where("id = ?", c.ID).Where("active = ?", true).
		Where("max_uses IS NULL OR uses < max_uses").
		Where("expires_at IS NULL OR expires_at > ?", now).Exec(ctx)
	if err != nil {
		return nil, fmt.Errorf("catalog: redeeming coupon: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return nil, errCoupon("coupon_used_up", "this coupon has been used the maximum number of times")
	}
	limitClause := ""
	args := []any{c.ID, accountID}
	if c.PerAccountLimit != nil {
		limitClause = " WHERE coupon_account_uses.uses < ?"
		args = append(args, *c.PerAccountLimit)
	}
	res, err = tx.ExecContext(ctx, "INSERT INTO coupon_account_uses (coupon_id, account_id, uses) VALUES (?, ?, 1) "+
		"ON CONFLICT (coupon_id, account_id) DO UPDATE SET uses = coupon_account_uses.uses + 1"+limitClause, args...)
	if err != nil {
		return nil, fmt.Errorf("catalog: counting the account's coupon uses: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return nil, errCoupon("coupon_account_limit", "this account has used this coupon the maximum number of times")
	}
	c.Uses++
	return c, nil
}
