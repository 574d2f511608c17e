package billing_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/ezscale/platform/core/accounts"
	"github.com/ezscale/platform/core/accounts/accountstest"
	"github.com/ezscale/platform/core/audit"
	"github.com/ezscale/platform/core/billing"
	"github.com/ezscale/platform/core/billing/payments"
	"github.com/ezscale/platform/core/billing/payments/paymentstest"
	"github.com/ezscale/platform/core/billing/pluginoption"
	"github.com/ezscale/platform/core/catalog"
	"github.com/ezscale/platform/core/database"
	"github.com/ezscale/platform/core/jobs"
	"github.com/ezscale/platform/core/jobs/jobstest"
	"github.com/ezscale/platform/core/money"
	"github.com/ezscale/platform/core/notify"
	"github.com/ezscale/platform/core/outbox"
	"github.com/ezscale/platform/core/pluginhost"
	"github.com/ezscale/platform/core/pluginhost/pluginhosttest"
	"github.com/ezscale/platform/core/provisioning"
	"github.com/ezscale/platform/core/provisioning/provisioningtest"
	"github.com/ezscale/platform/core/ratelimit"
	"github.com/ezscale/platform/core/services"
	"github.com/ezscale/platform/core/testkit"
)

// stripe is the real Stripe plugin and the stripe-mock the card-payment
// tests share, started by TestMain.
var stripe *paymentstest.Stripe

func TestMain(m *testing.M) { os.Exit(paymentstest.MainWithStripe(m, &stripe)) }

type testBundle struct {
	db *database.DB
	b  *billing.Billing
	// pay is payments, billing's payer as in production.
	pay    *payments.Payments
	cat    *catalog.Catalog
	engine *jobs.Engine
	host   *pluginhost.Host
	outbox *outbox.Outbox
	notify *notify.Service
	reg    *jobs.Registry
	clock  *testkit.Clock
	// prov is the in-process test provisioner behind the host, as
	// "testprov".
	prov *pluginhosttest.Provisioner
	// provisioning works the backend jobs and describes services to their
	// provisioner, as in the core.
	provisioning *provisioning.Service
	svcs         *services.Services
	ctx          context.Context
	// emails maps the id of each account tb.owner made to its owner's
	// email.
	emails sync.Map
}

type setupOpts struct {
	opts     billing.Options
	services services.Options
	plugins  []pluginhost.Spec
	noJobs   bool
	noHost   bool
	// notify configures the notification service (PublicURL is set).
	notify notify.Options
	// pluginDown, when set, makes the provisioning jobs' plugin host
	// report every plugin's breaker open while it is true.
	pluginDown *atomic.Bool
	// wire connects other domains to billing and the job registry before
	// the job engine is built, as app wiring does (budget caps, say).
	wire func(tb *testBundle)
}

func date(s string) time.Time {
	t, err := time.Parse("2006-01-02", s)
	if err != nil {
		panic(err)
	}
	return t
}

