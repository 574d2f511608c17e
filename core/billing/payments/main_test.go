package payments_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http/httptest"
	"os"
	"testing"
	"time"

	"github.com/uptrace/bun"

	"github.com/ezscale/platform/core/accounts"
	"github.com/ezscale/platform/core/accounts/accountstest"
	"github.com/ezscale/platform/core/audit"
	"github.com/ezscale/platform/core/billing"
	"github.com/ezscale/platform/core/billing/ledger"
	"github.com/ezscale/platform/core/billing/payments"
	"github.com/ezscale/platform/core/billing/payments/paymentstest"
	"github.com/ezscale/platform/core/catalog"
	"github.com/ezscale/platform/core/database"
	"github.com/ezscale/platform/core/httpapi"
	"github.com/ezscale/platform/core/httpapi/apitest"
	"github.com/ezscale/platform/core/jobs"
	"github.com/ezscale/platform/core/jobs/jobstest"
	"github.com/ezscale/platform/core/notify"
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

// bundle is payments wired as core/app wires it: over billing (its
// invoices, profiles and credit ledger), with the job engine working and
// the payment routes served over HTTP.
type bundle struct {
	db    *database.DB
	ctx   context.Context
	clock *testkit.Clock
	b     *billing.Billing
	svcs  *services.Services
	pay   *payments.Payments
	// accounts is the API's accounts service; client calls the API as
	// customers and staff (a staff admin's session token).
	accounts *accounts.Service
	client   *apitest.Client
	staff    string
}

type setupOpts struct {
	opts billing.Options
	// stripe runs the real ezscale-plugin-stripe against stripe-mock (with
	// Stripe's idempotency and test cards, stripemock.TestMode) as the
	// gateway "stripe".
	stripe bool
	// gateways are payments' gateways when the test brings its own.
	gateways payments.Gateways
	noJobs   bool
}

