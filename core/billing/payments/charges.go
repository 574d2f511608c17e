package payments

import (
	"context"
	"fmt"
	"time"

	"github.com/riverqueue/river"
	"github.com/uptrace/bun"

	"github.com/ezscale/platform/core/apperr"
	"github.com/ezscale/platform/core/audit"
	"github.com/ezscale/platform/core/billing"
	"github.com/ezscale/platform/core/billing/ledger"
	"github.com/ezscale/platform/core/database"
	"github.com/ezscale/platform/core/jobs"
	"github.com/ezscale/platform/core/money"
	"github.com/ezscale/platform/core/notify"
	"github.com/ezscale/platform/sdk"
	pb "github.com/ezscale/platform/sdk/pluginv1"
)

// Payment statuses.
const (
	PaymentPending        = "pending"
	PaymentProcessing     = "processing"
	PaymentSucceeded      = "succeeded"
	PaymentFailed         = "failed"
	PaymentRequiresAction = "requires_action"
)

// Payment is one charge of a saved payment method, for an invoice or a
// top-up.
type Payment struct {
	bun.BaseModel `bun:"table:payments"`

	ID              string         `bun:"id,pk"`
	AccountID       string         `bun:"account_id"`
	InvoiceID       *string        `bun:"invoice_id"`
	TopUpID         *string        `bun:"topup_id"`
	Gateway         string         `bun:"gateway"`
	PaymentMethodID string         `bun:"payment_method_id"` // the gateway's id
	IdempotencyKey  string         `bun:"idempotency_key"`
	Amount          int64          `bun:"amount"`
	Currency        money.Currency `bun:"currency"`
	Status          string         `bun:"status"`
	GatewayChargeID string         `bun:"gateway_charge_id"`
	FailureCode     string         `bun:"failure_code"`
	FailureMessage  string         `bun:"failure_message"`
	Refunded        int64          `bun:"refunded"`
	Disputed        bool           `bun:"disputed"`
	CreatedAt       time.Time      `bun:"created_at"`
	UpdatedAt       time.Time      `bun:"updated_at"`
	SucceededAt     *time.Time     `bun:"succeeded_at"`
}

func (p *Payment) final() bool {
	return p.Status == PaymentSucceeded || p.Status == PaymentFailed || p.Status == PaymentRequiresAction
}

// chargeArgs charges an open invoice to the default payment method.
// Attempt is part of the gateway's idempotency key, so a retried job is the
// same charge and the next dunning attempt a new one.
type chargeArgs struct {
	InvoiceID string `json:"invoice_id"`
	Attempt   int    `json:"attempt"`
}

func (chargeArgs) Kind() string { return "billing_charge_invoice" }

// InsertOpts: one live job per invoice and attempt. A finished job does not
// block queueing the same attempt again (a customer's "pay now" after an
// attempt that found no payment method): the payment key makes a repeat
// harmless, as it finds the attempt's payment and never charges twice.
func (chargeArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{MaxAttempts: 6, UniqueOpts: river.UniqueOpts{ByArgs: true, ByState: jobs.LiveStates}}
}

// PayInvoice applies credit to the invoice now and, if it is still unpaid,
// queues a charge of the default payment method (returned as queued).
// Errors: NotFound, Conflict (not open), Unprocessable (nothing to pay
// with).
func (s *Payments) PayInvoice(ctx context.Context, accountID, invoiceID string) (inv *billing.Invoice, queued bool, err error) {
	err = s.inTx(ctx, func(ctx context.Context, t *txn) error {
		if inv, err = s.billing.InvoiceTx(ctx, t, invoiceID, false); err != nil {
			return err
		}
		if inv.AccountID != accountID {
			return apperr.NotFoundf("no such invoice")
		}
		if inv.Status != billing.InvoiceOpen {
			return apperr.New(apperr.Conflict, "the invoice is %s", inv.Status).WithReason("invoice_" + inv.Status)
		}
		if _, err := s.billing.ApplyCreditTx(ctx, t.Tx, accountID, inv.Currency); err != nil {
			return err
		}
		if inv, err = s.billing.InvoiceTx(ctx, t, invoiceID, false); err != nil {
			return err
		}
		if inv.Status != billing.InvoiceOpen {
			return nil
		}
		p, err := s.billing.ProfileTx(ctx, t, accountID)
		if err != nil {
			return err
		}
		if s.opts.PaymentGateway == "" || p.DefaultPaymentMethodID == nil {
			return apperr.Refusal("payment_method", "no_payment_method", "the credit does not cover the invoice and there is no saved payment method")
		}
		// A customer's own request is not a dunning attempt: a fresh key.
		t.Enqueue(chargeArgs{InvoiceID: inv.ID, Attempt: inv.ChargeAttempts + 1}, nil)
		t.Audit("billing.invoice.pay", accountID, "invoice", inv.ID, map[string]any{"amount_due": inv.AmountDue()})
		queued = true
		return nil
	})
	return inv, queued, err
}