// setup builds billing over db with the test provisioner plugin running
// in process (as "testprov") and the job engine started, the clock at
// 2024-01-15.
func setup(t testing.TB, db *database.DB, so setupOpts) *testBundle {
	t.Helper()
	tb := &testBundle{db: db, clock: testkit.NewClock(date("2024-01-15").Add(9 * time.Hour)), prov: pluginhosttest.NewProvisioner()}
	tb.ctx = audit.WithMeta(context.Background(), audit.Meta{ActorType: audit.ActorSystem, ActorID: "test"})
	reg := jobs.NewRegistry(time.Hour)
	nopts := so.notify
	nopts.PublicURL = "http://billing.test"
	ns, err := notify.New(db, reg, nopts)
	if err != nil {
		t.Fatal(err)
	}
	tb.outbox = ns.Outbox()
	t.Cleanup(ns.Stop)
	tb.notify = ns
	opts := so.opts
	opts.Now = tb.clock.Now
	if opts.RetryBase == 0 {
		opts.RetryBase, opts.RetryMax = 20*time.Millisecond, 200*time.Millisecond
	}
	svcOpts := so.services
	svcOpts.Now = tb.clock.Now
	if svcOpts.ProvisionMaxAttempts == 0 {
		svcOpts.ProvisionMaxAttempts = 3
	}
	// The catalog reads a running provisioner's declaration from the host,
	// as in production; without a host, the one stored.
	var live pluginoption.Live
	if !so.noHost {
		tb.host = pluginhosttest.Start(t, pluginhost.Options{BackoffBase: 50 * time.Millisecond},
			[]pluginhosttest.Plugin{{Name: pluginhosttest.ProvisionerName, Impl: tb.prov}}, so.plugins...)
		live = tb.host
	}
	tb.cat = catalog.New(catalog.Deps{DB: db, Plugins: live, PlanGuard: billing.KeepsBackendInUse}, catalog.Options{Now: tb.clock.Now})
	accts := accounts.New(db, ns, ratelimit.New(db), accounts.DefaultOptions())
	tb.svcs = services.New(services.Deps{DB: db, Jobs: reg, Notifier: ns, Catalog: tb.cat, Accounts: accts}, svcOpts)
	tb.b = billing.New(billing.Deps{DB: db, Jobs: reg, Notifier: ns, Catalog: tb.cat, Services: tb.svcs}, opts)
	// Payments is billing's payer, as in production; its gateways are the
	// plugin host's (card payments through the real Stripe plugin).
	var gateways payments.Gateways
	if tb.host != nil {
		gateways = tb.host
	}
	tb.pay = payments.New(payments.Deps{DB: db, Jobs: reg, Billing: tb.b, Accounts: accts, Notifier: ns, Gateways: gateways})
	tb.pay.Attach(tb.b)
	// Provisioning works the jobs billing queues on services' backends,
	// over the same host.
	var backends provisioning.Plugins
	switch {
	case tb.host != nil && so.pluginDown != nil:
		backends = downHost{Host: tb.host, down: so.pluginDown}
	case tb.host != nil:
		backends = tb.host
	}
	tb.provisioning = provisioningtest.BackendJobs(provisioning.Deps{DB: db, Jobs: reg, Billing: tb.b, Services: tb.svcs, Catalog: tb.cat, Accounts: accts, Plugins: backends, Notifier: ns})
	if so.noHost {
		// As after a core ran it once: testprov's option declaration is
		// stored (as `catalog import` reads it in describe mode).
		version, options := pluginhosttest.Describe(t, tb.prov)
		if err := tb.cat.RecordOptions(tb.ctx, pluginhosttest.ProvisionerName, version, options); err != nil {
			t.Fatal(err)
		}
	}
	tb.reg = reg
	if so.wire != nil {
		so.wire(tb)
	}
	engine, err := jobs.New(db, reg, jobstest.Working(20))
	if err != nil {
		t.Fatal(err)
	}
	tb.engine = engine
	if !so.noJobs {
		jobstest.Start(t, engine)
	}
	return tb
}

// account signs up a customer and returns its account id.
func (tb *testBundle) account(t testing.TB) string {
	t.Helper()
	acc, _ := tb.owner(t)
	return acc
}

// owner signs up a customer through accounts and returns its account id
// and its owner's user id; messages finds the owner's email again.
func (tb *testBundle) owner(t testing.TB) (accountID, userID string) {
	t.Helper()
	email := fmt.Sprintf("acc-%016x@example.com", rand.Uint64())
	accountID, userID, err := accountstest.Owner(tb.ctx, tb.db, email)
	if err != nil {
		t.Fatal(err)
	}
	tb.emails.Store(accountID, email)
	return accountID, userID
}

