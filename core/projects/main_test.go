package projects_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/uptrace/bun"

	"github.com/ezscale/platform/core/accounts"
	"github.com/ezscale/platform/core/accounts/accountstest"
	"github.com/ezscale/platform/core/audit"
	"github.com/ezscale/platform/core/billing"
	"github.com/ezscale/platform/core/billing/billingtest"
	"github.com/ezscale/platform/core/catalog"
	"github.com/ezscale/platform/core/catalog/catalogtest"
	"github.com/ezscale/platform/core/database"
	"github.com/ezscale/platform/core/jobs"
	"github.com/ezscale/platform/core/notify"
	"github.com/ezscale/platform/core/projects"
	"github.com/ezscale/platform/core/provisioning"
	"github.com/ezscale/platform/core/provisioning/provisioningtest"
	"github.com/ezscale/platform/core/ratelimit"
	"github.com/ezscale/platform/core/services"
)

// notices records the events projects hands the notification center.
type noticeLog struct {
	mu     sync.Mutex
	events []notify.Event
	// failFunc, when set, fails the notification of ev.
	failFunc func(ev notify.Event) error
}

func (n *noticeLog) Notify(_ context.Context, _ bun.Tx, ev notify.Event) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.failFunc != nil {
		if err := n.failFunc(ev); err != nil {
			return err
		}
	}
	n.events = append(n.events, ev)
	return nil
}

// take returns the events recorded since the last take.
func (n *noticeLog) take() []notify.Event {
	n.mu.Lock()
	defer n.mu.Unlock()
	out := n.events
	n.events = nil
	return out
}

type testBundle struct {
	notices *noticeLog
	ctx     context.Context
	db      *database.DB
	b       *billing.Billing
	svcs    *services.Services
	cat     *catalog.Catalog
	p       *projects.Service
	plan    string
	// a is the account under test; other is another customer's.
	a, other projects.Actor
}

// setup builds billing and projects over db, wired as app wires them, with
// two accounts and a plan.
func setup(t testing.TB, db *database.DB) *testBundle {
	t.Helper()
	tb := &testBundle{db: db, ctx: audit.WithMeta(context.Background(), audit.Meta{ActorType: audit.ActorSystem, ActorID: "test"})}
	reg := jobs.NewRegistry(time.Hour)
	tb.cat = catalog.New(catalog.Deps{DB: db, PlanGuard: billing.KeepsBackendInUse}, catalog.Options{Now: nil})
	accts := accounts.New(db, nil, ratelimit.New(db), accounts.DefaultOptions())
	tb.svcs = services.New(services.Deps{DB: db, Jobs: reg, Catalog: tb.cat, Accounts: accts}, services.Options{})
	tb.b = billing.New(billing.Deps{Services: tb.svcs, DB: db, Catalog: tb.cat, Jobs: reg}, billing.Options{})
	provisioningtest.BackendJobs(provisioning.Deps{Services: tb.svcs, DB: db, Jobs: reg, Billing: tb.b, Catalog: tb.cat, Accounts: accts})
	tb.notices = &noticeLog{}
	tb.p = projects.New(db, projects.ServicesOf(tb.svcs, db), projects.Options{Jobs: reg, Notifier: tb.notices})
	// The termination guard, the project of invoice lines and the outages
	// billing's status changes start and end, as core/app wires them.
	tb.p.AttachBilling(tb.b)
	tb.svcs.OnStatus(tb.p.ServiceStatusChanged)
	// Billing's writes queue jobs: the engine is built (never started).
	if _, err := jobs.New(db, reg, jobs.Options{Workers: 1, FetchCooldown: time.Second, FetchPollInterval: time.Second, RescueAfter: time.Hour, DefaultTimeout: time.Minute}); err != nil {
		t.Fatal(err)
	}
	acc, err := accountstest.Account(tb.ctx, db, "owner@example.test")
	if err != nil {
		t.Fatal(err)
	}
	other, err := accountstest.Account(tb.ctx, db, "other@example.test")
	if err != nil {
		t.Fatal(err)
	}
	tb.a = projects.Actor{AccountID: acc, Role: "owner"}
	tb.other = projects.Actor{AccountID: other, Role: "owner"}
	if tb.plan, err = catalogtest.Plan(tb.ctx, db, "p", 1000); err != nil {
		t.Fatal(err)
	}
	return tb
}

// services makes n active services of the actor's account, labelled
// vps-0 … vps-(n-1).
func (tb *testBundle) services(t testing.TB, a projects.Actor, n int) []string {
	t.Helper()
	ids, err := billingtest.Services(tb.ctx, tb.db, a.AccountID, tb.plan, n)
	if err != nil {
		t.Fatal(err)
	}
	return ids
}

func (tb *testBundle) project(t testing.TB, a projects.Actor, name string) *projects.Project {
	t.Helper()
	p, err := tb.p.CreateProject(tb.ctx, a, projects.ProjectInput{Name: name})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func (tb *testBundle) depend(t testing.TB, from, to string) *projects.Dependency {
	t.Helper()
	d, err := tb.p.AddDependency(tb.ctx, tb.a, projects.DependencyInput{ServiceID: from, DependsOnID: to, Type: projects.TypeDatabase})
	if err != nil {
		t.Fatalf("%s depends on %s: %v", from, to, err)
	}
	return d
}
