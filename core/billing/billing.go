package billing

import (
	"cmp"
	"context"
	"time"

	"github.com/google/uuid"
	"github.com/hashicorp/go-hclog"
	"github.com/uptrace/bun"

	"github.com/ezscale/platform/core/billing/ledger"
	"github.com/ezscale/platform/core/database"
	"github.com/ezscale/platform/core/jobs"
	"github.com/ezscale/platform/core/money"
	"github.com/ezscale/platform/core/notify"
	"github.com/ezscale/platform/core/services"
	"github.com/ezscale/platform/core/txwork"
)

// Options tune billing (see config.Billing).
type Options struct {
	// Currency of accounts without a billing profile.
	Currency money.Currency
	// InvoiceDaysBefore: a renewal invoice is generated this many days
	// before the service's due date.
	InvoiceDaysBefore int
	// SuspendAfterDays / TerminateAfterDays past an invoice's due date.
	SuspendAfterDays   int
	TerminateAfterDays int
	// RunAt is the daily run's time of day in UTC, "HH:MM".
	RunAt string
	// PaymentGateway names the payment gateway plugin ("" = card payments
	// off). It, the charge settings and AutoTopUpMaxFailures configure
	// payments (core/billing/payments) too, which reads them from billing:
	// one source for both.
	PaymentGateway string
	// ChargeMaxAttempts bounds automatic charges of one invoice, made at
	// most every ChargeRetryDays.
	ChargeMaxAttempts int
	ChargeRetryDays   int
	// RemindEveryDays spaces overdue reminders.
	RemindEveryDays int
	// AutoTopUpMaxFailures disables an auto top-up after that many failed
	// charges in a row (the default for new settings).
	AutoTopUpMaxFailures int
	// MaxOpenOrders bounds an account's unpaid orders (open order
	// invoices): one more is refused until one is paid or cancelled.
	MaxOpenOrders int
	// RetryBase is the first retry delay of provisioning, sync and payment
	// jobs, doubling per attempt up to RetryMax. A plugin's retry-after
	// hint is honoured when it asks for longer (up to RetryMax).
	RetryBase, RetryMax time.Duration
	// BatchSize is how many rows a billing-run step handles per
	// transaction.
	BatchSize int
	// Now is the clock (tests); nil = the wall clock in UTC.
	Now func() time.Time
}

// DefaultOptions are billing's settings when nothing is configured: the
// configuration's defaults (config.Default) are composed from them, and tests
// start from them, so both run billing as production does.
func DefaultOptions() Options {
	return Options{
		Currency:             "USD",
		InvoiceDaysBefore:    7,
		SuspendAfterDays:     7,
		TerminateAfterDays:   30,
		RunAt:                "00:10",
		ChargeMaxAttempts:    4,
		ChargeRetryDays:      2,
		RemindEveryDays:      3,
		AutoTopUpMaxFailures: 3,
		MaxOpenOrders:        10,
		RetryBase:            30 * time.Second,
		RetryMax:             6 * time.Hour,
		// 2,000 rows a transaction: per-batch costs (commit, statements)
		// amortised, memory still a few MiB.
		BatchSize: 2000,
	}
}

// withDefaults fills the unset settings from DefaultOptions.
func (o Options) withDefaults() Options {
	d := DefaultOptions()
	o.Currency = cmp.Or(o.Currency, d.Currency)
	o.RunAt = cmp.Or(o.RunAt, d.RunAt)
	o.InvoiceDaysBefore = cmp.Or(o.InvoiceDaysBefore, d.InvoiceDaysBefore)
	o.SuspendAfterDays = cmp.Or(o.SuspendAfterDays, d.SuspendAfterDays)
	o.TerminateAfterDays = cmp.Or(o.TerminateAfterDays, d.TerminateAfterDays)
	o.ChargeMaxAttempts = cmp.Or(o.ChargeMaxAttempts, d.ChargeMaxAttempts)
	o.ChargeRetryDays = cmp.Or(o.ChargeRetryDays, d.ChargeRetryDays)
	o.RemindEveryDays = cmp.Or(o.RemindEveryDays, d.RemindEveryDays)
	o.AutoTopUpMaxFailures = cmp.Or(o.AutoTopUpMaxFailures, d.AutoTopUpMaxFailures)
	o.MaxOpenOrders = cmp.Or(o.MaxOpenOrders, d.MaxOpenOrders)
	o.BatchSize = cmp.Or(o.BatchSize, d.BatchSize)
	o.RetryBase = cmp.Or(o.RetryBase, d.RetryBase)
	o.RetryMax = cmp.Or(o.RetryMax, d.RetryMax)
	if o.Now == nil {
		o.Now = func() time.Time { return time.Now().UTC() }
	}
	return o
}

