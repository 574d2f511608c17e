package transfers_test

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/ezscale/platform/core/services"

	"github.com/uptrace/bun"

	"github.com/ezscale/platform/core/accounts"
	"github.com/ezscale/platform/core/accounts/accountstest"
	"github.com/ezscale/platform/core/audit"
	"github.com/ezscale/platform/core/billing"
	"github.com/ezscale/platform/core/billing/billingtest"
	"github.com/ezscale/platform/core/billing/payments"
	"github.com/ezscale/platform/core/billing/payments/paymentstest"
	"github.com/ezscale/platform/core/catalog"
	"github.com/ezscale/platform/core/catalog/catalogtest"
	"github.com/ezscale/platform/core/database"
	"github.com/ezscale/platform/core/jobs"
	"github.com/ezscale/platform/core/money"
	"github.com/ezscale/platform/core/notify"
	"github.com/ezscale/platform/core/projects"
	"github.com/ezscale/platform/core/provisioning"
	"github.com/ezscale/platform/core/provisioning/provisioningtest"
	"github.com/ezscale/platform/core/ratelimit"
	"github.com/ezscale/platform/core/scheduler"
	"github.com/ezscale/platform/core/testkit"
	"github.com/ezscale/platform/core/transfers"
)

// notice is one notification: its type, the account told and the
// transfer's state in it.
type notice struct {
	Type    notify.Type
	Account string
	Status  string
}

// noticeLog records the events transfers hands the notification center.
type noticeLog struct {
	mu     sync.Mutex
	events []notice
}

func (n *noticeLog) Notify(_ context.Context, _ bun.Tx, ev notify.Event) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.events = append(n.events, notice{Type: ev.Type, Account: ev.AccountID, Status: fmt.Sprint(ev.Data["status"])})
	return nil
}

// take returns the events recorded since the last take.
func (n *noticeLog) take() []notice {
	n.mu.Lock()
	defer n.mu.Unlock()
	out := n.events
	n.events = nil
	return out
}

type testBundle struct {
	ctx     context.Context
	db      *database.DB
	clock   *testkit.Clock
	acc     *accounts.Service
	b       *billing.Billing
	svcs    *services.Services
	cat     *catalog.Catalog
	p       *projects.Service
	sch     *scheduler.Service
	t       *transfers.Service
	notices *noticeLog
	// sender, receiver and third are accounts owned by sender@, receiver@
	// and third@example.test.
	sender, receiver, third transfers.Actor
	plan                    string
}

type setupOpts struct {
	noStaffApproval bool
}

func date(s string) time.Time {
	t, err := time.Parse("2006-01-02", s)
	if err != nil {
		panic(err)
	}
	return t
}

// setup builds billing, the scheduler, projects and transfers over db,
// wired as core/app wires them, with the clock at 2024-02-15 20:00 UTC and
// three accounts (the receiver and the third with a saved card).
func setup(t testing.TB, db *database.DB, so setupOpts) *testBundle {
	t.Helper()
	tb := &testBundle{db: db, clock: testkit.NewClock(date("2024-02-15").Add(20 * time.Hour)), notices: &noticeLog{}}
	tb.ctx = audit.WithMeta(context.Background(), audit.Meta{ActorType: audit.ActorSystem, ActorID: "test"})
	reg := jobs.NewRegistry(time.Hour)
	acc := accounts.New(db, nil, ratelimit.New(db), accounts.DefaultOptions())
	tb.acc = acc
	tb.cat = catalog.New(catalog.Deps{DB: db, PlanGuard: billing.KeepsBackendInUse}, catalog.Options{Now: tb.clock.Now})
	tb.svcs = services.New(services.Deps{DB: db, Jobs: reg, Catalog: tb.cat, Accounts: acc}, services.Options{Now: tb.clock.Now})
	tb.b = billing.New(billing.Deps{Services: tb.svcs, DB: db, Catalog: tb.cat, Jobs: reg}, billing.Options{Now: tb.clock.Now})
	// Payments answer whether the receiver has a saved card.
	payments.New(payments.Deps{DB: db, Jobs: reg, Billing: tb.b, Accounts: acc}).Attach(tb.b)
	prov := provisioningtest.BackendJobs(provisioning.Deps{Services: tb.svcs, DB: db, Jobs: reg, Billing: tb.b, Catalog: tb.cat, Accounts: acc})
	tb.p = projects.New(db, projects.ServicesOf(tb.svcs, db), projects.Options{Now: tb.clock.Now})
	tb.sch = scheduler.New(scheduler.Deps{DB: db, Jobs: reg, Services: tb.svcs, Descriptions: prov, Catalog: tb.cat}, scheduler.Options{Now: tb.clock.Now})
	opts := transfers.DefaultOptions()
	opts.Now = tb.clock.Now
	opts.RequireStaffApproval = !so.noStaffApproval
	tb.t = transfers.New(transfers.Deps{DB: db, Billing: tb.b, Directory: transfers.AccountsDirectory{Accounts: acc}, Notifier: tb.notices, Jobs: reg}, opts)
	tb.t.OnComplete("scheduler", func(ctx context.Context, tx bun.Tx, serviceID, _, to string) (any, error) {
		return tb.sch.TransferServiceTx(ctx, tx, serviceID, to)
	})
	tb.t.OnComplete("projects", func(ctx context.Context, tx bun.Tx, serviceID, from, to string) (any, error) {
		return tb.p.TransferServiceTx(ctx, tx, serviceID, from, to)
	})
	// The writes queue jobs: the engine is built, never started.
	if _, err := jobs.New(db, reg, jobs.Options{Workers: 1, FetchCooldown: time.Second, FetchPollInterval: time.Second, RescueAfter: time.Hour, DefaultTimeout: time.Minute}); err != nil {
		t.Fatal(err)
	}
	tb.sender = tb.account(t, "sender@example.test", false)
	tb.receiver = tb.account(t, "receiver@example.test", true)
	tb.third = tb.account(t, "third@example.test", true)
	p, err := catalogtest.Plan(tb.ctx, db, "testprov", 3000)
	if err != nil {
		t.Fatal(err)
	}
	tb.plan = p
	return tb
}

