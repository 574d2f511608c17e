package payments

import (
	"context"
	"fmt"
	"time"

	"github.com/riverqueue/river"
	"github.com/uptrace/bun"

	"github.com/ezscale/platform/core/apperr"
	"github.com/ezscale/platform/core/billing/ledger"
	"github.com/ezscale/platform/core/database"
	"github.com/ezscale/platform/core/money"
	"github.com/ezscale/platform/core/notify"
)

// Top-up statuses and sources.
const (
	TopUpPending   = "pending"
	TopUpSucceeded = "succeeded"
	TopUpFailed    = "failed"

	TopUpCard = "card"
	TopUpAuto = "auto"
)

// TopUp is a purchase of account credit with a saved payment method.
// Every attempt, manual or automatic, is one row.
type TopUp struct {
	bun.BaseModel `bun:"table:topups"`

	ID              string         `bun:"id,pk"`
	AccountID       string         `bun:"account_id"`
	Source          string         `bun:"source"`
	Amount          int64          `bun:"amount"`
	Currency        money.Currency `bun:"currency"`
	PaymentMethodID string         `bun:"payment_method_id"` // ours
	Status          string         `bun:"status"`
	PaymentID       *string        `bun:"payment_id"`
	Failure         string         `bun:"failure"`
	IdempotencyKey  string         `bun:"idempotency_key"`
	CreatedAt       time.Time      `bun:"created_at"`
	UpdatedAt       time.Time      `bun:"updated_at"`
}

// TopUpInput buys credit.
type TopUpInput struct {
	Amount int64 `json:"amount"`
	// PaymentMethodID is a saved method; empty = the default.
	PaymentMethodID string `json:"payment_method_id"`
	// IdempotencyKey: the same key returns the same top-up and charges
	// once, however often and concurrently it is sent.
	IdempotencyKey string `json:"-"`
}

// TopUp records a top-up and queues its charge; the credit arrives when the
// charge succeeds (and is applied to open invoices at once). Errors:
// Invalid, Unprocessable (no payment method).
func (s *Payments) TopUp(ctx context.Context, accountID string, in TopUpInput) (*TopUp, error) {
	if in.Amount <= 0 || money.CheckAmount(in.Amount) != nil {
		return nil, apperr.Field("amount", "must be a positive number of minor units")
	}
	if in.IdempotencyKey == "" {
		in.IdempotencyKey = newID()
	}
	var tu *TopUp
	err := s.inTx(ctx, func(ctx context.Context, t *txn) error {
		var err error
		tu, err = s.createTopUp(ctx, t, accountID, TopUpCard, in.Amount, in.PaymentMethodID, "card:"+in.IdempotencyKey)
		return err
	})
	return tu, err
}