// Deps are the services billing uses.
type Deps struct {
	DB   *database.DB
	Jobs *jobs.Registry
	// Notifier tells customers about invoices, payments, top-ups and
	// services (core/notify: the notification center, preferences,
	// templates, links under the public URL). Every billing notice is one
	// of its types; nil tells nobody.
	Notifier Notifier
	// Catalog is what services are ordered on and invoices priced from
	// (core/catalog). Required.
	Catalog Catalog
	// Services owns the service records billing bills (core/services):
	// billing creates them at order and moves them through the status
	// machine there. Required.
	Services *services.Services
	Logger   hclog.Logger
}

// Notifier is what billing needs of core/notify.
type Notifier interface {
	Notify(ctx context.Context, tx bun.Tx, ev notify.Event) error
}

// Billing is the billing domain: billing profiles, the terms services are
// billed on (the record and its status machine are core/services'),
// invoices, the credit ledger and the daily billing run. Methods are safe for concurrent use and call no plugin (the calls
// are core/provisioning's and payments' jobs). Methods taking a bun.Tx run
// inside the caller's transaction; the others open their own (or join the
// ambient one in ctx).
type Billing struct {
	db       *database.DB
	jobs     *jobs.Inserter
	work     txwork.Runner
	notifier Notifier
	catalog  Catalog
	services *services.Services
	ledger   *ledger.Ledger
	log      hclog.Logger
	opts     Options
	hooks    hooks
	// payer queues charges and auto top-up checks (PayWith); nil charges
	// nothing.
	payer Payer
	// maxTimeout is the longest job timeout the engine allows.
	maxTimeout time.Duration
}

// New builds billing and registers its jobs (workers and the daily run) in
// deps.Jobs.
func New(deps Deps, opts Options) *Billing {
	opts = opts.withDefaults()
	if deps.Logger == nil {
		deps.Logger = hclog.NewNullLogger()
	}
	b := &Billing{
		db: deps.DB, jobs: deps.Jobs.Inserter(), notifier: deps.Notifier, catalog: deps.Catalog,
		services: deps.Services, log: deps.Logger, opts: opts, maxTimeout: deps.Jobs.MaxTimeout(),
	}
	b.work = txwork.NewRunner(deps.DB, b.jobs)
	b.ledger = ledger.New(deps.DB, opts.Now)
	b.registerJobs(deps.Jobs)
	// Billing's own bookkeeping of the services it bills: in_term follows
	// the status, and a service that could not be provisioned has its
	// order's payment returned to credit (refundOrder).
	deps.Services.OnStatus(followStatus)
	deps.Services.OnProvisioningFailed(services.FailureReaction{LockAccount: b.lockAccount, Failed: b.refundOrder})
	return b
}

// Ledger is the account credit ledger billing posts to.
func (b *Billing) Ledger() *ledger.Ledger { return b.ledger }

// Options returns the effective options.
func (b *Billing) Options() Options { return b.opts }

func (b *Billing) now() time.Time { return b.opts.Now().UTC() }

// timeout is a job kind's timeout d, capped below the engine's rescue
// horizon (which tests and small deployments may set low).
func (b *Billing) timeout(d time.Duration) time.Duration {
	if b.maxTimeout > 0 {
		return min(d, b.maxTimeout)
	}
	return d
}

func newID() string { return uuid.Must(uuid.NewV7()).String() }

// tx runs fn in the ambient transaction or a new one.
func (b *Billing) tx(ctx context.Context, fn func(ctx context.Context, tx bun.Tx) error) error {
	return b.db.Tx(ctx, fn)
}

// isPG reports whether the database is PostgreSQL, for the few statements
// that differ (row locks).
func (b *Billing) isPG() bool { return b.db.Dialect == database.Postgres }
