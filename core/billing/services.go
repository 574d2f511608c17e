package billing

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/uptrace/bun"

	"github.com/ezscale/platform/core/apperr"
	"github.com/ezscale/platform/core/catalog"
	"github.com/ezscale/platform/core/database"
	"github.com/ezscale/platform/core/money"
)

// Service statuses.
//
//	pending ──paid──▶ provisioning ──created──▶ active ⇄ suspended
//	   │                   │                      │          │
//	   ▼ (unpaid, voided)  ▼ (retries exhausted)  ▼          ▼
//	cancelled            failed          cancelled / terminated
const (
	StatusPending      = "pending"
	StatusProvisioning = "provisioning"
	StatusActive       = "active"
	StatusSuspended    = "suspended"
	StatusTerminated   = "terminated"
	StatusCancelled    = "cancelled"
	StatusFailed       = "failed"
)

// Service is a customer's hosted thing (a VPS, a game server, …).
type Service struct {
	bun.BaseModel `bun:"table:services,alias:s"`

	ID        string `bun:"id,pk"`
	AccountID string `bun:"account_id"`
	PlanID    string `bun:"plan_id"`
	Status    string `bun:"status"`
	Label     string `bun:"label"`
	Options   string `bun:"options"` // customer-chosen options, JSON

	// Environment is "production", or "development" for a free-tier
	// service (a sandbox, not for production workloads).
	Environment string `bun:"environment,default:'production'"`

	// Terms are billing's terms (service_terms): set on the services
	// billing loads for itself and its API (serviceTx, Services), nil on
	// those it hands to provisioners (ServicesTx) and in facts.
	Terms *Terms `bun:"-"`
	// The provisioner's view.
	ExternalID    string `bun:"external_id"`
	Attributes    string `bun:"attributes"`
	BackendState  string `bun:"backend_state"`
	BackendPlanID string `bun:"backend_plan_id"`
	StateVersion  int    `bun:"state_version"`
	// OptionsVersion is the generation of the provisioner options (an
	// add-on with options added or removed bumps it); BackendOptionsVersion
	// is the one the provisioner confirmed. The sync job calls ChangePlan
	// while they differ.
	OptionsVersion        int        `bun:"options_version"`
	BackendOptionsVersion int        `bun:"backend_options_version"`
	ProvisionAttempts     int        `bun:"provision_attempts"`
	LastError             string     `bun:"last_error"`
	ActivatedAt           *time.Time `bun:"activated_at"`
	SuspendedAt           *time.Time `bun:"suspended_at"`
	EndedAt               *time.Time `bun:"ended_at"`
	CreatedAt             time.Time  `bun:"created_at"`
	UpdatedAt             time.Time  `bun:"updated_at"`
}

// Service environments.
const (
	EnvProduction  = "production"
	EnvDevelopment = "development"
)

// EnvironmentOf is the environment of a plan's services: free-tier
// services are development sandboxes.
func EnvironmentOf(p *catalog.Plan) string {
	if p.FreeTier {
		return EnvDevelopment
	}
	return EnvProduction
}

// liveStatuses are the statuses of a service that has not ended: it
// still exists at the backend or may. The others (terminated, cancelled,
// failed) are ended. IsLive and the queries that select live services
// read this one list.
var liveStatuses = []string{StatusPending, StatusProvisioning, StatusActive, StatusSuspended}

// IsLive reports whether a service in status has not ended (pending,
// provisioning, active, suspended). An ended service (terminated,
// cancelled, failed) or an unknown status is not live.
func IsLive(status string) bool {
	return slices.Contains(liveStatuses, status)
}

// Live reports whether the service still exists at the backend or may
// (see IsLive).
func (s *Service) Live() bool {
	return IsLive(s.Status)
}

// ServiceAddon is an add-on ordered with a service.
type ServiceAddon struct {
	bun.BaseModel `bun:"table:service_addons"`

	ServiceID string `bun:"service_id,pk"`
	AddonID   string `bun:"addon_id,pk"`
	Quantity  int    `bun:"quantity"`
	UnitPrice int64  `bun:"unit_price"`
	// PendingQuantity is the quantity from the next term when a removal
	// waits for the end of this one (0: removed then); nil: no change.
	PendingQuantity *int `bun:"pending_quantity"`
}

// NextQuantity is the quantity the next term is billed for.
func (sa *ServiceAddon) NextQuantity() int {
	if sa.PendingQuantity != nil {
		return *sa.PendingQuantity
	}
	return sa.Quantity
}