// createTopUp stores a top-up unless one with the key exists (returned
// instead), and queues its charge.
func (s *Payments) createTopUp(ctx context.Context, t *txn, accountID, source string, amount int64, pmID, key string) (*TopUp, error) {
	if s.opts.PaymentGateway == "" {
		return nil, apperr.Refusal("payment_method_id", "gateway_not_configured", "card payments are not configured")
	}
	p, err := s.billing.ProfileTx(ctx, t, accountID)
	if err != nil {
		return nil, err
	}
	if pmID == "" {
		if p.DefaultPaymentMethodID == nil {
			return nil, apperr.Refusal("payment_method_id", "no_payment_method", "the account has no saved payment method")
		}
		pmID = *p.DefaultPaymentMethodID
	}
	if _, err := s.methodTx(ctx, t, accountID, pmID); err != nil {
		return nil, apperr.Field("payment_method_id", "no such payment method")
	}
	now := s.now()
	tu := &TopUp{
		ID: newID(), AccountID: accountID, Source: source, Amount: amount, Currency: p.Currency, PaymentMethodID: pmID,
		Status: TopUpPending, IdempotencyKey: key, CreatedAt: now, UpdatedAt: now,
	}
	res, err := t.NewInsert().Model(tu).On("CONFLICT (account_id, idempotency_key) DO NOTHING").Exec(ctx)
	if err != nil {
		return nil, fmt.Errorf("payments: recording top-up: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		prev := &TopUp{}
		if err := t.NewSelect().Model(prev).Where("account_id = ?", accountID).Where("idempotency_key = ?", key).Scan(ctx); err != nil {
			return nil, fmt.Errorf("payments: loading top-up: %w", err)
		}
		return prev, nil
	}
	t.Enqueue(topUpArgs{TopUpID: tu.ID}, nil)
	t.Audit("billing.topup.create", accountID, "topup", tu.ID, map[string]any{"amount": amount, "currency": p.Currency, "source": source})
	return tu, nil
}

// TopUps lists the account's top-ups newest first.
func (s *Payments) TopUps(ctx context.Context, accountID, after string, limit int) ([]TopUp, error) {
	var out []TopUp
	q := s.db.Conn(ctx).NewSelect().Model(&out).Where("account_id = ?", accountID).Order("id DESC").Limit(int64(limit))
	if after != "" {
		q = q.Where("id < ?", after)
	}
	if err := q.Scan(ctx); err != nil {
		return nil, fmt.Errorf("payments: listing top-ups: %w", err)
	}
	return out, nil
}

// GetTopUp returns one top-up of the account. Errors: NotFound.
func (s *Payments) GetTopUp(ctx context.Context, accountID, id string) (*TopUp, error) {
	tu := &TopUp{}
	err := s.db.Conn(ctx).NewSelect().Model(tu).Where("id = ?", id).Where("account_id = ?", accountID).Scan(ctx)
	if err != nil {
		return nil, apperr.NotFoundf("no such top-up")
	}
	return tu, nil
}

type topUpArgs struct {
	TopUpID string `json:"topup_id"`
}

func (topUpArgs) Kind() string { return "billing_topup_charge" }

func (topUpArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{MaxAttempts: 6, UniqueOpts: river.UniqueOpts{ByArgs: true}}
}

// chargeTopUp charges the top-up with key "topup:<id>" outside any transaction.
func (s *Payments) chargeTopUp(ctx context.Context, job *river.Job[topUpArgs]) error {
	tu := &TopUp{}
	if err := s.db.NewSelect().Model(tu).Where("id = ?", job.Args.TopUpID).Scan(ctx); err != nil {
		return river.JobCancel(fmt.Errorf("payments: loading top-up %s: %w", job.Args.TopUpID, err))
	}
	if tu.Status != TopUpPending {
		return nil
	}
	p, err := s.billing.Profile(ctx, tu.AccountID)
	if err != nil {
		return err
	}
	pm, err := s.methodTx(ctx, s.db.DB, tu.AccountID, tu.PaymentMethodID)
	if err != nil {
		return s.inTx(ctx, func(ctx context.Context, t *txn) error {
			return s.failTopUp(ctx, t, tu, "the payment method was removed")
		})
	}
	if p.GatewayCustomerID == "" {
		return s.inTx(ctx, func(ctx context.Context, t *txn) error {
			return s.failTopUp(ctx, t, tu, "the account has no customer at the payment gateway")
		})
	}
	pay := &Payment{
		ID: newID(), AccountID: tu.AccountID, TopUpID: &tu.ID, Gateway: pm.Gateway, PaymentMethodID: pm.GatewayMethodID,
		IdempotencyKey: "topup:" + tu.ID, Amount: tu.Amount, Currency: tu.Currency,
	}
	pay, err = s.preparePayment(ctx, pay, func(ctx context.Context, t *txn) error {
		_, err := t.NewUpdate().Model((*TopUp)(nil)).Set("payment_id = ?", pay.ID).Set("updated_at = ?", s.now()).Where("id = ?", tu.ID).Exec(ctx)
		return err
	})
	if err != nil || pay.final() {
		return err
	}
	return s.runCharge(ctx, pay, p.GatewayCustomerID, "Account credit", job.Attempt >= job.MaxAttempts)
}

func (s *Payments) topUpSucceeded(ctx context.Context, t *txn, pay *Payment) error {
	tu := &TopUp{}
	if err := t.NewSelect().Model(tu).Where("id = ?", *pay.TopUpID).Scan(ctx); err != nil {
		return fmt.Errorf("payments: loading top-up: %w", err)
	}
	if tu.Status == TopUpSucceeded {
		return nil
	}
	tu.Status, tu.Failure, tu.UpdatedAt = TopUpSucceeded, "", s.now()
	if _, err := t.NewUpdate().Model(tu).WherePK().Column("status", "failure", "updated_at").Exec(ctx); err != nil {
		return fmt.Errorf("payments: completing top-up: %w", err)
	}
	if tu.Source == TopUpAuto {
		if _, err := t.NewUpdate().Table("auto_topups").Set("failures = 0").Where("account_id = ?", tu.AccountID).Exec(ctx); err != nil {
			return fmt.Errorf("payments: resetting auto top-up failures: %w", err)
		}
	}
	t.Audit("billing.topup.succeeded", tu.AccountID, "topup", tu.ID, map[string]any{"amount": tu.Amount, "source": tu.Source})
	if _, err := s.billing.CreditArrivedTx(ctx, t.Tx, ledger.Posting{
		AccountID: tu.AccountID, Currency: tu.Currency, Amount: tu.Amount, Kind: ledger.KindTopUp,
		Reference: tu.ID, IdempotencyKey: "topup:" + tu.ID, Description: "Top-up by card",
	}, ""); err != nil {
		return err
	}
	balance, err := s.ledger.Lock(ctx, t.Tx, tu.AccountID, tu.Currency) // after it paid what it could
	if err != nil {
		return err
	}
	return s.tell(ctx, t, notify.Event{Type: notify.TopUpCompleted, AccountID: tu.AccountID, Link: "/credit", Key: "topup.completed:" + tu.ID,
		Data: map[string]any{"amount": tu.Amount, "currency": string(tu.Currency), "balance": balance}})
}

func (s *Payments) topUpFailed(ctx context.Context, t *txn, pay *Payment) error {
	tu := &TopUp{}
	if err := t.NewSelect().Model(tu).Where("id = ?", *pay.TopUpID).Scan(ctx); err != nil {
		return fmt.Errorf("payments: loading top-up: %w", err)
	}
	return s.failTopUp(ctx, t, tu, failureText(pay.FailureCode, pay.FailureMessage))
}

// failTopUp records a failed top-up; an automatic one counts towards
// disabling auto top-up.
func (s *Payments) failTopUp(ctx context.Context, t *txn, tu *TopUp, why string) error {
	if tu.Status != TopUpPending {
		return nil
	}
	tu.Status, tu.Failure, tu.UpdatedAt = TopUpFailed, database.Text(why, 500), s.now()
	if _, err := t.NewUpdate().Model(tu).WherePK().Column("status", "failure", "updated_at").Exec(ctx); err != nil {
		return fmt.Errorf("payments: failing top-up: %w", err)
	}
	t.Audit("billing.topup.failed", tu.AccountID, "topup", tu.ID, map[string]any{"amount": tu.Amount, "source": tu.Source, "failure": tu.Failure})
	if tu.Source == TopUpAuto {
		return s.autoTopUpFailed(ctx, t, tu)
	}
	return s.tell(ctx, t, notify.Event{Type: notify.TopUpFailed, AccountID: tu.AccountID, Link: "/credit",
		Data: map[string]any{"topup_id": tu.ID, "amount": tu.Amount, "currency": string(tu.Currency), "reason": tu.Failure}})
}

// TopUpIsAutomatic reports whether the top-up is one auto top-up made (not
// the customer choosing to pay), as db sees it; false for an unknown id.
func (s *Payments) TopUpIsAutomatic(ctx context.Context, db bun.IDB, topUpID string) (bool, error) {
	var source string
	err := db.NewSelect().Model((*TopUp)(nil)).Column("source").Where("id = ?", topUpID).Scan(ctx, &source)
	if err != nil && !database.IsNoRows(err) {
		return false, fmt.Errorf("payments: loading top-up %s: %w", topUpID, err)
	}
	return source == TopUpAuto, nil
}