// chargeInvoice records the payment (keyed by invoice and attempt), then charges the
// gateway outside any transaction with that key, then records the outcome.
// A crash between the two is harmless: the retry finds the payment and
// repeats the charge with the same key, which the gateway answers with the
// first result.
func (s *Payments) chargeInvoice(ctx context.Context, job *river.Job[chargeArgs]) error {
	inv, err := s.billing.InvoiceTx(ctx, s.db.DB, job.Args.InvoiceID, false)
	if apperr.CodeOf(err) == apperr.NotFound {
		return river.JobCancel(err)
	}
	if err != nil {
		return err
	}
	if inv.Status != billing.InvoiceOpen || inv.AmountDue() <= 0 {
		return nil
	}
	p, err := s.billing.Profile(ctx, inv.AccountID)
	if err != nil {
		return err
	}
	if p.DefaultPaymentMethodID == nil || p.GatewayCustomerID == "" {
		return nil // nothing to charge with; the dunning notices ask for payment
	}
	pm, err := s.methodTx(ctx, s.db.DB, inv.AccountID, *p.DefaultPaymentMethodID)
	if err != nil {
		return river.JobCancel(err)
	}
	pay := &Payment{
		ID: newID(), AccountID: inv.AccountID, InvoiceID: &inv.ID, Gateway: pm.Gateway, PaymentMethodID: pm.GatewayMethodID,
		IdempotencyKey: fmt.Sprintf("invoice:%s:%d", inv.ID, job.Args.Attempt), Amount: inv.AmountDue(), Currency: inv.Currency,
	}
	pay, err = s.preparePayment(ctx, pay, func(ctx context.Context, t *txn) error {
		return s.billing.RecordChargeAttemptTx(ctx, t, inv.ID, job.Args.Attempt)
	})
	if err != nil || pay.final() {
		return err
	}
	return s.runCharge(ctx, pay, p.GatewayCustomerID, fmt.Sprintf("Invoice %s", inv.Ref()), job.Attempt >= job.MaxAttempts)
}