// AddonChoice is an add-on in an order.
type AddonChoice struct {
	AddonID  string `json:"addon_id"`
	Quantity int    `json:"quantity"`
}

// OrderInput orders a plan.
type OrderInput struct {
	PlanID     string        `json:"plan_id"`
	Cycle      money.Cycle   `json:"cycle"`
	CouponCode string        `json:"coupon_code"`
	Addons     []AddonChoice `json:"addons"`
	Label      string        `json:"label"`
	// Options are the customer's choices (hostname, location) passed to
	// the provisioner: only keys the plugin declares customer-choosable and
	// the plan offers (order_options), with a value offered.
	Options map[string]string `json:"options"`
}

// OrderResult is a new service and its first invoice.
type OrderResult struct {
	Service *Service
	Invoice *Invoice
}

func (in *OrderInput) validate() error {
	var errs apperr.Fields
	if in.PlanID == "" {
		errs.Add("plan_id", "is required")
	}
	if in.Cycle == "" {
		in.Cycle = money.Monthly
	}
	if !in.Cycle.Valid() {
		errs.Add("cycle", "must be monthly, quarterly, annual or biennial")
	}
	if len(in.Label) > 100 {
		errs.Add("label", "must be at most 100 characters")
	}
	if len(in.Options) > 20 {
		errs.Add("options", "must have at most 20 entries")
	}
	for k, v := range in.Options {
		if !optionKeyRe.MatchString(k) || len(v) > 255 {
			errs.Add("options."+k, "keys are lower-case names; values at most 255 characters")
		}
	}
	if len(in.Addons) > 20 {
		errs.Add("addons", "must have at most 20 entries")
	}
	seen := map[string]bool{}
	for i, a := range in.Addons {
		if a.Quantity == 0 {
			in.Addons[i].Quantity = 1
		}
		if seen[a.AddonID] {
			errs.Add(fmt.Sprintf("addons[%d].addon_id", i), "is listed twice")
		}
		seen[a.AddonID] = true
	}
	return errs.Err()
}

