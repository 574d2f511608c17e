package catalog

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/uptrace/bun"

	"github.com/ezscale/platform/core/apperr"
	"github.com/ezscale/platform/core/billing/pluginoption"
	"github.com/ezscale/platform/core/database"
	"github.com/ezscale/platform/core/money"
)

// Service types a plan can provision.
var ServiceTypes = []string{"vps", "dedicated", "hosting", "game", "kasm"}

var slugRe = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,62}$`)

// Plan is a catalog entry customers order.
type Plan struct {
	bun.BaseModel `bun:"table:plans"`

	ID string `bun:"id,pk"`
	// AccountID makes the plan private to that account (an enterprise
	// quote's custom plan): out of the public catalog, and only that
	// account's services are ordered on it or moved to it. nil: public.
	AccountID    *string        `bun:"account_id"`
	Slug         string         `bun:"slug"`
	Name         string         `bun:"name"`
	Description  string         `bun:"description"`
	ServiceType  string         `bun:"service_type"`
	Tier         string         `bun:"tier"`
	Specs        string         `bun:"specs"` // a JSON object
	Currency     money.Currency `bun:"currency"`
	MonthlyPrice int64          `bun:"monthly_price"`
	// Overrides of the derived prices of the longer cycles.
	QuarterlyPrice *int64 `bun:"quarterly_price"`
	AnnualPrice    *int64 `bun:"annual_price"`
	BiennialPrice  *int64 `bun:"biennial_price"`
	// Cycles offered, comma-separated.
	Cycles             string `bun:"cycles"`
	FreeTier           bool   `bun:"free_tier"`
	FreeTierPerAccount int    `bun:"free_tier_per_account"`
	Plugin             string `bun:"plugin"`
	PluginOptions      string `bun:"plugin_options"` // a JSON object of strings
	// OrderOptions is what customers may choose at order: a JSON object of
	// option key → the values offered ([] = any the plugin accepts).
	OrderOptions string    `bun:"order_options"`
	Active       bool      `bun:"active"`
	SortOrder    int       `bun:"sort_order"`
	CreatedAt    time.Time `bun:"created_at"`
	UpdatedAt    time.Time `bun:"updated_at"`
}

func (p *Plan) override(c money.Cycle) *int64 {
	switch c {
	case money.Quarterly:
		return p.QuarterlyPrice
	case money.Annual:
		return p.AnnualPrice
	case money.Biennial:
		return p.BiennialPrice
	}
	return nil
}

// Price is the plan's price for one cycle: the override when staff set
// one, else derived from the monthly price by the cycle's discount.
func (p *Plan) Price(c money.Cycle) int64 {
	if o := p.override(c); o != nil {
		return *o
	}
	return money.CyclePrice(p.MonthlyPrice, c)
}

// OffersCycle reports whether the plan can be ordered on cycle c.
func (p *Plan) OffersCycle(c money.Cycle) bool {
	return slices.Contains(strings.Split(p.Cycles, ","), string(c))
}

// CyclePrice is one cycle's price as the catalog shows it.
type CyclePrice struct {
	Cycle money.Cycle `json:"cycle"`
	Price int64       `json:"price"`
	// Saving against paying monthly for as many months, and as basis
	// points of that (1500 = 15 %).
	Saving     int64 `json:"saving"`
	SavingBP   int64 `json:"saving_bp"`
	Overridden bool  `json:"overridden"`
}

// Prices lists the offered cycles' prices, shortest cycle first.
func (p *Plan) Prices() []CyclePrice {
	var out []CyclePrice
	for _, c := range money.Cycles() {
		if !p.OffersCycle(c) {
			continue
		}
		price := p.Price(c)
		out = append(out, CyclePrice{
			Cycle: c, Price: price, Saving: money.Saving(p.MonthlyPrice, c, price),
			SavingBP: money.SavingBP(p.MonthlyPrice, c, price), Overridden: p.override(c) != nil,
		})
	}
	return out
}

func encodeJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("catalog: encoding %T: %v", v, err)) // maps of strings always encode
	}
	return string(b)
}

// PlanInput creates or replaces a plan.
type PlanInput struct {
	Slug               string            `json:"slug"`
	Name               string            `json:"name"`
	Description        string            `json:"description"`
	ServiceType        string            `json:"service_type"`
	Tier               string            `json:"tier"`
	Specs              json.RawMessage   `json:"specs"`
	Currency           money.Currency    `json:"currency"`
	MonthlyPrice       int64             `json:"monthly_price"`
	QuarterlyPrice     *int64            `json:"quarterly_price"`
	AnnualPrice        *int64            `json:"annual_price"`
	BiennialPrice      *int64            `json:"biennial_price"`
	Cycles             []money.Cycle     `json:"cycles"`
	FreeTier           bool              `json:"free_tier"`
	FreeTierPerAccount *int              `json:"free_tier_per_account"`
	Plugin             string            `json:"plugin"`
	PluginOptions      map[string]string `json:"plugin_options"`
	// OrderOptions are the provisioner options a customer may choose when
	// ordering: key → the values offered, or [] for any value the plugin's
	// declaration accepts. A key in plugin_options too is the default.
	OrderOptions map[string][]string `json:"order_options"`
	Active       *bool               `json:"active"`
	SortOrder    int                 `json:"sort_order"`
}

func checkPrice(errs *apperr.Fields, field string, v int64) {
	if v < 0 || v > money.MaxAmount {
		errs.Add(field, "must be a whole number of minor units from 0 to %d", money.MaxAmount)
	}
}

func (in *PlanInput) toPlan(p *Plan) error {
	var errs apperr.Fields
	in.Slug = strings.TrimSpace(in.Slug)
	if !slugRe.MatchString(in.Slug) {
		errs.Add("slug", "must be 1-63 lower-case letters, digits and dashes")
	}
	if strings.TrimSpace(in.Name) == "" || len(in.Name) > 200 {
		errs.Add("name", "is required (at most 200 characters)")
	}
	if len(in.Description) > 5000 {
		errs.Add("description", "must be at most 5000 characters")
	}
	if !slices.Contains(ServiceTypes, in.ServiceType) {
		errs.Add("service_type", "must be one of %s", strings.Join(ServiceTypes, ", "))
	}
	if len(in.Tier) > 50 {
		errs.Add("tier", "must be at most 50 characters")
	}
	specs := "{}"
	if len(in.Specs) > 0 && string(in.Specs) != "null" {
		var obj map[string]json.RawMessage
		if err := json.Unmarshal(in.Specs, &obj); err != nil || len(in.Specs) > 10000 {
			errs.Add("specs", "must be a JSON object of at most 10000 bytes")
		} else {
			specs = string(in.Specs)
		}
	}
	if !in.Currency.Valid() {
		errs.Add("currency", "must be an ISO 4217 code such as USD")
	}
	checkPrice(&errs, "monthly_price", in.MonthlyPrice)
	for _, o := range []struct {
		field string
		v     *int64
	}{{"quarterly_price", in.QuarterlyPrice}, {"annual_price", in.AnnualPrice}, {"biennial_price", in.BiennialPrice}} {
		if o.v != nil {
			checkPrice(&errs, o.field, *o.v)
		}
	}
	cycles := in.Cycles
	if len(cycles) == 0 {
		cycles = money.Cycles()
	}
	var names []string
	for _, c := range money.Cycles() {
		if slices.Contains(cycles, c) {
			names = append(names, string(c))
		}
	}
	for _, c := range cycles {
		if !c.Valid() {
			errs.Add("cycles", "%q is not a billing cycle (monthly, quarterly, annual, biennial)", c)
		}
	}
	checkDerivedPrices(&errs, in.MonthlyPrice, cycles, func(c money.Cycle) bool {
		return (&Plan{QuarterlyPrice: in.QuarterlyPrice, AnnualPrice: in.AnnualPrice, BiennialPrice: in.BiennialPrice}).override(c) != nil
	})
	if in.FreeTier {
		free := in.MonthlyPrice == 0
		for _, v := range []*int64{in.QuarterlyPrice, in.AnnualPrice, in.BiennialPrice} {
			free = free && (v == nil || *v == 0)
		}
		if !free {
			errs.Add("free_tier", "a free-tier plan must have every price 0")
		}
	}
	perAccount := 1
	if in.FreeTierPerAccount != nil {
		perAccount = *in.FreeTierPerAccount
		if perAccount < 0 || perAccount > 1000 {
			errs.Add("free_tier_per_account", "must be from 0 (no limit) to 1000")
		}
	}
	if !slugRe.MatchString(in.Plugin) {
		errs.Add("plugin", "must name a provisioner plugin block")
	}
	if len(in.PluginOptions) > 100 {
		errs.Add("plugin_options", "must have at most 100 entries")
	}
	if len(in.OrderOptions) > pluginoption.MaxOffered {
		errs.Add("order_options", "must offer at most %d options", pluginoption.MaxOffered)
	}
	if err := errs.Err(); err != nil {
		return err
	}
	active := true
	if in.Active != nil {
		active = *in.Active
	}
	opts := in.PluginOptions
	if opts == nil {
		opts = map[string]string{}
	}
	offered := pluginoption.Offered{}
	for k, vals := range in.OrderOptions {
		if vals == nil {
			vals = []string{}
		}
		offered[k] = vals
	}
	*p = Plan{
		ID: p.ID, AccountID: p.AccountID, Slug: in.Slug, Name: strings.TrimSpace(in.Name), Description: in.Description, ServiceType: in.ServiceType,
		Tier: in.Tier, Specs: specs, Currency: in.Currency, MonthlyPrice: in.MonthlyPrice, QuarterlyPrice: in.QuarterlyPrice,
		AnnualPrice: in.AnnualPrice, BiennialPrice: in.BiennialPrice, Cycles: strings.Join(names, ","), FreeTier: in.FreeTier,
		FreeTierPerAccount: perAccount, Plugin: in.Plugin, PluginOptions: encodeJSON(opts), OrderOptions: encodeJSON(offered), Active: active,
		SortOrder: in.SortOrder, CreatedAt: p.CreatedAt, UpdatedAt: p.UpdatedAt,
	}
	return nil
}

// CreatePlan adds a plan. Staff only. Errors: Invalid, Conflict (slug),
// Unprocessable (options the plugin's declaration refuses, each named),
// Unavailable (the plugin never described its options).
func (cat *Catalog) CreatePlan(ctx context.Context, in PlanInput) (*Plan, error) {
	p := &Plan{ID: newID()}
	if err := in.toPlan(p); err != nil {
		return nil, err
	}
	if err := cat.checkPlanOptions(ctx, p); err != nil {
		return nil, err
	}
	p.CreatedAt, p.UpdatedAt = cat.now(), cat.now()
	err := cat.tx(ctx, func(ctx context.Context, tx bun.Tx) error {
		if _, err := tx.NewInsert().Model(p).Exec(ctx); err != nil {
			if database.IsUniqueViolation(err) {
				return apperr.Field("slug", "is taken by another plan")
			}
			return fmt.Errorf("catalog: inserting plan: %w", err)
		}
		return appendAudit(ctx, tx, "billing.plan.create", "", "plan", p.ID, map[string]any{"slug": p.Slug, "monthly_price": p.MonthlyPrice, "currency": p.Currency})
	})
	if err != nil {
		return nil, err
	}
	return p, nil
}

// UpdatePlan replaces a plan's definition. Existing services keep the
// price they were ordered at until they change plan. A plan with live
// services keeps its provisioner plugin and service type. Staff only.
// Errors: NotFound, Invalid, Conflict, Unprocessable (plugin or
// service_type of a plan in use; options as CreatePlan), Unavailable as
// CreatePlan.
func (cat *Catalog) UpdatePlan(ctx context.Context, id string, in PlanInput) (*Plan, error) {
	var p *Plan
	err := cat.tx(ctx, func(ctx context.Context, tx bun.Tx) error {
		old, err := findPlan(ctx, tx, id)
		if err != nil {
			return err
		}
		// A private plan stays its account's.
		p = &Plan{ID: old.ID, CreatedAt: old.CreatedAt, AccountID: old.AccountID}
		if err := in.toPlan(p); err != nil {
			return err
		}
		if cat.guard != nil {
			if err := cat.guard(ctx, tx, old, p); err != nil {
				return err
			}
		}
		if err := cat.checkPlanOptions(ctx, p); err != nil {
			return err
		}
		p.UpdatedAt = cat.now()
		if _, err := tx.NewUpdate().Model(p).WherePK().ExcludeColumn("id", "created_at").Exec(ctx); err != nil {
			if database.IsUniqueViolation(err) {
				return apperr.Field("slug", "is taken by another plan")
			}
			return fmt.Errorf("catalog: updating plan: %w", err)
		}
		return appendAudit(ctx, tx, "billing.plan.update", "", "plan", p.ID, planDiff(old, p))
	})
	if err != nil {
		return nil, err
	}
	return p, nil
}

func planDiff(a, b *Plan) map[string]any {
	ch := map[string]any{}
	if a.MonthlyPrice != b.MonthlyPrice {
		ch["monthly_price"] = []int64{a.MonthlyPrice, b.MonthlyPrice}
	}
	for _, c := range money.Cycles()[1:] {
		if pa, pb := a.Price(c), b.Price(c); pa != pb {
			ch[string(c)+"_price"] = []int64{pa, pb}
		}
	}
	if a.Active != b.Active {
		ch["active"] = b.Active
	}
	if a.Slug != b.Slug {
		ch["slug"] = []string{a.Slug, b.Slug}
	}
	if a.Plugin != b.Plugin || a.PluginOptions != b.PluginOptions {
		ch["plugin"] = b.Plugin
	}
	if a.OrderOptions != b.OrderOptions {
		ch["order_options"] = sortedKeys(b.Offered())
	}
	return ch
}

// ArchivePlan stops a plan from being listed or ordered; existing services
// keep it. Staff only. Errors: NotFound.
func (cat *Catalog) ArchivePlan(ctx context.Context, id string) error {
	return cat.tx(ctx, func(ctx context.Context, tx bun.Tx) error {
		p, err := findPlan(ctx, tx, id)
		if err != nil {
			return err
		}
		if _, err := tx.NewUpdate().Model((*Plan)(nil)).Set("active = ?", false).Set("updated_at = ?", cat.now()).Where("id = ?", p.ID).Exec(ctx); err != nil {
			return fmt.Errorf("catalog: archiving plan: %w", err)
		}
		return appendAudit(ctx, tx, "billing.plan.archive", "", "plan", p.ID, nil)
	})
}

// Plan returns a plan by id or slug. Errors: NotFound.
func (cat *Catalog) Plan(ctx context.Context, idOrSlug string) (*Plan, error) {
	return findPlan(ctx, cat.db.Conn(ctx), idOrSlug)
}

// PlanTx returns the plan with that id as tx sees it. Errors: NotFound.
func (cat *Catalog) PlanTx(ctx context.Context, tx bun.IDB, id string) (*Plan, error) {
	p := &Plan{}
	err := tx.NewSelect().Model(p).Where("id = ?", id).Scan(ctx)
	if database.IsNoRows(err) {
		return nil, apperr.NotFoundf("no such plan")
	}
	if err != nil {
		return nil, fmt.Errorf("catalog: loading plan %s: %w", id, err)
	}
	return p, nil
}

// Plans lists plans in catalog order (sort_order, then id); activeOnly
// restricts to orderable plans (the public listing).
func (cat *Catalog) Plans(ctx context.Context, activeOnly bool) ([]Plan, error) {
	var out []Plan
	q := cat.db.Conn(ctx).NewSelect().Model(&out).Order("sort_order ASC", "id ASC")
	if activeOnly {
		// The public catalog: private plans are their account's alone.
		q = q.Where("active = ?", true).Where("account_id IS NULL")
	}
	if err := q.Scan(ctx); err != nil {
		return nil, fmt.Errorf("catalog: listing plans: %w", err)
	}
	return out, nil
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// checkDerivedPrices refuses a monthly price whose derived price for one
// of cycles (the quarterly, annual and biennial prices are up to 19.2
// times the monthly one) exceeds money.MaxAmount (the bound of every amount billing bills). Overridden cycles
// (overridden reports them) are checked on their own.
func checkDerivedPrices(errs *apperr.Fields, monthly int64, cycles []money.Cycle, overridden func(money.Cycle) bool) {
	if monthly < 0 || monthly > money.MaxAmount {
		return // reported on its own
	}
	for _, c := range cycles {
		if !c.Valid() || overridden(c) {
			continue
		}
		if v := money.CyclePrice(monthly, c); v > money.MaxAmount {
			errs.Add("monthly_price", "makes the %s price %d minor units, above the maximum of %d", c, v, money.MaxAmount)
			return
		}
	}
}