// account inserts an account owned by a user of email, optionally with a
// saved card, and returns its owner as an actor.
func (tb *testBundle) account(t testing.TB, email string, card bool) transfers.Actor {
	t.Helper()
	acc, user, err := accountstest.Owner(tb.ctx, tb.db, email)
	if err != nil {
		t.Fatal(err)
	}
	if card {
		if _, err := paymentstest.SavedCard(tb.ctx, tb.db, acc); err != nil {
			t.Fatal(err)
		}
	}
	return transfers.Actor{AccountID: acc, UserID: user}
}

// service inserts an active monthly service of the account whose paid
// term is 2024-02-01 – 2024-03-01 (29 days), at price.
func (tb *testBundle) service(t testing.TB, a transfers.Actor, label string, price int64) string {
	t.Helper()
	start := date("2024-02-01")
	end := money.AddCycle(start, money.Monthly, 1)
	id, err := billingtest.Service(tb.ctx, tb.db, billingtest.ServiceSpec{
		AccountID: a.AccountID, PlanID: tb.plan, Currency: "USD", Price: price, Status: services.StatusActive, Label: label,
		PeriodStart: &start, PeriodEnd: &end, AnchorDay: 1,
	})
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// must fails the test on a fixture's error.
func (tb *testBundle) must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func (tb *testBundle) exec(t testing.TB, sql string, args ...any) {
	t.Helper()
	if _, err := tb.db.NewRaw(sql, args...).Exec(tb.ctx); err != nil {
		t.Fatal(err)
	}
}

// request asks for serviceID to move from the sender to the receiver.
func (tb *testBundle) request(t testing.TB, serviceID string) *transfers.Transfer {
	t.Helper()
	tr, err := tb.t.Request(tb.ctx, tb.sender, transfers.RequestInput{ServiceID: serviceID, Email: "receiver@example.test"})
	if err != nil {
		t.Fatal(err)
	}
	return tr
}

// auditActions returns the actions of the audit events about the
// targets, oldest first.
func (tb *testBundle) auditActions(t testing.TB, targetIDs ...string) []string {
	t.Helper()
	var recs []audit.Record
	for _, id := range targetIDs {
		rs, err := audit.List(tb.ctx, tb.db, audit.Filter{TargetID: id, Limit: 1000})
		if err != nil {
			t.Fatal(err)
		}
		recs = append(recs, rs...)
	}
	slices.SortFunc(recs, func(a, b audit.Record) int { return cmp.Compare(a.Seq, b.Seq) })
	out := make([]string, len(recs))
	for i, r := range recs {
		out[i] = r.Action
	}
	return out
}

// accountOf returns the account a service belongs to now.
func (tb *testBundle) accountOf(t testing.TB, serviceID string) string {
	t.Helper()
	svc, err := tb.b.Service(tb.ctx, "", serviceID)
	if err != nil {
		t.Fatal(err)
	}
	return svc.AccountID
}