// Order creates a pending service and its order invoice, due now. Credit
// pays it first; what is left is charged to the default payment method.
// Once paid, the service is provisioned by a job. The account's orders are
// serialised (the balance row lock), so free-tier limits and the bound on
// unpaid orders (Options.MaxOpenOrders) hold under concurrency. Plans and
// add-ons are named by id or slug. Errors: Invalid, Unprocessable (plan not
// orderable, coupon, currency, free-tier limit, open_orders_limit,
// amount_too_large: a term whose invoice would exceed money.MaxAmount,
// options the plugin or plan does not let the customer choose, each named
// options.<key>), Unavailable (the plugin never described its options).
func (b *Billing) Order(ctx context.Context, accountID string, in OrderInput) (*OrderResult, error) {
	if err := in.validate(); err != nil {
		return nil, err
	}
	res := &OrderResult{}
	err := b.inTx(ctx, func(ctx context.Context, t *txn) error {
		p, err := b.profileTx(ctx, t, accountID)
		if err != nil {
			return err
		}
		plan, err := b.catalog.PlanByRef(ctx, t, in.PlanID, "plan_id")
		if err != nil {
			return err
		}
		switch {
		case plan.AccountID != nil && *plan.AccountID != accountID:
			return apperr.Field("plan_id", "no such plan")
		case !plan.Active:
			return apperr.Refusal("plan_id", "plan_unavailable", "this plan can no longer be ordered")
		case !plan.OffersCycle(in.Cycle):
			return apperr.Refusal("cycle", "cycle_unavailable", "this plan is not offered %s", in.Cycle)
		case plan.Currency != p.Currency:
			return apperr.Refusal("plan_id", "currency_mismatch", "this plan is priced in %s and the account pays in %s", plan.Currency, p.Currency)
		}
		if err := b.checkOrderOptions(ctx, plan, in.Options); err != nil {
			return err
		}
		if _, err := b.ledger.Lock(ctx, t.Tx, accountID, p.Currency); err != nil {
			return err
		}
		if plan.FreeTier && plan.FreeTierPerAccount > 0 {
			n, err := t.NewSelect().Model((*Service)(nil)).Where("account_id = ?", accountID).Where("plan_id = ?", plan.ID).
				Where("status IN (?)", bun.List(liveStatuses)).Count(ctx)
			if err != nil {
				return fmt.Errorf("billing: counting free services: %w", err)
			}
			if n >= int64(plan.FreeTierPerAccount) {
				return apperr.Refusal("plan_id", "free_tier_limit", "this account already has %d service(s) on this free plan", n)
			}
		}
		now := b.now()
		svc := &Service{
			ID: newID(), AccountID: accountID, PlanID: plan.ID,
			Status: StatusPending, Environment: EnvironmentOf(plan), Label: strings.TrimSpace(in.Label), Options: encodeJSON(nonNil(in.Options)), Attributes: "{}",
			CreatedAt: now, UpdatedAt: now,
		}
		terms := &Terms{ServiceID: svc.ID, Cycle: in.Cycle, Currency: p.Currency, Price: plan.Price(in.Cycle)}
		svc.Terms = terms
		var coupon *catalog.Coupon
		if in.CouponCode != "" {
			if coupon, err = b.catalog.RedeemCoupon(ctx, t.Tx, in.CouponCode, accountID, plan.ID, p.Currency); err != nil {
				return err
			}
			terms.CouponID = &coupon.ID
			if coupon.Cycles != nil {
				left := *coupon.Cycles - 1
				terms.CouponCyclesLeft = &left
			}
		}
		var addons []ServiceAddon
		var addonDefs []*catalog.Addon
		for i, choice := range in.Addons {
			a, err := b.catalog.FindAddon(ctx, t, choice.AddonID)
			if apperr.CodeOf(err) == apperr.NotFound {
				return apperr.Field(fmt.Sprintf("addons[%d].addon_id", i), "no such add-on")
			}
			if err != nil {
				return err
			}
			field := fmt.Sprintf("addons[%d]", i)
			switch {
			case !a.Active || !a.OffersPlan(plan.ID):
				return apperr.Refusal(field, "addon_unavailable", "this add-on is not offered with this plan")
			case a.Currency != p.Currency:
				return apperr.Refusal(field, "currency_mismatch", "this add-on is priced in %s", a.Currency)
			case choice.Quantity < 1 || choice.Quantity > a.MaxQuantity:
				return apperr.Field(field+".quantity", "must be from 1 to %d", a.MaxQuantity)
			}
			addons = append(addons, ServiceAddon{ServiceID: svc.ID, AddonID: a.ID, Quantity: choice.Quantity, UnitPrice: a.Price(in.Cycle)})
			addonDefs = append(addonDefs, a)
		}
		charges, field := []int64{svc.Terms.Price}, "plan_id"
		for _, a := range addons {
			charges, field = append(charges, satMul(a.Quantity, a.UnitPrice)), "addons"
		}
		if err := b.boundTerm(ctx, t, p, field, "each term's total", charges...); err != nil {
			return err
		}
		if _, err := t.NewInsert().Model(svc).Exec(ctx); err != nil {
			return fmt.Errorf("billing: inserting service: %w", err)
		}
		if _, err := t.NewInsert().Model(terms).Exec(ctx); err != nil {
			return fmt.Errorf("billing: inserting the service's terms: %w", err)
		}
		if err := b.runOrderHooks(ctx, t, svc, plan); err != nil {
			return err
		}
		if len(addons) > 0 {
			if _, err := t.NewInsert().Model(&addons).Exec(ctx); err != nil {
				return fmt.Errorf("billing: inserting service add-ons: %w", err)
			}
		}
		start := money.Date(now)
		end := money.AddCycle(start, in.Cycle, start.Day())
		d := newDraft(accountID, ReasonOrder, &svc.ID, p.Currency, now, now)
		d.inv.PeriodStart, d.inv.PeriodEnd, d.field = &start, &end, field
		d.add(LinePlan, lineText(plan.Name, in.Cycle, start, end), &svc.ID, 1, svc.Terms.Price, &start, &end)
		for i, a := range addons {
			d.add(LineAddon, lineText(addonDefs[i].Name, in.Cycle, start, end), &svc.ID, a.Quantity, a.UnitPrice, &start, &end)
		}
		if coupon != nil {
			if off := coupon.Discount(d.charged()); off > 0 {
				d.add(LineDiscount, "Coupon "+coupon.Code, &svc.ID, 1, -off, nil, nil)
			}
		}
		if err := b.createInvoice(ctx, t, d, p); err != nil {
			return err
		}
		t.Audit("billing.service.order", accountID, "service", svc.ID, map[string]any{
			"plan": plan.Slug, "cycle": in.Cycle, "price": svc.Terms.Price, "coupon": in.CouponCode, "invoice": d.inv.ID,
		})
		if err := b.afterIssue(ctx, t, d.inv); err != nil {
			return err
		}
		// Counted once credit has paid what it can: an order paid at once
		// (free, or from credit) leaves nothing unpaid.
		if err := b.checkOpenOrders(ctx, t, accountID); err != nil {
			return err
		}
		res.Invoice = d.inv
		res.Service, err = b.serviceTx(ctx, t, svc.ID, false)
		return err
	})
	if err != nil {
		return nil, err
	}
	return res, nil
}

