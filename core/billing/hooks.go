package billing

import (
	"context"

	"github.com/ezscale/platform/core/catalog"
	"github.com/uptrace/bun"
)

// InvoiceHook reacts to invoices inside the transaction that issued or
// paid them (budget caps count spend here). It must be quick and must not
// call plugins; an error rolls the transaction back. The billing run
// issues invoices in batches, so a hook gets a slice.
type InvoiceHook func(ctx context.Context, tx bun.Tx, invoices []*Invoice) error

// OrderHook checks or extends a new order inside its transaction, after
// the pending service is inserted and before its invoice: an error refuses
// the order (the free tier's rules, for instance). It must not call
// plugins.
type OrderHook func(ctx context.Context, tx bun.Tx, svc *Service, plan *catalog.Plan) error

// TransferInHook checks, inside the transaction that accepts or completes
// a service transfer, that the receiving account to may take svc: an error
// refuses the transfer (budget caps, for instance). It must not call
// plugins.
type TransferInHook func(ctx context.Context, tx bun.Tx, svc *Service, plan *catalog.Plan, to string) error

type hooks struct {
	transferIn []TransferInHook
	issued     []InvoiceHook
	paid       []InvoiceHook
	orders     []OrderHook
	ending     []EndCheck
	lines      []LinesHook
}

// OnInvoicesIssued registers h for every issued invoice (orders, renewals,
// upgrades, manual). Register while wiring, before jobs start.
func (b *Billing) OnInvoicesIssued(h InvoiceHook) { b.hooks.issued = append(b.hooks.issued, h) }

// OnInvoicePaid registers h for every invoice that becomes paid, by credit,
// card or webhook.
func (b *Billing) OnInvoicePaid(h InvoiceHook) { b.hooks.paid = append(b.hooks.paid, h) }

// OnTransferIn registers h for every service transfer a receiver accepts
// or staff complete. Register while wiring.
func (b *Billing) OnTransferIn(h TransferInHook) { b.hooks.transferIn = append(b.hooks.transferIn, h) }

// AdmitTransferTx runs the transfer-in checks (OnTransferIn) of service
// serviceID moving to account to, in tx. Errors: NotFound, and the hooks'
// refusals.
func (b *Billing) AdmitTransferTx(ctx context.Context, tx bun.Tx, serviceID, to string) error {
	if len(b.hooks.transferIn) == 0 {
		return nil
	}
	svc, err := b.serviceTx(ctx, tx, serviceID, false)
	if err != nil {
		return err
	}
	plan, err := b.catalog.PlanTx(ctx, tx, svc.PlanID)
	if err != nil {
		return err
	}
	for _, h := range b.hooks.transferIn {
		if err := h(ctx, tx, svc, plan, to); err != nil {
			return err
		}
	}
	return nil
}

// OnOrder registers h for every order. Register while wiring.
func (b *Billing) OnOrder(h OrderHook) { b.hooks.orders = append(b.hooks.orders, h) }

func (b *Billing) runOrderHooks(ctx context.Context, t *txn, svc *Service, plan *catalog.Plan) error {
	for _, h := range b.hooks.orders {
		if err := h(ctx, t.Tx, svc, plan); err != nil {
			return err
		}
	}
	return nil
}

func (b *Billing) runIssuedHooks(ctx context.Context, t *txn, invs []*Invoice) error {
	for _, h := range b.hooks.issued {
		if err := h(ctx, t.Tx, invs); err != nil {
			return err
		}
	}
	return nil
}

func (b *Billing) runPaidHooks(ctx context.Context, t *txn, inv *Invoice) error {
	for _, h := range b.hooks.paid {
		if err := h(ctx, t.Tx, []*Invoice{inv}); err != nil {
			return err
		}
	}
	return nil
}
