package support

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/ezscale/platform/core/money"
)

// ServiceFact is what the assistant is told of one of the account's
// services. Nothing else of a service (its provisioner attributes, chosen
// options, passwords) is ever read for it.
type ServiceFact struct {
	ID     string
	Name   string
	Type   string
	Status string
	Plan   string
	// Cycle and Price (minor units of Currency) are what it renews at.
	Cycle    string
	Price    int64
	Currency string
}

// InvoiceFact is one of the account's unpaid invoices.
type InvoiceFact struct {
	ID       string
	Number   string
	Total    int64
	Due      int64
	Currency string
	DueAt    time.Time
}

// Balance is the account's credit balance.
type Balance struct {
	Amount   int64
	Currency string
}

// RunFact is one failed task run; RecoveryFact one auto-recovery event.
type RunFact struct {
	ServiceID string
	Type      string
	Status    string
	Error     string
	At        time.Time
}

// RecoveryFact is one failed health check and the restart it led to.
type RecoveryFact struct {
	ServiceID string
	CheckType string
	Action    string
	Status    string
	At        time.Time
}

// Billing is what the context reads of billing (through core/app): only
// the given account's.
type Billing interface {
	AccountServices(ctx context.Context, accountID string) ([]ServiceFact, error)
	UnpaidInvoices(ctx context.Context, accountID string) ([]InvoiceFact, error)
	AccountBalance(ctx context.Context, accountID string) (Balance, error)
}

// Activity is what the context reads of the scheduler (through core/app):
// the account's recent failed task runs and auto-recovery events.
type Activity interface {
	FailedRuns(ctx context.Context, accountID string, since time.Time) ([]RunFact, error)
	RecoveryEvents(ctx context.Context, accountID string, since time.Time) ([]RecoveryFact, error)
}

// contextWindow is how far back failed runs and recovery events are told.
const contextWindow = 7 * 24 * time.Hour

// contextItems bounds each list of the context.
const contextItems = 20

// AccountContext is what the core lets the assistant know about the
// asking account, by topic, as plain lines of data: its services with
// status and plan, unpaid and overdue invoices, balance, the failed task
// runs and auto-recovery events of the last seven days, and its open
// tickets. It is read through billing and the scheduler for this account
// only, and holds no secret: no token, TOTP, card, password, provisioner
// attribute or other account.
func (s *Service) AccountContext(ctx context.Context, accountID string) (map[string]string, error) {
	now := s.now()
	out := map[string]string{"now": now.Format(time.RFC3339)}
	var lines []string
	if s.billing != nil {
		svcs, err := s.billing.AccountServices(ctx, accountID)
		if err != nil {
			return nil, err
		}
		for i, v := range svcs {
			if i == contextItems {
				lines = append(lines, fmt.Sprintf("… and %d more", len(svcs)-i))
				break
			}
			lines = append(lines, fmt.Sprintf("service %s %q: type %s, status %s, plan %s, renews %s at %s", v.ID, data(v.Name), data(v.Type),
				data(v.Status), data(v.Plan), data(v.Cycle), amount(v.Price, v.Currency)))
		}
		out["services"] = join(lines, "no services")
		lines = nil
		invs, err := s.billing.UnpaidInvoices(ctx, accountID)
		if err != nil {
			return nil, err
		}
		for i, v := range invs {
			if i == contextItems {
				lines = append(lines, fmt.Sprintf("… and %d more", len(invs)-i))
				break
			}
			state := "open"
			if v.DueAt.Before(now) {
				state = "overdue"
			}
			lines = append(lines, fmt.Sprintf("invoice %s (number %s): %s, total %s, %s due %s", v.ID, data(v.Number), state, amount(v.Total, v.Currency),
				amount(v.Due, v.Currency), v.DueAt.Format("2006-01-02")))
		}
		out["invoices"] = join(lines, "no unpaid invoices")
		lines = nil
		bal, err := s.billing.AccountBalance(ctx, accountID)
		if err != nil {
			return nil, err
		}
		out["balance"] = "credit balance " + amount(bal.Amount, bal.Currency)
	}
	if s.activity != nil {
		since := now.Add(-contextWindow)
		runs, err := s.activity.FailedRuns(ctx, accountID, since)
		if err != nil {
			return nil, err
		}
		for i, r := range runs {
			if i == contextItems {
				break
			}
			lines = append(lines, fmt.Sprintf("%s: task %s on service %s %s: %s", r.At.Format(time.RFC3339), data(r.Type), r.ServiceID, data(r.Status),
				data(r.Error)))
		}
		out["failed_tasks"] = join(lines, "none in the last 7 days")
		lines = nil
		evs, err := s.activity.RecoveryEvents(ctx, accountID, since)
		if err != nil {
			return nil, err
		}
		for i, e := range evs {
			if i == contextItems {
				break
			}
			lines = append(lines, fmt.Sprintf("%s: service %s failed its %s health check; action %s, %s", e.At.Format(time.RFC3339), e.ServiceID,
				data(e.CheckType), data(e.Action), data(e.Status)))
		}
		out["recovery_events"] = join(lines, "none in the last 7 days")
		lines = nil
	}
	var open []Conversation
	err := s.db.Conn(ctx).NewSelect().Model(&open).Where("account_id = ?", accountID).Where("ticket_id <> ''").Where("ticket_state <> 'closed'").
		OrderExpr("id DESC").Limit(contextItems).Scan(ctx)
	if err != nil {
		return nil, fmt.Errorf("support: loading the open tickets of %s: %w", accountID, err)
	}
	for _, c := range open {
		lines = append(lines, fmt.Sprintf("ticket %s %q: %s", data(c.TicketNumber), data(c.Subject), data(c.TicketStatus)))
	}
	out["open_tickets"] = join(lines, "none")
	return out, nil
}

func join(lines []string, empty string) string {
	if len(lines) == 0 {
		return empty
	}
	return strings.Join(lines, "\n")
}

// data flattens a value into one line: a value cannot start a line of its
// own in the context.
func data(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

// amount writes minor units in the currency's own decimals.
func amount(minor int64, currency string) string {
	return money.New(minor, money.Currency(currency)).String()
}
