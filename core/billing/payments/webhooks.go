package payments

import (
	"context"
	"fmt"
	"time"

	"github.com/uptrace/bun"

	"github.com/ezscale/platform/core/apperr"
	"github.com/ezscale/platform/sdk"
	pb "github.com/ezscale/platform/sdk/pluginv1"
)

// webhookEvent is a gateway event applied once.
type webhookEvent struct {
	bun.BaseModel `bun:"table:webhook_events"`

	Gateway    string    `bun:"gateway,pk"`
	EventID    string    `bun:"event_id,pk"`
	Type       string    `bun:"type"`
	PaymentID  *string   `bun:"payment_id"`
	Outcome    string    `bun:"outcome"`
	ReceivedAt time.Time `bun:"received_at"`
}

// Webhook outcomes.
const (
	WebhookApplied   = "applied"
	WebhookDuplicate = "duplicate"
	WebhookIgnored   = "ignored"
)

// HandleWebhook verifies a gateway webhook through its plugin (the
// signature check is the plugin's: the raw body and headers are passed on
// untouched) and applies the event once per event id. It calls the plugin
// first and opens a transaction after. The plugin's error kinds mean this
// on a webhook: Unauthenticated a bad signature, NotSupported an event type
// not subscribed to (acknowledged), InvalidInput a body that is no event;
// any other is answered by the one mapping of plugin errors
// (apperr.FromPlugin), a 503 while the plugin is down: the gateway retries.
// Errors: NotFound (no such gateway), Unauthenticated, Invalid,
// Unavailable.
func (s *Payments) HandleWebhook(ctx context.Context, gateway string, body []byte, headers map[string]string) (string, error) {
	if err := noTx(ctx); err != nil {
		return "", err
	}
	if s.gateways == nil {
		return "", apperr.New(apperr.Unavailable, "plugins are not running").WithReason("gateway_unavailable")
	}
	gw, err := s.gateways.PaymentGateway(gateway)
	if err != nil {
		return "", apperr.NotFoundf("no such payment gateway")
	}
	resp, err := gw.ParseWebhook(ctx, &pb.ParseWebhookRequest{Body: body, Headers: headers})
	switch {
	case sdk.IsKind(err, sdk.Unauthenticated):
		return "", apperr.New(apperr.Unauthenticated, "the webhook signature does not verify").WithReason("bad_signature")
	case sdk.IsKind(err, sdk.NotSupported):
		return WebhookIgnored, nil // an event type we do not subscribe to: acknowledged
	case sdk.IsKind(err, sdk.InvalidInput):
		return "", apperr.New(apperr.Invalid, "the webhook body is not an event").WithReason("bad_event")
	case err != nil:
		return "", gatewayError(err)
	}
	ev := resp.GetEvent()
	if ev.GetId() == "" {
		return "", apperr.New(apperr.Invalid, "the event has no id").WithReason("bad_event")
	}
	outcome := WebhookApplied
	err = s.inTx(ctx, func(ctx context.Context, t *txn) error {
		rec := &webhookEvent{Gateway: gateway, EventID: ev.GetId(), Type: ev.GetType(), ReceivedAt: s.now()}
		res, err := t.NewInsert().Model(rec).On("CONFLICT (gateway, event_id) DO NOTHING").Exec(ctx)
		if err != nil {
			return fmt.Errorf("payments: recording webhook event: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			outcome = WebhookDuplicate
			return nil
		}
		if ev.GetType() == "payment_method.detached" {
			acct, err := s.methodDetached(ctx, t, gateway, ev)
			if err != nil {
				return err
			}
			rec.Outcome = WebhookApplied
			if acct == "" {
				rec.Outcome = WebhookIgnored
			}
			outcome = rec.Outcome
			if _, err := t.NewUpdate().Model(rec).WherePK().Column("outcome").Exec(ctx); err != nil {
				return fmt.Errorf("payments: recording webhook outcome: %w", err)
			}
			t.Audit("billing.webhook."+ev.GetType(), acct, "webhook_event", gateway+":"+ev.GetId(), map[string]any{"outcome": outcome})
			return nil
		}
		pay, err := s.paymentForEvent(ctx, t, gateway, ev)
		if err != nil {
			return err
		}
		if pay == nil {
			outcome = WebhookIgnored // not a payment of ours (or not yet recorded)
		} else {
			rec.PaymentID = &pay.ID
			if outcome, err = s.applyEvent(ctx, t, pay, ev); err != nil {
				return err
			}
		}
		rec.Outcome = outcome
		if _, err := t.NewUpdate().Model(rec).WherePK().Column("payment_id", "outcome").Exec(ctx); err != nil {
			return fmt.Errorf("payments: recording webhook outcome: %w", err)
		}
		t.Audit("billing.webhook."+ev.GetType(), accountOf(pay), "webhook_event", gateway+":"+ev.GetId(), map[string]any{"outcome": outcome, "charge": ev.GetChargeId()})
		return nil
	})
	if err != nil {
		return "", err
	}
	return outcome, nil
}

func accountOf(p *Payment) string {
	if p == nil {
		return ""
	}
	return p.AccountID
}

// paymentForEvent finds our payment: by the id we put in the charge's
// metadata, else by the gateway's charge id.
func (s *Payments) paymentForEvent(ctx context.Context, t *txn, gateway string, ev *pb.WebhookEvent) (*Payment, error) {
	if id := ev.GetMetadata()["ezscale_payment_id"]; id != "" {
		pay, err := s.paymentTx(ctx, t, id)
		if err == nil && pay.Gateway == gateway {
			return pay, nil
		}
	}
	if ev.GetChargeId() == "" {
		return nil, nil
	}
	var id string
	err := t.NewSelect().Model((*Payment)(nil)).Column("id").Where("gateway = ?", gateway).Where("gateway_charge_id = ?", ev.GetChargeId()).
		Limit(1).Scan(ctx, &id)
	if err != nil {
		return nil, nil
	}
	return s.paymentTx(ctx, t, id)
}

// applyEvent applies one normalized event to a payment.
func (s *Payments) applyEvent(ctx context.Context, t *txn, pay *Payment, ev *pb.WebhookEvent) (string, error) {
	if ev.GetChargeId() != "" && pay.GatewayChargeID == "" {
		pay.GatewayChargeID = ev.GetChargeId()
	}
	switch ev.GetType() {
	case "charge.succeeded":
		if pay.Status == PaymentSucceeded {
			return WebhookDuplicate, nil
		}
		if amt := ev.GetAmount(); amt != nil && (amt.GetAmountMinor() != pay.Amount || amt.GetCurrency() != string(pay.Currency)) {
			// Not what we charged: acknowledged (a retry would not change
			// it) and left to staff.
			t.Audit("billing.webhook.amount_mismatch", pay.AccountID, "payment", pay.ID, map[string]any{
				"reported": amt.GetAmountMinor(), "reported_currency": amt.GetCurrency(), "expected": pay.Amount})
			return WebhookIgnored, nil
		}
		return WebhookApplied, s.paymentSucceeded(ctx, t, pay)
	case "charge.failed":
		if pay.final() {
			return WebhookDuplicate, nil
		}
		md := ev.GetMetadata()
		return WebhookApplied, s.paymentFailed(ctx, t, pay, md["ezscale_failure_code"], md["ezscale_failure_message"])
	case "charge.refunded":
		// The amount is the total refunded so far, so a repeated or late
		// event cannot count twice.
		total := ev.GetAmount().GetAmountMinor()
		if total <= pay.Refunded {
			return WebhookDuplicate, nil
		}
		var ours int64
		if err := t.NewSelect().Model((*Refund)(nil)).ColumnExpr("COALESCE(SUM(amount), 0)").Where("payment_id = ?", pay.ID).
			Where("status IN (?)", bun.List([]string{RefundPending, RefundSucceeded})).Scan(ctx, &ours); err != nil {
			return "", fmt.Errorf("payments: summing refunds: %w", err)
		}
		if total > ours {
			// Refunded outside the platform (the gateway's dashboard): the
			// credit it bought is already spent or kept, so staff reconcile.
			t.Audit("billing.payment.refunded_externally", pay.AccountID, "payment", pay.ID, map[string]any{"refunded_total": total, "through_platform": ours})
		}
		pay.Refunded = min(max(pay.Refunded, total), pay.Amount)
		return WebhookApplied, s.savePayment(ctx, t, pay)
	case "charge.disputed":
		pay.Disputed = true
		t.Audit("billing.payment.disputed", pay.AccountID, "payment", pay.ID, map[string]any{"amount": ev.GetAmount().GetAmountMinor()})
		return WebhookApplied, s.savePayment(ctx, t, pay)
	}
	return WebhookIgnored, nil
}

// methodDetached forgets a payment method the customer removed at the
// gateway; it returns the account, or "" when the customer is not ours.
func (s *Payments) methodDetached(ctx context.Context, t *txn, gateway string, ev *pb.WebhookEvent) (string, error) {
	acct, err := s.billing.AccountOfGatewayCustomerTx(ctx, t, gateway, ev.GetGatewayCustomerId())
	if err != nil || acct == "" {
		return "", err
	}
	var ids []string
	if err := t.NewSelect().Model((*PaymentMethod)(nil)).Column("id").Where("account_id = ?", acct).
		Where("gateway_method_id = ?", ev.GetMetadata()["ezscale_payment_method_id"]).Where("detached_at IS NULL").Scan(ctx, &ids); err != nil {
		return "", fmt.Errorf("payments: finding the detached method: %w", err)
	}
	for _, id := range ids {
		if err := s.detach(ctx, t, acct, id); err != nil {
			return "", err
		}
	}
	return acct, nil
}
