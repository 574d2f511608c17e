package budget

import (
	"context"
	"fmt"
	"time"

	"github.com/ezscale/platform/core/services"

	"github.com/uptrace/bun"

	"github.com/ezscale/platform/core/apperr"
	"github.com/ezscale/platform/core/billing"
	"github.com/ezscale/platform/core/catalog"
	"github.com/ezscale/platform/core/database"
	"github.com/ezscale/platform/core/money"
)

// ReasonStopped is the reason of an order refused because the budget's
// hard stop would hold the new service.
const ReasonStopped = "budget_stopped"

// Attach connects budget caps to billing and core/services: the credit ledger's hook (a check
// after each debit, the override by paying), the order check (AdmitOrder),
// the receiving account's check of a service transfer (AdmitTransfer) and
// the check of a service that starts (ServiceStarted). core/app calls
// it once while wiring, before jobs start.
func (s *Service) Attach(b *billing.Billing, svcs *services.Services) {
	b.Ledger().AddHook(s.LedgerHook())
	b.OnOrder(func(ctx context.Context, tx bun.Tx, svc *billing.Service, plan *catalog.Plan) error {
		return s.AdmitOrder(ctx, tx, NewService{AccountID: svc.AccountID, ID: svc.ID, Type: plan.ServiceType, Plan: plan.Slug,
			Label: svc.Label, Cycle: string(svc.Terms.Cycle), Price: svc.Terms.Price})
	})
	b.OnTransferIn(func(ctx context.Context, tx bun.Tx, svc *billing.Service, plan *catalog.Plan, to string) error {
		return s.AdmitTransfer(ctx, tx, NewService{AccountID: to, ID: svc.ID, Type: plan.ServiceType, Plan: plan.Slug,
			Label: svc.Label, Cycle: string(svc.Terms.Cycle), Price: svc.Terms.Price})
	})
	svcs.OnStatus(func(ctx context.Context, tx bun.Tx, svc *services.Service, from string) error {
		if svc.Status != services.StatusActive || from != services.StatusProvisioning {
			return nil
		}
		return s.ServiceStarted(ctx, tx, svc.AccountID)
	})
}

// NewService is a service being ordered, as the stop rule sees it.
type NewService struct {
	AccountID string
	ID        string
	Type      string
	Plan      string // the plan's slug
	Label     string
	Cycle     string
	Price     int64
}

// AdmitOrder refuses, in the order's transaction, a new service that the
// account's hard stop would suspend at once: the hard stop is on and not
// overridden this period, and the stop rule (the default: spend at the
// limit) holds for the new service over the spend so far. A service the
// rule spares (another service type, say) is admitted. Errors:
// Unprocessable (budget_stopped).
func (s *Service) AdmitOrder(ctx context.Context, tx bun.Tx, n NewService) error {
	d, err := s.decide(ctx, tx, n, 0)
	if err != nil || d == nil {
		return err
	}
	return apperr.New(apperr.Unprocessable,
		"the account's budget hard stop is in force (%d%% of %s spent this period) and holds this service (stop rule: %s): "+
			"raise the monthly limit or turn the hard stop off (a card payment while it holds services overrides it until %s)",
		d.env.SpendPercent, money.New(d.budget.MonthlyLimit, d.budget.Currency), d.rule, d.end.Format("2006-01-02")).WithReason(ReasonStopped)
}

// ReasonReceiverStopped is the reason of a transfer refused because the
// receiving account's hard stop would hold the service.
const ReasonReceiverStopped = "receiver_budget_stopped"

// AdmitTransfer refuses, in the transaction that accepts or completes a
// service transfer, a service that would push the receiving account over
// its hard budget cap: the hard stop is on and not overridden this period,
// and the stop rule holds for the service over the spend so far plus the
// service's price per cycle (what the receiver takes on). Errors:
// Unprocessable (receiver_budget_stopped).
func (s *Service) AdmitTransfer(ctx context.Context, tx bun.Tx, n NewService) error {
	d, err := s.decide(ctx, tx, n, n.Price)
	if err != nil || d == nil {
		return err
	}
	return apperr.New(apperr.Unprocessable,
		"the receiving account's budget hard stop would hold this service: with it the account reaches %d%% of its %s monthly limit (stop rule: %s); "+
			"the receiver raises the limit or turns the hard stop off, then accepts again",
		d.env.SpendPercent, money.New(d.budget.MonthlyLimit, d.budget.Currency), d.rule).WithReason(ReasonReceiverStopped)
}

// stopDecision is a hard stop holding a service: the budget, the rule
// that held it and what it saw.
type stopDecision struct {
	budget *Budget
	rule   string
	env    Env
	end    time.Time
}

// decide evaluates the stop rule of n's account for n, with extra added
// to the spend so far; nil when the service is admitted.
func (s *Service) decide(ctx context.Context, tx bun.Tx, n NewService, extra int64) (*stopDecision, error) {
	b := &Budget{}
	err := tx.NewSelect().Model(b).Where("account_id = ?", n.AccountID).Scan(ctx)
	if database.IsNoRows(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("budget: loading budget of %s: %w", n.AccountID, err)
	}
	if !b.HardStop {
		return nil, nil
	}
	now := s.now()
	start, end := periodOf(now, b.ResetDay)
	p := &Period{}
	err = tx.NewSelect().Model(p).Where("account_id = ?", b.AccountID).Where("period_start = ?", start).Scan(ctx)
	if err != nil && !database.IsNoRows(err) {
		return nil, fmt.Errorf("budget: loading period of %s: %w", b.AccountID, err)
	}
	if err == nil && p.OverriddenAt != nil {
		return nil, nil
	}
	spend, err := s.spendOf(ctx, tx, b, start, end)
	if err != nil {
		return nil, err
	}
	services, err := s.candidates(ctx, tx, b.AccountID)
	if err != nil {
		return nil, err
	}
	env, ruleErrs := envOf(b, spend+extra, start, end, now, services)
	env.ServiceID, env.ServiceType, env.ServicePlan, env.ServiceLabel, env.ServiceCycle, env.ServicePrice =
		n.ID, n.Type, n.Plan, clip(n.Label, maxLabel), n.Cycle, n.Price
	src := b.StopRule
	if src == "" || len(ruleErrs) > 0 {
		src = DefaultStopRule
	}
	stop, err := evalSource(src, env)
	if err != nil {
		// As in a check: a rule failing on the data leaves the default
		// to decide.
		src, stop = DefaultStopRule, env.SpendPercent >= 100
	}
	if !stop {
		return nil, nil
	}
	return &stopDecision{budget: b, rule: src, env: env, end: end}, nil
}

// ServiceStarted queues a check, in tx, of an account one of whose
// services has just started at its backend, when the account has a hard
// stop: a service ordered before the stop was reached (its own order may
// have reached it) is held like the others once it runs.
func (s *Service) ServiceStarted(ctx context.Context, tx bun.Tx, accountID string) error {
	on, err := tx.NewSelect().Model((*Budget)(nil)).Where("account_id = ?", accountID).Where("hard_stop = ?", true).Exists(ctx)
	if err != nil {
		return fmt.Errorf("budget: loading budget of %s: %w", accountID, err)
	}
	if !on {
		return nil
	}
	return s.enqueueCheck(ctx, tx, accountID, 0)
}
