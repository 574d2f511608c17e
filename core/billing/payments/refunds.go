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
	"github.com/ezscale/platform/sdk"
	pb "github.com/ezscale/platform/sdk/pluginv1"
)

// Refund statuses.
const (
	RefundPending   = "pending"
	RefundSucceeded = "succeeded"
	RefundFailed    = "failed"
)

// Refund pays account credit back to the card of an earlier payment.
type Refund struct {
	bun.BaseModel `bun:"table:refunds"`

	ID              string         `bun:"id,pk"`
	AccountID       string         `bun:"account_id"`
	PaymentID       string         `bun:"payment_id"`
	Amount          int64          `bun:"amount"`
	Currency        money.Currency `bun:"currency"`
	Reason          string         `bun:"reason"`
	Status          string         `bun:"status"`
	GatewayRefundID string         `bun:"gateway_refund_id"`
	Failure         string         `bun:"failure"`
	IdempotencyKey  string         `bun:"idempotency_key"`
	CreatedAt       time.Time      `bun:"created_at"`
	UpdatedAt       time.Time      `bun:"updated_at"`
}

// RefundInput refunds credit to a payment's card.
type RefundInput struct {
	PaymentID      string `json:"payment_id"`
	Amount         int64  `json:"amount"`
	Reason         string `json:"reason"`
	IdempotencyKey string `json:"-"`
}

// Refund takes the amount off the account's credit at once (never below
// zero) and queues the gateway refund of the payment; if the gateway
// refuses, the credit is given back. To refund a paid invoice, void it
// first (its amount returns to credit). Staff only. Errors: Invalid,
// NotFound, Unprocessable (more than refundable), PaymentRequired
// (insufficient credit).
func (s *Payments) Refund(ctx context.Context, accountID string, in RefundInput) (*Refund, error) {
	if in.Amount <= 0 || money.CheckAmount(in.Amount) != nil {
		return nil, apperr.Field("amount", "must be a positive number of minor units")
	}
	if len(in.Reason) > 200 {
		return nil, apperr.Field("reason", "must be at most 200 characters")
	}
	if in.IdempotencyKey == "" {
		in.IdempotencyKey = newID()
	}
	var r *Refund
	err := s.inTx(ctx, func(ctx context.Context, t *txn) error {
		pay, err := s.paymentTx(ctx, t, in.PaymentID)
		if err != nil || pay.AccountID != accountID {
			return apperr.Field("payment_id", "no such payment")
		}
		prev := &Refund{}
		err = t.NewSelect().Model(prev).Where("account_id = ?", accountID).Where("idempotency_key = ?", in.IdempotencyKey).Scan(ctx)
		if err == nil {
			r = prev
			return nil
		}
		if !database.IsNoRows(err) {
			return fmt.Errorf("payments: looking up refund key: %w", err)
		}
		if pay.Status != PaymentSucceeded {
			return apperr.Refusal("payment_id", "payment_not_succeeded", "only a succeeded payment can be refunded")
		}
		var inFlight int64
		if err := t.NewSelect().Model((*Refund)(nil)).ColumnExpr("COALESCE(SUM(amount), 0)").Where("payment_id = ?", pay.ID).
			Where("status = ?", RefundPending).Scan(ctx, &inFlight); err != nil {
			return fmt.Errorf("payments: summing refunds: %w", err)
		}
		if left := pay.Amount - pay.Refunded - inFlight; in.Amount > left {
			return apperr.Refusal("amount", "refund_too_large", "at most %s of this payment can still be refunded", money.New(left, pay.Currency))
		}
		now := s.now()
		r = &Refund{ID: newID(), AccountID: accountID, PaymentID: pay.ID, Amount: in.Amount, Currency: pay.Currency, Reason: in.Reason,
			Status: RefundPending, IdempotencyKey: in.IdempotencyKey, CreatedAt: now, UpdatedAt: now}
		if _, err := t.NewInsert().Model(r).Exec(ctx); err != nil {
			return fmt.Errorf("payments: recording refund: %w", err)
		}
		if _, err := s.ledger.Post(ctx, t.Tx, ledger.Posting{AccountID: accountID, Currency: pay.Currency, Amount: -in.Amount,
			Kind: ledger.KindRefund, Reference: r.ID, IdempotencyKey: "refund:" + r.ID, Description: "Refund to card"}); err != nil {
			return err
		}
		t.Enqueue(refundArgs{RefundID: r.ID}, nil)
		t.Audit("billing.refund.create", accountID, "refund", r.ID, map[string]any{"payment": pay.ID, "amount": in.Amount, "reason": in.Reason})
		return nil
	})
	return r, err
}