// setup builds payments over db with the clock at 2024-01-15 09:00 UTC.
func setup(t testing.TB, db *database.DB, so setupOpts) *bundle {
	t.Helper()
	tb := &bundle{db: db, clock: testkit.NewClock(time.Date(2024, 1, 15, 9, 0, 0, 0, time.UTC))}
	tb.ctx = audit.WithMeta(context.Background(), audit.Meta{ActorType: audit.ActorSystem, ActorID: "test"})
	reg := jobs.NewRegistry(time.Hour)
	ns, err := notify.New(db, reg, notify.Options{PublicURL: "http://payments.test"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(ns.Stop)
	limiter := ratelimit.New(db)
	aopts := accounts.DefaultOptions()
	aopts.LoginLimit, aopts.SignupLimit, aopts.PublicURL = 1000, 1000, "http://payments.test"
	tb.accounts = accounts.New(db, ns, limiter, aopts)

	opts := so.opts
	opts.Now = tb.clock.Now
	if opts.RetryBase == 0 {
		opts.RetryBase, opts.RetryMax = 20*time.Millisecond, 200*time.Millisecond
	}
	gateways := so.gateways
	if so.stripe {
		opts.PaymentGateway = "stripe"
		gateways = pluginhosttest.Start(t, pluginhost.Options{}, nil, stripe.Plugin(t, "stripe"))
	}
	cat := catalog.New(catalog.Deps{DB: db, PlanGuard: billing.KeepsBackendInUse}, catalog.Options{Now: tb.clock.Now})
	tb.svcs = services.New(services.Deps{DB: db, Jobs: reg, Notifier: ns, Catalog: cat, Accounts: tb.accounts}, services.Options{Now: tb.clock.Now})
	tb.b = billing.New(billing.Deps{Services: tb.svcs, DB: db, Jobs: reg, Notifier: ns, Catalog: cat}, opts)
	tb.pay = payments.New(payments.Deps{DB: db, Jobs: reg, Billing: tb.b, Accounts: tb.accounts, Notifier: ns, Gateways: gateways})
	tb.pay.Attach(tb.b)
	provisioningtest.BackendJobs(provisioning.Deps{Services: tb.svcs, DB: db, Jobs: reg, Billing: tb.b, Catalog: cat, Accounts: tb.accounts, Notifier: ns})

	engine, err := jobs.New(db, reg, jobstest.Working(20))
	if err != nil {
		t.Fatal(err)
	}
	if !so.noJobs {
		jobstest.Start(t, engine)
	}

	s := httpapi.New(httpapi.Deps{DB: db, Accounts: tb.accounts, Limiter: limiter}, httpapi.Options{},
		&httpapi.BillingAPI{Billing: tb.b, Services: tb.svcs}, &httpapi.PaymentsAPI{Payments: tb.pay, TopUpLimit: &ratelimit.Rule{Limit: 1000, Window: time.Minute}})
	hs := httptest.NewServer(s.Handler())
	t.Cleanup(hs.Close)
	tb.client = apitest.New(hs.URL)
	if tb.staff, err = accountstest.StaffSession(tb.ctx, tb.accounts, fmt.Sprintf("staff-%x@example.com", rand.Uint64()), accounts.StaffAdmin); err != nil {
		t.Fatal(err)
	}
	return tb
}

// customer signs a customer up and returns its account and the owner's
// session token.
func (tb *bundle) customer(t testing.TB) (accountID, token string) {
	t.Helper()
	accountID, token, err := accountstest.Customer(tb.ctx, tb.accounts, fmt.Sprintf("c-%x@example.com", rand.Uint64()))
	if err != nil {
		t.Fatal(err)
	}
	return accountID, token
}

// account signs a customer up (through accountstest, no session) and
// returns its account.
func (tb *bundle) account(t testing.TB) string {
	t.Helper()
	acc, err := accountstest.Account(tb.ctx, tb.db, fmt.Sprintf("a-%x@example.com", rand.Uint64()))
	if err != nil {
		t.Fatal(err)
	}
	return acc
}

// do sends a request (body JSON-encoded unless it is []byte); must also
// checks its status. Both validate the response against the OpenAPI
// document.
func (tb *bundle) do(t testing.TB, method, path, token string, body any, headers ...string) apitest.Response {
	t.Helper()
	return tb.client.Do(t, method, path, token, body, headers...)
}

func (tb *bundle) must(t testing.TB, want int, method, path, token string, body any, headers ...string) apitest.Response {
	t.Helper()
	return tb.client.Must(t, want, method, path, token, body, headers...)
}

// credit adds credit to an account by a staff adjustment.
func (tb *bundle) credit(t testing.TB, accountID string, amount int64) {
	t.Helper()
	if _, err := tb.b.Adjust(tb.ctx, accountID, billing.AdjustInput{Amount: amount, Description: "test credit"}); err != nil {
		t.Fatal(err)
	}
}

// balance is the account's credit in USD.
func (tb *bundle) balance(t testing.TB, accountID string) ledger.Balance {
	t.Helper()
	bal, err := tb.b.Ledger().Balance(tb.ctx, accountID, "USD")
	if err != nil {
		t.Fatal(err)
	}
	return bal
}

// step runs one step of the billing run now.
func (tb *bundle) step(t testing.TB, step string, asOf time.Time) int64 {
	t.Helper()
	n, err := tb.b.RunStepNow(tb.ctx, step, asOf)
	if err != nil {
		t.Fatalf("step %s: %v", step, err)
	}
	return n
}

// payments lists the account's payments, newest first.
func (tb *bundle) payments(t testing.TB, accountID string) []payments.Payment {
	t.Helper()
	ps, err := tb.pay.Payments(tb.ctx, accountID, "", 100)
	if err != nil {
		t.Fatal(err)
	}
	return ps
}

// inApp returns the types of the in-app notifications of the account's
// owner whose type starts with prefix, oldest first.
func (tb *bundle) inApp(t testing.TB, accountID, prefix string) []string {
	t.Helper()
	var out []string
	err := tb.db.NewRaw(`SELECT e.type FROM notifications AS n JOIN notification_events AS e ON e.id = n.event_id
		JOIN memberships AS m ON m.user_id = n.user_id AND m.account_id = e.account_id
		WHERE e.account_id = ? AND m.role = 'owner' AND e.type LIKE ? ORDER BY n.id`, accountID, prefix+"%").Scan(tb.ctx, &out)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// outbox lists the templates of the outbox's messages whose template
// starts with prefix, oldest first.
func (tb *bundle) outbox(t testing.TB, prefix string) []string {
	t.Helper()
	var out []string
	if err := tb.db.NewSelect().Table("outbox_messages").Column("template").Where("template LIKE ?", prefix+"%").
		Order("created_at", "id").Scan(tb.ctx, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

// post credits an account through the ledger alone, in its own
// transaction.
func (tb *bundle) post(t testing.TB, p ledger.Posting) {
	t.Helper()
	if err := tb.db.Tx(tb.ctx, func(ctx context.Context, tx bun.Tx) error {
		_, err := tb.b.Ledger().Post(ctx, tx, p)
		return err
	}); err != nil {
		t.Fatal(err)
	}
}