// preparePayment stores pay unless a payment with its key exists, which it
// returns instead; also runs more in the same transaction.
func (s *Payments) preparePayment(ctx context.Context, pay *Payment, more func(ctx context.Context, t *txn) error) (*Payment, error) {
	now := s.now()
	pay.Status, pay.CreatedAt, pay.UpdatedAt = PaymentPending, now, now
	err := s.inTx(ctx, func(ctx context.Context, t *txn) error {
		res, err := t.NewInsert().Model(pay).On("CONFLICT (idempotency_key) DO NOTHING").Exec(ctx)
		if err != nil {
			return fmt.Errorf("payments: recording payment: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			prev := &Payment{}
			if err := t.NewSelect().Model(prev).Where("idempotency_key = ?", pay.IdempotencyKey).Scan(ctx); err != nil {
				return fmt.Errorf("payments: loading payment: %w", err)
			}
			pay = prev
			return nil
		}
		t.Audit("billing.payment.start", pay.AccountID, "payment", pay.ID, map[string]any{"amount": pay.Amount, "currency": pay.Currency, "key": pay.IdempotencyKey})
		if more != nil {
			return more(ctx, t)
		}
		return nil
	})
	return pay, err
}

// runCharge charges the gateway for pay and records the outcome. An error
// that retrying may heal is returned (the job retries with the same key);
// a permanent one, or any on the last attempt, fails the payment.
func (s *Payments) runCharge(ctx context.Context, pay *Payment, customerID, description string, last bool) error {
	if err := noTx(ctx); err != nil {
		return err
	}
	gw, err := s.gateway(pay.Gateway)
	var resp *pb.ChargeResponse
	if err == nil {
		md := map[string]string{"ezscale_payment_id": pay.ID, "ezscale_account_id": pay.AccountID}
		if pay.InvoiceID != nil {
			md["ezscale_invoice_id"] = *pay.InvoiceID
		}
		resp, err = gw.Charge(ctx, &pb.ChargeRequest{
			IdempotencyKey: pay.IdempotencyKey, GatewayCustomerId: customerID, PaymentMethodId: pay.PaymentMethodID,
			Amount: &pb.Money{AmountMinor: pay.Amount, Currency: string(pay.Currency)}, Description: description, Metadata: md,
		})
	}
	if err != nil {
		if sdk.IsRetryable(err) && !last {
			return err
		}
		return s.recordCharge(ctx, pay.ID, pb.ChargeStatus_CHARGE_STATUS_FAILED, "", "gateway_error", database.Text(err.Error(), 300))
	}
	return s.recordCharge(ctx, pay.ID, resp.GetStatus(), resp.GetChargeId(), resp.GetFailureCode(), resp.GetFailureMessage())
}

// recordCharge stores a charge's outcome: a success credits the account
// (and pays the invoice the payment was for); a failure or a request for
// authentication is told to the customer.
func (s *Payments) recordCharge(ctx context.Context, paymentID string, status pb.ChargeStatus, chargeID, code, msg string) error {
	return s.inTx(ctx, func(ctx context.Context, t *txn) error {
		pay, err := s.paymentTx(ctx, t, paymentID)
		if err != nil {
			return err
		}
		if pay.final() {
			return nil
		}
		if chargeID != "" {
			pay.GatewayChargeID = chargeID
		}
		switch status {
		case pb.ChargeStatus_CHARGE_STATUS_SUCCEEDED:
			return s.paymentSucceeded(ctx, t, pay)
		case pb.ChargeStatus_CHARGE_STATUS_PENDING:
			pay.Status = PaymentProcessing
			return s.savePayment(ctx, t, pay)
		case pb.ChargeStatus_CHARGE_STATUS_REQUIRES_ACTION:
			pay.Status, pay.FailureCode, pay.FailureMessage = PaymentRequiresAction, code, msg
			if err := s.savePayment(ctx, t, pay); err != nil {
				return err
			}
			t.Audit("billing.payment.requires_action", pay.AccountID, "payment", pay.ID, map[string]any{"code": code})
			return s.tell(ctx, t, notify.Event{Type: notify.PaymentActionRequired, AccountID: pay.AccountID, Link: payLink(pay),
				Data: paymentData(pay)})
		default:
			return s.paymentFailed(ctx, t, pay, code, msg)
		}
	})
}

func payLink(pay *Payment) string {
	if pay.InvoiceID != nil {
		return "/invoices/" + *pay.InvoiceID
	}
	return "/credit"
}

func (s *Payments) savePayment(ctx context.Context, t *txn, pay *Payment) error {
	pay.UpdatedAt = s.now()
	if _, err := t.NewUpdate().Model(pay).WherePK().Column("status", "gateway_charge_id", "failure_code", "failure_message", "refunded", "disputed", "updated_at", "succeeded_at").Exec(ctx); err != nil {
		return fmt.Errorf("payments: updating payment %s: %w", pay.ID, err)
	}
	return nil
}

func (s *Payments) paymentTx(ctx context.Context, db bun.IDB, id string) (*Payment, error) {
	pay := &Payment{}
	q := db.NewSelect().Model(pay).Where("id = ?", id)
	q = database.ForUpdate(q)
	if err := q.Scan(ctx); err != nil {
		if database.IsNoRows(err) {
			return nil, apperr.NotFoundf("no such payment")
		}
		return nil, fmt.Errorf("payments: loading payment %s: %w", id, err)
	}
	return pay, nil
}

// paymentSucceeded credits the account once (the ledger key is the
// payment's) and applies it: to the invoice the payment was for, then
// oldest first. A top-up's payment completes the top-up.
func (s *Payments) paymentSucceeded(ctx context.Context, t *txn, pay *Payment) error {
	if pay.Status == PaymentSucceeded {
		return nil
	}
	now := s.now()
	pay.Status, pay.SucceededAt, pay.FailureCode, pay.FailureMessage = PaymentSucceeded, &now, "", ""
	if err := s.savePayment(ctx, t, pay); err != nil {
		return err
	}
	t.Audit("billing.payment.succeeded", pay.AccountID, "payment", pay.ID, map[string]any{"amount": pay.Amount, "charge_id": pay.GatewayChargeID})
	if pay.TopUpID != nil {
		return s.topUpSucceeded(ctx, t, pay)
	}
	invoiceID := ""
	desc := "Card payment"
	if pay.InvoiceID != nil {
		invoiceID = *pay.InvoiceID
		desc = "Card payment for an invoice"
	}
	_, err := s.billing.CreditArrivedTx(ctx, t.Tx, ledger.Posting{
		AccountID: pay.AccountID, Currency: pay.Currency, Amount: pay.Amount, Kind: ledger.KindPayment,
		Reference: pay.ID, IdempotencyKey: "payment:" + pay.ID, Description: desc,
	}, invoiceID)
	return err
}

func (s *Payments) paymentFailed(ctx context.Context, t *txn, pay *Payment, code, msg string) error {
	pay.Status, pay.FailureCode, pay.FailureMessage = PaymentFailed, code, database.Text(msg, 500)
	if err := s.savePayment(ctx, t, pay); err != nil {
		return err
	}
	t.AuditEvent(audit.Event{Action: "billing.payment.failed", Result: audit.Failure, AccountID: pay.AccountID,
		TargetType: "payment", TargetID: pay.ID, Changes: map[string]any{"code": code, "message": pay.FailureMessage, "amount": pay.Amount}})
	if pay.TopUpID != nil {
		return s.topUpFailed(ctx, t, pay)
	}
	data := paymentData(pay)
	data["reason"] = failureText(code, msg)
	return s.tell(ctx, t, notify.Event{Type: notify.PaymentFailed, AccountID: pay.AccountID, Link: payLink(pay), Data: data})
}

// paymentData is the data of the payment notices.
func paymentData(pay *Payment) map[string]any {
	d := map[string]any{"payment_id": pay.ID, "amount": pay.Amount, "currency": string(pay.Currency)}
	if pay.InvoiceID != nil {
		d["invoice_id"] = *pay.InvoiceID
	}
	return d
}

func failureText(code, msg string) string {
	if msg != "" {
		return msg
	}
	if code != "" {
		return code
	}
	return "declined"
}

// Payments lists the account's payments newest first.
func (s *Payments) Payments(ctx context.Context, accountID, after string, limit int) ([]Payment, error) {
	var out []Payment
	q := s.db.Conn(ctx).NewSelect().Model(&out).Where("account_id = ?", accountID).Order("id DESC").Limit(int64(limit))
	if after != "" {
		q = q.Where("id < ?", after)
	}
	if err := q.Scan(ctx); err != nil {
		return nil, fmt.Errorf("payments: listing payments: %w", err)
	}
	return out, nil
}

// Payment returns one payment of the account. Errors: NotFound.
func (s *Payments) Payment(ctx context.Context, accountID, id string) (*Payment, error) {
	pay := &Payment{}
	err := s.db.Conn(ctx).NewSelect().Model(pay).Where("id = ?", id).Scan(ctx)
	if database.IsNoRows(err) || (err == nil && accountID != "" && pay.AccountID != accountID) {
		return nil, apperr.NotFoundf("no such payment")
	}
	if err != nil {
		return nil, fmt.Errorf("payments: loading payment: %w", err)
	}
	return pay, nil
}