type refundArgs struct {
	RefundID string `json:"refund_id"`
}

func (refundArgs) Kind() string { return "billing_refund" }

func (refundArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{MaxAttempts: 8, UniqueOpts: river.UniqueOpts{ByArgs: true}}
}

// refundPayment asks the gateway to refund (key "refund:<id>", so a retry refunds
// once). A refusal gives the credit back; an outage is retried, and after
// the last attempt the refund stays pending for staff (money may have
// moved: the gateway's refund webhook settles it).
func (s *Payments) refundPayment(ctx context.Context, job *river.Job[refundArgs]) error {
	r := &Refund{}
	if err := s.db.NewSelect().Model(r).Where("id = ?", job.Args.RefundID).Scan(ctx); err != nil {
		return river.JobCancel(fmt.Errorf("payments: loading refund: %w", err))
	}
	if r.Status != RefundPending {
		return nil
	}
	pay, err := s.Payment(ctx, "", r.PaymentID)
	if err != nil {
		return err
	}
	gw, err := s.gateway(pay.Gateway)
	var resp *pb.RefundResponse
	if err == nil {
		resp, err = gw.Refund(ctx, &pb.RefundRequest{IdempotencyKey: "refund:" + r.ID, ChargeId: pay.GatewayChargeID,
			Amount: &pb.Money{AmountMinor: r.Amount, Currency: string(r.Currency)}, Reason: r.Reason})
	}
	switch {
	case err != nil && !sdk.IsRetryable(err):
		return s.finishRefund(ctx, r.ID, RefundFailed, "", database.Text(err.Error(), 300))
	case err != nil:
		if job.Attempt >= job.MaxAttempts {
			_ = s.inTx(ctx, func(ctx context.Context, t *txn) error {
				t.Audit("billing.refund.stuck", r.AccountID, "refund", r.ID, map[string]any{"error": database.Text(err.Error(), 300)})
				return nil
			})
		}
		return err
	case resp.GetStatus() == "failed":
		return s.finishRefund(ctx, r.ID, RefundFailed, resp.GetRefundId(), "the gateway refused the refund")
	}
	return s.finishRefund(ctx, r.ID, RefundSucceeded, resp.GetRefundId(), "")
}

func (s *Payments) finishRefund(ctx context.Context, id, status, gatewayID, failure string) error {
	return s.inTx(ctx, func(ctx context.Context, t *txn) error {
		r := &Refund{}
		if err := t.NewSelect().Model(r).Where("id = ?", id).Scan(ctx); err != nil {
			return fmt.Errorf("payments: loading refund: %w", err)
		}
		if r.Status != RefundPending {
			return nil
		}
		r.Status, r.GatewayRefundID, r.Failure, r.UpdatedAt = status, gatewayID, failure, s.now()
		if _, err := t.NewUpdate().Model(r).WherePK().Column("status", "gateway_refund_id", "failure", "updated_at").Exec(ctx); err != nil {
			return fmt.Errorf("payments: updating refund: %w", err)
		}
		if status == RefundSucceeded {
			if _, err := t.NewUpdate().Model((*Payment)(nil)).Set("refunded = refunded + ?", r.Amount).Set("updated_at = ?", s.now()).
				Where("id = ?", r.PaymentID).Exec(ctx); err != nil {
				return fmt.Errorf("payments: recording refund on payment: %w", err)
			}
			t.Audit("billing.refund.succeeded", r.AccountID, "refund", r.ID, map[string]any{"amount": r.Amount})
			return nil
		}
		t.Audit("billing.refund.failed", r.AccountID, "refund", r.ID, map[string]any{"amount": r.Amount, "failure": failure})
		_, err := s.billing.CreditArrivedTx(ctx, t.Tx, ledger.Posting{AccountID: r.AccountID, Currency: r.Currency, Amount: r.Amount,
			Kind: ledger.KindRefundReversal, Reference: r.ID, IdempotencyKey: "refund-reversal:" + r.ID, Description: "Refund refused by the gateway"}, "")
		return err
	})
}

// Refunds lists the account's refunds newest first.
func (s *Payments) Refunds(ctx context.Context, accountID string, limit int) ([]Refund, error) {
	var out []Refund
	if err := s.db.Conn(ctx).NewSelect().Model(&out).Where("account_id = ?", accountID).Order("id DESC").Limit(int64(limit)).Scan(ctx); err != nil {
		return nil, fmt.Errorf("payments: listing refunds: %w", err)
	}
	return out, nil
}