// ReasonOpenOrdersLimit is the reason of an order refused because the
// account has billing.max_open_orders unpaid orders.
const ReasonOpenOrdersLimit = "open_orders_limit"

// checkOpenOrders refuses, inside the order's transaction (which then
// rolls back), an order that leaves the account with more than
// MaxOpenOrders unpaid orders (open order invoices), so that nobody can
// pile up pending services and invoices without paying. Orders of an
// account are serialised on its balance row, so the bound holds under
// concurrent orders.
func (b *Billing) checkOpenOrders(ctx context.Context, t *txn, accountID string) error {
	n, err := t.NewSelect().Model((*Invoice)(nil)).Where("account_id = ?", accountID).
		Where("status = ?", InvoiceOpen).Where("reason = ?", ReasonOrder).Count(ctx)
	if err != nil {
		return fmt.Errorf("billing: counting open orders: %w", err)
	}
	if n > int64(b.opts.MaxOpenOrders) {
		return apperr.New(apperr.Unprocessable, "the account has %d unpaid orders, the most it may have open (billing.max_open_orders): pay or cancel one first", n-1).
			WithReason(ReasonOpenOrdersLimit)
	}
	return nil
}

// charged is the sum of the draft's non-negative lines.
func (d *draft) charged() int64 {
	var s int64
	for _, l := range d.lines {
		if l.Amount > 0 {
			s += l.Amount
		}
	}
	return s
}

func nonNil(m map[string]string) map[string]string {
	if m == nil {
		return map[string]string{}
	}
	return m
}

func lineText(name string, c money.Cycle, start, end time.Time) string {
	return fmt.Sprintf("%s (%s) %s – %s", name, c, start.Format("2006-01-02"), end.Format("2006-01-02"))
}

// Service returns a service of the account (any account when accountID is
// empty). Errors: NotFound.
func (b *Billing) Service(ctx context.Context, accountID, id string) (*Service, error) {
	s, err := b.serviceTx(ctx, b.db.Conn(ctx), id, false)
	if err != nil {
		return nil, err
	}
	if accountID != "" && s.AccountID != accountID {
		return nil, apperr.NotFoundf("no such service")
	}
	return s, nil
}

func (b *Billing) serviceTx(ctx context.Context, db bun.IDB, id string, lock bool) (*Service, error) {
	s := &Service{}
	q := db.NewSelect().Model(s).Where("id = ?", id)
	if lock {
		q = database.ForUpdate(q)
	}
	if err := q.Scan(ctx); err != nil {
		if database.IsNoRows(err) {
			return nil, apperr.NotFoundf("no such service")
		}
		return nil, fmt.Errorf("billing: loading service %s: %w", id, err)
	}
	if err := loadTerms(ctx, db, s); err != nil {
		return nil, err
	}
	return s, nil
}

// ServiceFilter selects services for a listing.
type ServiceFilter struct {
	AccountID string
	Status    string
	// Among, when set, keeps the services it lists (or, Exclude, all but
	// those): a project's, say.
	Among *ServiceSet
	After string // id of the last service of the previous page
	Limit int
}

// ServiceSet is a set of service ids for ServiceFilter.Among.
type ServiceSet struct {
	IDs     []string
	Exclude bool
}

// Services lists services newest first.
func (b *Billing) Services(ctx context.Context, f ServiceFilter) ([]Service, error) {
	var out []Service
	q := b.db.Conn(ctx).NewSelect().Model(&out).Order("id DESC").Limit(int64(f.Limit))
	if f.AccountID != "" {
		q = q.Where("account_id = ?", f.AccountID)
	}
	if f.Status != "" {
		q = q.Where("status = ?", f.Status)
	}
	if f.Among != nil {
		switch {
		case len(f.Among.IDs) > 0 && f.Among.Exclude:
			q = q.Where("id NOT IN (?)", bun.List(f.Among.IDs))
		case len(f.Among.IDs) > 0:
			q = q.Where("id IN (?)", bun.List(f.Among.IDs))
		case !f.Among.Exclude:
			return nil, nil // among none
		}
	}
	if f.After != "" {
		q = q.Where("id < ?", f.After)
	}
	if err := q.Scan(ctx); err != nil {
		return nil, fmt.Errorf("billing: listing services: %w", err)
	}
	ptrs := make([]*Service, len(out))
	for i := range out {
		ptrs[i] = &out[i]
	}
	if err := loadTerms(ctx, b.db.Conn(ctx), ptrs...); err != nil {
		return nil, err
	}
	return out, nil
}

