// Package payments is the payment side of billing: saved payment methods
// at the gateway, the charges of invoices, top-ups of account credit, auto
// top-up, staff refunds and the gateway's webhooks, all through a payment
// gateway plugin. It owns payment_methods, payments, refunds, topups,
// auto_topups and webhook_events. It imports billing and settles invoices
// and credit through billing's exported calls in its own transaction
// (core/billing/payer.go); billing never imports it and starts work here
// only through its Payer interface, which Attach fills.
//
// No gateway call is made inside a transaction: each charge and refund is
// a job of one shape (gatewayjob.go) that records its intent, calls the
// plugin with a key derived from what it is for (invoice and attempt,
// top-up, refund), then records the outcome, so a retried job never
// charges or refunds twice. charges.go: paying invoices; methods.go: saved
// methods; topups.go and autotopup.go: credit bought by card; refunds.go;
// webhooks.go: gateway events applied once per event id.
package payments

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/hashicorp/go-hclog"
	"github.com/riverqueue/river"
	"github.com/uptrace/bun"

	"github.com/ezscale/platform/core/accounts"
	"github.com/ezscale/platform/core/billing"
	"github.com/ezscale/platform/core/billing/ledger"
	"github.com/ezscale/platform/core/database"
	"github.com/ezscale/platform/core/jobs"
	"github.com/ezscale/platform/core/notify"
	"github.com/ezscale/platform/core/txwork"
	"github.com/ezscale/platform/sdk"
)

// Gateways is what payments needs of the plugin host; *pluginhost.Host
// satisfies it. Calls through it are never made inside a transaction.
type Gateways interface {
	PaymentGateway(name string) (sdk.PaymentGateway, error)
}

// Accounts is what payments needs of core/accounts: who the customer
// behind an account is (what the gateway is told).
type Accounts interface {
	Customers(ctx context.Context, db bun.IDB, accountIDs []string) (map[string]accounts.Customer, error)
}

// Notifier is what payments needs of core/notify.
type Notifier interface {
	Notify(ctx context.Context, tx bun.Tx, ev notify.Event) error
}

// Deps are the services payments uses.
type Deps struct {
	DB   *database.DB
	Jobs *jobs.Registry
	// Billing settles invoices and holds the profiles (default payment
	// method, gateway customer) and the credit ledger payments post to.
	// Its options configure payments too (billing.payment_gateway and the
	// charge and auto top-up settings): one source for both. Required.
	Billing *billing.Billing
	// Accounts says who the customer behind an account is. Required.
	Accounts Accounts
	// Notifier tells customers about payments and top-ups; nil tells
	// nobody.
	Notifier Notifier
	// Gateways may be nil: gateway calls then fail as unavailable (and
	// are retried).
	Gateways Gateways
	Logger   hclog.Logger
}

// Payments is the payment side of billing: saved payment methods,
// charges of invoices, top-ups, auto top-up, refunds and the gateway's
// webhooks. It alone queries payment_methods, payments, refunds, topups,
// auto_topups and webhook_events. Methods are safe for concurrent use;
// those taking a bun.Tx run inside the caller's transaction and never call
// a plugin.
type Payments struct {
	db       *database.DB
	billing  *billing.Billing
	ledger   *ledger.Ledger
	jobs     *jobs.Inserter
	work     txwork.Runner
	notifier Notifier
	accounts Accounts
	gateways Gateways
	log      hclog.Logger
	opts     billing.Options
}

// New builds payments and registers its jobs in deps.Jobs. Attach hands it
// to billing.
func New(deps Deps) *Payments {
	if deps.Logger == nil {
		deps.Logger = hclog.NewNullLogger()
	}
	s := &Payments{
		db: deps.DB, billing: deps.Billing, ledger: deps.Billing.Ledger(), jobs: deps.Jobs.Inserter(), notifier: deps.Notifier,
		accounts: deps.Accounts, gateways: deps.Gateways, log: deps.Logger, opts: deps.Billing.Options(),
	}
	s.work = txwork.NewRunner(deps.DB, s.jobs)
	jobs.Add(deps.Jobs, &gatewayJob[chargeArgs]{s: s, work: s.chargeInvoice})
	jobs.Add(deps.Jobs, &gatewayJob[topUpArgs]{s: s, work: s.chargeTopUp})
	jobs.Add(deps.Jobs, &gatewayJob[refundArgs]{s: s, work: s.refundPayment})
	jobs.Add(deps.Jobs, &autoTopUpWorker{s: s})
	return s
}

// Attach makes payments billing's payer (charges of issued invoices, the
// run's charge and auto_topup steps, a transfer's card check) and checks
// auto top-up after every debit of the credit ledger. core/app/reactions.go
// calls it while wiring.
func (s *Payments) Attach(b *billing.Billing) {
	b.PayWith(s)
	b.Ledger().AddHook(s.afterPosting)
}

func (s *Payments) now() time.Time { return s.opts.Now().UTC() }

func newID() string { return uuid.Must(uuid.NewV7()).String() }

// txn is a transaction with the audit events and jobs its work produces.
type txn = txwork.Tx

// inTx runs fn in the ambient transaction or a new one, then inserts the
// queued jobs and appends the queued audit events.
func (s *Payments) inTx(ctx context.Context, fn func(ctx context.Context, t *txn) error) error {
	return s.work.Run(ctx, fn)
}

// tell hands a typed event to the notifier in t, so the notice exists if
// and only if the change that causes it commits.
func (s *Payments) tell(ctx context.Context, t *txn, ev notify.Event) error {
	if s.notifier == nil {
		return nil
	}
	return s.notifier.Notify(ctx, t.Tx, ev)
}

func (s *Payments) gateway(name string) (sdk.PaymentGateway, error) {
	if s.gateways == nil {
		return nil, sdk.Errorf(sdk.Unavailable, "no plugin host is running")
	}
	if name == "" {
		return nil, sdk.Errorf(sdk.NotSupported, "no payment gateway is configured (billing.payment_gateway)")
	}
	g, err := s.gateways.PaymentGateway(name)
	if err != nil {
		return nil, fmt.Errorf("payment gateway plugin %q: %w", name, err)
	}
	return g, nil
}

// errInTx guards the calls that reach a plugin: they must never run while
// a transaction (and on SQLite the one write connection) is held.
var errInTx = errors.New("payments: a plugin call was attempted inside a database transaction")

func noTx(ctx context.Context) error {
	if _, ok := database.TxFrom(ctx); ok {
		return errInTx
	}
	return nil
}

// QueueChargesTx queues, in tx, the automatic charge of each invoice
// (billing.Payer): when an invoice is issued due, and by the billing run's
// charge step.
func (s *Payments) QueueChargesTx(ctx context.Context, tx bun.Tx, charges []billing.InvoiceCharge) error {
	params := make([]river.InsertManyParams, len(charges))
	for i, c := range charges {
		params[i] = river.InsertManyParams{Args: chargeArgs{InvoiceID: c.InvoiceID, Attempt: c.Attempt}}
	}
	return s.jobs.InsertManyTx(ctx, tx, params)
}
