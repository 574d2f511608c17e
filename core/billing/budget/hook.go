package budget

import (
	"context"
	"fmt"

	"github.com/uptrace/bun"

	"github.com/ezscale/platform/core/billing/ledger"
	"github.com/ezscale/platform/core/database"
)

// LedgerHook returns the hook to register with the ledger (AddHook). In the
// posting's transaction, for an account with a budget: a change of spend
// (an invoice payment, a charge, an invoice credit) queues a check; a card
// top-up or a payment made while budget suspensions are in force overrides
// the hard stop for the period and queues the check that lifts them.
func (s *Service) LedgerHook() ledger.Hook {
	return func(ctx context.Context, tx bun.Tx, e *ledger.Entry) error {
		switch e.Kind {
		case ledger.KindInvoicePayment, ledger.KindCharge, ledger.KindInvoiceCredit,
			ledger.KindTopUp, ledger.KindPayment:
		default:
			return nil
		}
		b := &Budget{}
		err := tx.NewSelect().Model(b).Column("account_id", "currency", "reset_day").Where("account_id = ?", e.AccountID).Scan(ctx)
		if database.IsNoRows(err) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("budget: loading budget of %s: %w", e.AccountID, err)
		}
		if e.Kind == ledger.KindTopUp || e.Kind == ledger.KindPayment {
			if err := s.override(ctx, tx, b, e); err != nil {
				return err
			}
			return nil
		}
		return s.enqueueCheck(ctx, tx, e.AccountID, e.Seq)
	}
}

// override records e as the period's override when the hard stop holds
// services of the account, and queues the check that lifts them.
func (s *Service) override(ctx context.Context, tx bun.Tx, b *Budget, e *ledger.Entry) error {
	if e.Currency != b.Currency {
		return nil
	}
	held, err := s.suspendedIDs(ctx, tx, b.AccountID)
	if err != nil || len(held) == 0 {
		return err
	}
	if e.Kind == ledger.KindTopUp && e.Reference != "" && s.topUps != nil {
		// An automatic top-up is not the customer choosing to pay past
		// their budget.
		auto, err := s.topUps.TopUpIsAutomatic(ctx, tx, e.Reference)
		if err != nil || auto {
			return err
		}
	}
	now := s.now()
	start, end := periodOf(now, b.ResetDay)
	p := &Period{AccountID: b.AccountID, PeriodStart: start, PeriodEnd: end, CheckedAt: now,
		OverriddenAt: &now, OverrideEntryID: e.ID, OverrideAmount: e.Amount}
	r, err := tx.NewRaw(`INSERT INTO budget_periods AS p
			(account_id, period_start, period_end, checked_at, overridden_at, override_entry_id, override_amount)
		VALUES (?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (account_id, period_start) DO UPDATE SET overridden_at = EXCLUDED.overridden_at,
			override_entry_id = EXCLUDED.override_entry_id, override_amount = EXCLUDED.override_amount
		WHERE p.overridden_at IS NULL`,
		p.AccountID, p.PeriodStart, p.PeriodEnd, p.CheckedAt, now, e.ID, e.Amount).Exec(ctx)
	if err != nil {
		return fmt.Errorf("budget: recording override of %s: %w", b.AccountID, err)
	}
	if n, _ := r.RowsAffected(); n == 0 {
		return nil // already overridden this period
	}
	if _, err := s.record(ctx, tx, b, p, AlertOverride, 0); err != nil {
		return err
	}
	return s.enqueueCheck(ctx, tx, b.AccountID, 0)
}