// ServiceAddons returns a service's add-ons.
func (b *Billing) ServiceAddons(ctx context.Context, serviceID string) ([]ServiceAddon, error) {
	var out []ServiceAddon
	if err := b.db.Conn(ctx).NewSelect().Model(&out).Where("service_id = ?", serviceID).Order("addon_id").Scan(ctx); err != nil {
		return nil, fmt.Errorf("billing: loading add-ons of %s: %w", serviceID, err)
	}
	return out, nil
}

// CancelInput cancels a service.
type CancelInput struct {
	// When is "end_of_term" (the default: the service runs until its paid
	// period ends, and its renewal invoice, if any, is voided) or "now".
	When   string `json:"when"`
	Reason string `json:"reason"`
	// ConfirmDependents ends a service that other services depend on;
	// without it that is refused (see OnEnding).
	ConfirmDependents bool `json:"confirm_dependents"`
}

// Cancel cancels a service of the account. Nothing is refunded for an
// immediate cancellation. Errors: NotFound, Invalid, Conflict (the
// service has ended; service_has_dependents without ConfirmDependents).
func (b *Billing) Cancel(ctx context.Context, accountID, serviceID string, in CancelInput) (*Service, error) {
	if in.When == "" {
		in.When = "end_of_term"
	}
	if in.When != "end_of_term" && in.When != "now" {
		return nil, apperr.Field("when", "must be end_of_term or now")
	}
	var svc *Service
	err := b.inTx(ctx, func(ctx context.Context, t *txn) error {
		if err := b.lockAccountOf(ctx, t, "services", serviceID); err != nil {
			return err
		}
		var err error
		if svc, err = b.serviceTx(ctx, t, serviceID, true); err != nil {
			return err
		}
		if accountID != "" && svc.AccountID != accountID {
			return apperr.NotFoundf("no such service")
		}
		if !svc.Live() {
			return apperr.New(apperr.Conflict, "the service is already %s", svc.Status).WithReason("service_" + svc.Status)
		}
		if err := b.checkEnd(ctx, t, svc, in.ConfirmDependents); err != nil {
			return err
		}
		// Open invoices for the service stop being owed.
		var open []*Invoice
		if err := t.NewSelect().Model(&open).Where("service_id = ?", svc.ID).Where("status = ?", InvoiceOpen).Scan(ctx); err != nil {
			return fmt.Errorf("billing: loading open invoices: %w", err)
		}
		endOfTerm := in.When == "end_of_term" && svc.Terms.PeriodEnd != nil && svc.Status != StatusPending
		for _, inv := range open {
			if endOfTerm && inv.Reason != ReasonRenewal {
				continue // an unpaid upgrade still counts against the current term
			}
			if err := b.voidTx(ctx, t, inv, "service cancelled"); err != nil {
				return err
			}
		}
		if svc.Status == StatusPending {
			// Voiding its order invoice has cancelled it (voidTx).
			if svc, err = b.serviceTx(ctx, t, svc.ID, true); err != nil {
				return err
			}
		}
		if endOfTerm {
			svc.Terms.CancelAtPeriodEnd = true
			svc.UpdatedAt = b.now()
			if err := saveTerms(ctx, t, svc.Terms, "cancel_at_period_end"); err != nil {
				return err
			}
			if _, err := t.NewUpdate().Model(svc).WherePK().Column("updated_at").Exec(ctx); err != nil {
				return fmt.Errorf("billing: scheduling cancellation: %w", err)
			}
		} else if svc.Status != StatusCancelled {
			if err := b.endService(ctx, t, svc, StatusCancelled); err != nil {
				return err
			}
		}
		t.Audit("billing.service.cancel", svc.AccountID, "service", svc.ID, map[string]any{"when": in.When, "reason": in.Reason, "confirm_dependents": in.ConfirmDependents})
		return nil
	})
	if err != nil {
		return nil, err
	}
	return svc, nil
}
