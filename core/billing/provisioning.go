package billing

import (
	"context"
	"fmt"

	"github.com/ezscale/platform/core/apperr"
	"github.com/ezscale/platform/core/database"
	"github.com/ezscale/platform/core/notify"
	"github.com/ezscale/platform/core/services"
)

// refundReason is the void reason of an order invoice whose payment was
// returned because its service could not be provisioned.
const refundReason = "the service could not be provisioned; the payment was returned to credit"

// refundOrder voids the paid order invoice of a service whose
// provisioning failed for good (billing's reaction on core/services,
// registered by New): what was paid returns to credit through the ledger
// (key "void:<invoice id>", so at most once whatever retries), and the
// billing members are told. The account's balance is locked before the
// service (lockAccount, the reaction's LockAccount).
func (b *Billing) refundOrder(ctx context.Context, t *txn, svc *services.Service) error {
	var inv Invoice
	err := t.NewSelect().Model(&inv).Where("service_id = ?", svc.ID).Where("reason = ?", ReasonOrder).
		Where("status = ?", InvoicePaid).Where("amount_paid > 0").OrderExpr("created_at DESC").Limit(1).Scan(ctx)
	if database.IsNoRows(err) {
		return nil // a free order, or one refunded already
	}
	if err != nil {
		return fmt.Errorf("billing: loading the order of %s: %w", svc.ID, err)
	}
	if err := b.voidTx(ctx, t, &inv, refundReason); err != nil {
		return err
	}
	t.Audit("billing.invoice.void", inv.AccountID, "invoice", inv.ID, map[string]any{"reason": refundReason, "refunded_to_credit": inv.AmountPaid, "service": svc.ID})
	data := invoiceData(&inv)
	data["amount"], data["service_id"], data["service_name"] = inv.AmountPaid, svc.ID, b.services.Name(ctx, t, svc)
	return b.tell(ctx, t, notify.Event{Type: notify.OrderRefunded, AccountID: svc.AccountID, Link: "/credit", Key: "order.refunded:" + inv.ID, Data: data})
}

// RetryProvisioning starts provisioning a failed service again, unless its
// order's payment was returned when it failed. Staff only. Errors:
// NotFound, Conflict.
func (b *Billing) RetryProvisioning(ctx context.Context, serviceID string) (*Service, error) {
	var svc *Service
	err := b.inTx(ctx, func(ctx context.Context, t *txn) error {
		var err error
		if svc, err = b.serviceTx(ctx, t, serviceID, true); err != nil {
			return err
		}
		// Only a failed service has its order refunded; whether it may be
		// provisioned again at all is core/services' rule (Conflict).
		refunded, err := t.NewSelect().Model((*Invoice)(nil)).Where("service_id = ?", svc.ID).Where("reason = ?", ReasonOrder).
			Where("status = ?", InvoiceVoid).Where("void_reason = ?", refundReason).Exists(ctx)
		if err != nil {
			return fmt.Errorf("billing: checking the order of %s: %w", svc.ID, err)
		}
		if refunded {
			return apperr.New(apperr.Conflict, "the order's payment was returned to the customer's credit when it failed; the customer orders again").WithReason("order_refunded")
		}
		return b.services.RestartProvisioningIn(ctx, t, svc.Service)
	})
	return svc, err
}
