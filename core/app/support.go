package app

import (
	"context"
	"fmt"
	"time"

	"github.com/ezscale/platform/core/services"

	"github.com/ezscale/platform/config"
	"github.com/ezscale/platform/core/accounts"
	"github.com/ezscale/platform/core/billing"
	"github.com/ezscale/platform/core/database"
	"github.com/ezscale/platform/core/scheduler"
	"github.com/ezscale/platform/core/support"
)

func supportOptions(cfg *config.Config) support.Options {
	sc := cfg.Support
	return support.Options{Assistant: sc.Assistant, Helpdesk: sc.Helpdesk, Articles: sc.Articles, Retention: sc.Retention,
		AskLimit: sc.AskLimit, AskWindow: sc.AskWindow, DailyTokens: sc.DailyTokens, MaxQuestion: sc.MaxQuestion,
		PollInterval: sc.PollInterval, AnswerTimeout: sc.AnswerTimeout, KnowledgeInterval: sc.KnowledgeInterval}
}

// supportBilling lets the support assistant read what billing knows of one
// account (its services, unpaid invoices and balance) and nothing more: no
// provisioner attributes, options, payment methods or other account.
type supportBilling struct {
	b  *billing.Billing
	db *database.DB
}

// supportContextLimit bounds the invoices read for the context.
const supportContextLimit = 50

func (s supportBilling) AccountServices(ctx context.Context, accountID string) ([]support.ServiceFact, error) {
	db := s.db.Conn(ctx)
	facts, err := s.b.AccountServiceFacts(ctx, db, accountID, services.StatusPending, services.StatusProvisioning, services.StatusActive,
		services.StatusSuspended, services.StatusFailed)
	if err != nil {
		return nil, err
	}
	cur, err := s.b.AccountCurrency(ctx, db, accountID)
	if err != nil {
		return nil, err
	}
	out := make([]support.ServiceFact, len(facts))
	for i, f := range facts {
		out[i] = support.ServiceFact{ID: f.ID, Name: f.Name, Type: f.ServiceType, Status: f.Status, Plan: f.PlanSlug, Cycle: f.Cycle,
			Price: f.Price, Currency: string(cur)}
	}
	return out, nil
}

func (s supportBilling) UnpaidInvoices(ctx context.Context, accountID string) ([]support.InvoiceFact, error) {
	invs, err := s.b.Invoices(ctx, billing.InvoiceFilter{AccountID: accountID, Status: billing.InvoiceOpen, Issued: true, Limit: supportContextLimit})
	if err != nil {
		return nil, err
	}
	out := make([]support.InvoiceFact, len(invs))
	for i, inv := range invs {
		num := ""
		if inv.Number != nil {
			num = fmt.Sprintf("#%d", *inv.Number)
		}
		out[i] = support.InvoiceFact{ID: inv.ID, Number: num, Total: inv.Total, Due: inv.AmountDue(), Currency: string(inv.Currency), DueAt: inv.DueAt}
	}
	return out, nil
}

func (s supportBilling) AccountBalance(ctx context.Context, accountID string) (support.Balance, error) {
	cur, err := s.b.AccountCurrency(ctx, s.db.Conn(ctx), accountID)
	if err != nil {
		return support.Balance{}, err
	}
	bal, err := s.b.Ledger().Balance(ctx, accountID, cur)
	if err != nil {
		return support.Balance{}, err
	}
	return support.Balance{Amount: bal.Amount, Currency: string(bal.Currency)}, nil
}

// supportActivity lets the assistant read the account's recent failed task
// runs and auto-recovery events from the scheduler.
type supportActivity struct{ s *scheduler.Service }

func (a supportActivity) FailedRuns(ctx context.Context, accountID string, since time.Time) ([]support.RunFact, error) {
	runs, err := a.s.FailedRuns(ctx, accountID, since, supportContextLimit)
	if err != nil {
		return nil, err
	}
	out := make([]support.RunFact, len(runs))
	for i, r := range runs {
		at := r.CreatedAt
		if r.CompletedAt != nil {
			at = *r.CompletedAt
		}
		out[i] = support.RunFact{ServiceID: r.ServiceID, Type: r.Type, Status: r.Status, Error: r.Error, At: at}
	}
	return out, nil
}

func (a supportActivity) RecoveryEvents(ctx context.Context, accountID string, since time.Time) ([]support.RecoveryFact, error) {
	as, err := a.s.RecentRecoveryAttempts(ctx, accountID, since, supportContextLimit)
	if err != nil {
		return nil, err
	}
	out := make([]support.RecoveryFact, len(as))
	for i, e := range as {
		out[i] = support.RecoveryFact{ServiceID: e.ServiceID, CheckType: e.CheckType, Action: e.Action, Status: e.Status, At: e.SlotAt}
	}
	return out, nil
}

// supportUsers gives the helpdesk the asking user's address.
type supportUsers struct{ a *accounts.Service }

func (u supportUsers) Contact(ctx context.Context, userID string) (string, string, error) {
	usr, err := u.a.User(ctx, userID)
	if err != nil {
		return "", "", err
	}
	return usr.Email, usr.Email, nil
}
