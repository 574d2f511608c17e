package budget

import (
	"context"
	"fmt"

	"github.com/uptrace/bun"

	"github.com/ezscale/platform/core/notify"
)

// Notifier is what budget caps need of core/notify (*notify.Service): it
// writes the in-app rows and messages of an event in the caller's
// transaction, to the account's owners, admins and billing members.
type Notifier interface {
	Notify(ctx context.Context, tx bun.Tx, ev notify.Event) error
}

// budgetLink is where every budget notice points (under the public URL).
const budgetLink = "/billing/budget"

// notify is the one call budget caps make to tell an account something, in
// tx, so the notice exists if and only if the check that caused it commits.
// Without a Notifier nobody is told.
func (s *Service) notify(ctx context.Context, tx bun.Tx, ev notify.Event) error {
	if s.notifier == nil {
		return nil
	}
	ev.Link = budgetLink
	if err := s.notifier.Notify(ctx, tx, ev); err != nil {
		return fmt.Errorf("budget: notifying %s of %s: %w", ev.AccountID, ev.Type, err)
	}
	return nil
}

// alertData is the data of a budget.alert event.
func alertData(b *Budget, p *Period, pct int64) map[string]any {
	return map[string]any{
		"percent": pct, "spent": p.Spend, "limit": b.MonthlyLimit, "currency": string(b.Currency),
		"reset_on": p.PeriodEnd.Format("2006-01-02"), "limit_reached": pct >= 100,
		// The hard stop is in force: on, and not overridden this period.
		"hard_stop": b.HardStop && p.OverriddenAt == nil,
	}
}

// serviceList is the services list of budget.stopped and budget.resumed:
// each named as the customer knows it (notify.ServiceName), never by id.
func serviceList(cs []candidate) []map[string]any {
	out := make([]map[string]any, len(cs))
	for i, c := range cs {
		name := clip(c.Name, maxLabel)
		out[i] = map[string]any{"id": c.ID, "name": name, "type": c.Type}
	}
	return out
}
