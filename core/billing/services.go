package billing

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/uptrace/bun"

	"github.com/ezscale/platform/core/apperr"
	"github.com/ezscale/platform/core/catalog"
	"github.com/ezscale/platform/core/money"
	"github.com/ezscale/platform/core/services"
)

// Service is a service as billing shows it: the record (core/services:
// what it is and what its backend runs) and billing's terms of it.
type Service struct {
	*services.Service
	Terms *Terms
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

// optionKeyRe is what a customer's option key may be: a lower-case name
// of letters, digits, dashes and underscores.
var optionKeyRe = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,62}$`)

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
			n, err := b.services.CountLiveOnPlan(ctx, t, accountID, plan.ID)
			if err != nil {
				return err
			}
			if n >= int64(plan.FreeTierPerAccount) {
				return apperr.Refusal("plan_id", "free_tier_limit", "this account already has %d service(s) on this free plan", n)
			}
		}
		now := b.now()
		svc := &Service{Service: &services.Service{
			ID: newID(), AccountID: accountID, PlanID: plan.ID,
			Status: services.StatusPending, Environment: services.EnvironmentOf(plan), Label: strings.TrimSpace(in.Label),
			Options: services.EncodeJSON(in.Options), Attributes: "{}", CreatedAt: now, UpdatedAt: now,
		}}
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
		if err := b.services.CreateIn(ctx, t, svc.Service); err != nil {
			return err
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

func lineText(name string, c money.Cycle, start, end time.Time) string {
	return fmt.Sprintf("%s (%s) %s – %s", name, c, start.Format("2006-01-02"), end.Format("2006-01-02"))
}

// Service returns a service of the account (any account when accountID is
// empty), with its terms. Errors: NotFound.
func (b *Billing) Service(ctx context.Context, accountID, id string) (*Service, error) {
	rec, err := b.services.Service(ctx, accountID, id)
	if err != nil {
		return nil, err
	}
	return withTerms(ctx, b.db.Conn(ctx), rec)
}

func (b *Billing) serviceTx(ctx context.Context, db bun.IDB, id string, lock bool) (*Service, error) {
	rec, err := b.services.ServiceTx(ctx, db, id, lock)
	if err != nil {
		return nil, err
	}
	return withTerms(ctx, db, rec)
}

// WithTerms is a record core/services returned as billing shows it, with
// its terms (a service staff suspended, say). Errors: internal only.
func (b *Billing) WithTerms(ctx context.Context, rec *services.Service) (*Service, error) {
	return withTerms(ctx, b.db.Conn(ctx), rec)
}

// withTerms is the record as billing shows it, its terms read in db.
func withTerms(ctx context.Context, db bun.IDB, rec *services.Service) (*Service, error) {
	s := &Service{Service: rec}
	if err := loadTerms(ctx, db, s); err != nil {
		return nil, err
	}
	return s, nil
}

// Services lists services newest first, each with its terms.
func (b *Billing) Services(ctx context.Context, f services.Filter) ([]Service, error) {
	recs, err := b.services.List(ctx, f)
	if err != nil {
		return nil, err
	}
	out := make([]Service, len(recs))
	ptrs := make([]*Service, len(recs))
	for i := range recs {
		out[i] = Service{Service: &recs[i]}
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
		if err := b.lockAccountOfService(ctx, t, serviceID); err != nil {
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
		endOfTerm := in.When == "end_of_term" && svc.Terms.PeriodEnd != nil && svc.Status != services.StatusPending
		for _, inv := range open {
			if endOfTerm && inv.Reason != ReasonRenewal {
				continue // an unpaid upgrade still counts against the current term
			}
			if err := b.voidTx(ctx, t, inv, "service cancelled"); err != nil {
				return err
			}
		}
		if svc.Status == services.StatusPending {
			// Voiding its order invoice has cancelled it (voidTx).
			if svc, err = b.serviceTx(ctx, t, svc.ID, true); err != nil {
				return err
			}
		}
		if endOfTerm {
			svc.Terms.CancelAtPeriodEnd = true
			if err := saveTerms(ctx, t, svc.Terms, "cancel_at_period_end"); err != nil {
				return err
			}
			if err := b.services.UpdateIn(ctx, t, svc.Service, services.Update{}); err != nil {
				return err
			}
		} else if svc.Status != services.StatusCancelled {
			if err := b.endService(ctx, t, svc, services.StatusCancelled); err != nil {
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