// plan creates an active plan on the test provisioner.
func (tb *testBundle) plan(t testing.TB, slug string, monthly int64, opts map[string]string) *catalog.Plan {
	t.Helper()
	if opts == nil {
		opts = map[string]string{}
	}
	p, err := tb.cat.CreatePlan(tb.ctx, catalog.PlanInput{
		Slug: slug, Name: "Plan " + slug, ServiceType: "vps", Currency: "USD", MonthlyPrice: monthly,
		Plugin: "testprov", PluginOptions: opts,
	})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// credit adds credit to an account by a staff adjustment.
func (tb *testBundle) credit(t testing.TB, accountID string, amount int64) {
	t.Helper()
	if _, err := tb.b.Adjust(tb.ctx, accountID, billing.AdjustInput{Amount: amount, Description: "test credit"}); err != nil {
		t.Fatal(err)
	}
}

// waitService waits until the service has status.
func (tb *testBundle) waitService(t testing.TB, id, status string) *billing.Service {
	t.Helper()
	var svc *billing.Service
	testkit.WaitFor(t, "service "+id+" to be "+status, func() bool {
		var err error
		svc, err = tb.b.Service(tb.ctx, "", id)
		if err != nil {
			t.Fatal(err)
		}
		return svc.Status == status
	})
	return svc
}

// backendRecord is what the test provisioner holds for a service.
type backendRecord = pluginhosttest.Record

// backend reads what the test provisioner recorded for a service.
func (tb *testBundle) backend(t testing.TB, serviceID string) backendRecord {
	t.Helper()
	return tb.prov.Record(serviceID)
}

// messages returns the templates of the outbox messages to the account's
// owner, oldest first.
func (tb *testBundle) messages(t testing.TB, accountID string) []string {
	t.Helper()
	email, ok := tb.emails.Load(accountID)
	if !ok {
		t.Fatalf("account %s was not made by tb.owner", accountID)
	}
	ms, err := tb.outbox.ListForRecipient(tb.ctx, email.(string))
	if err != nil {
		t.Fatal(err)
	}
	out := make([]string, 0, len(ms))
	for i := len(ms) - 1; i >= 0; i-- {
		out = append(out, ms[i].Template)
	}
	return out
}

// auditActions lists the actions of the audit events about a target.
func (tb *testBundle) auditActions(t testing.TB, targetID string) []string {
	t.Helper()
	var out []string
	if err := tb.db.NewSelect().Table("audit_events").Column("action").Where("target_id = ?", targetID).Order("seq ASC").Scan(tb.ctx, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

// insertServices stores n active services of the plan for the account
// directly (no order, nothing at the backend), their first term starting
// at start: the fixture of the billing-run tests and benchmarks.
func (tb *testBundle) insertServices(t testing.TB, accountID string, plan *catalog.Plan, cycle money.Cycle, start time.Time, n int) []*billing.Service {
	t.Helper()
	end := money.AddCycle(start, cycle, start.Day())
	now := time.Now().UTC()
	out := make([]*billing.Service, 0, n)
	for len(out) < n {
		recs := make([]*services.Service, 0, min(5000, n-len(out)))
		for range cap(recs) {
			recs = append(recs, &services.Service{
				ID: uuid.Must(uuid.NewV7()).String(), AccountID: accountID, PlanID: plan.ID, Status: services.StatusActive, Options: "{}", Attributes: "{}", CreatedAt: now, UpdatedAt: now,
			})
		}
		terms := make([]*billing.Terms, len(recs))
		for i, s := range recs {
			terms[i] = &billing.Terms{ServiceID: s.ID, Cycle: cycle, Currency: plan.Currency, Price: plan.Price(cycle), PeriodStart: &start, PeriodEnd: &end, AnchorDay: start.Day(), InTerm: true}
			out = append(out, &billing.Service{Service: s, Terms: terms[i]})
		}
		if _, err := tb.db.NewInsert().Model(&recs).Exec(tb.ctx); err != nil {
			t.Fatal(err)
		}
		if _, err := tb.db.NewInsert().Model(&terms).Exec(tb.ctx); err != nil {
			t.Fatal(err)
		}
	}
	return out
}

// openInvoices returns the account's invoices (newest first).
func (tb *testBundle) invoices(t testing.TB, f billing.InvoiceFilter) []billing.Invoice {
	t.Helper()
	if f.Limit == 0 {
		f.Limit = 1000
	}
	invs, err := tb.b.Invoices(tb.ctx, f)
	if err != nil {
		t.Fatal(err)
	}
	return invs
}

func (tb *testBundle) step(t testing.TB, step string, asOf time.Time) int64 {
	t.Helper()
	n, err := tb.b.RunStepNow(tb.ctx, step, asOf)
	if err != nil {
		t.Fatalf("step %s as of %s: %v", step, asOf.Format("2006-01-02"), err)
	}
	return n
}

func billingFilter(accountID string) services.Filter {
	return services.Filter{AccountID: accountID, Limit: 100}
}
