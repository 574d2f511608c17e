package enterprise_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ezscale/platform/core/services"

	"github.com/google/go-cmp/cmp"
	"github.com/uptrace/bun"

	"github.com/ezscale/platform/core/accounts"
	"github.com/ezscale/platform/core/accounts/accountstest"
	"github.com/ezscale/platform/core/apperr"
	"github.com/ezscale/platform/core/audit"
	"github.com/ezscale/platform/core/billing"
	"github.com/ezscale/platform/core/billing/billingtest"
	"github.com/ezscale/platform/core/catalog"
	"github.com/ezscale/platform/core/catalog/catalogtest"
	"github.com/ezscale/platform/core/database"
	"github.com/ezscale/platform/core/database/databasetest"
	"github.com/ezscale/platform/core/enterprise"
	"github.com/ezscale/platform/core/jobs"
	"github.com/ezscale/platform/core/money"
	"github.com/ezscale/platform/core/notify"
	"github.com/ezscale/platform/core/provisioning"
	"github.com/ezscale/platform/core/provisioning/provisioningtest"
	"github.com/ezscale/platform/core/ratelimit"
	"github.com/ezscale/platform/core/testkit"
)

// noticeLog records the types and states enterprise notifies.
type noticeLog struct {
	mu     sync.Mutex
	events []string
}

func (n *noticeLog) Notify(_ context.Context, _ bun.Tx, ev notify.Event) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	e := string(ev.Type) + ":" + ev.Data["status"].(string)
	if len(ev.UserIDs) > 0 {
		e += " to " + strings.Join(ev.UserIDs, ",")
	}
	n.events = append(n.events, e)
	return nil
}

// staffDir is the staff directory: one admin and one owner.
type staffDir struct{}

func (staffDir) StaffIDs(_ context.Context, roles ...string) ([]string, error) {
	var ids []string
	for _, r := range roles {
		ids = append(ids, "staff-"+r)
	}
	return ids, nil
}

type testBundle struct {
	ctx     context.Context
	db      *database.DB
	clock   *testkit.Clock
	b       *billing.Billing
	svcs    *services.Services
	cat     *catalog.Catalog
	e       *enterprise.Service
	notices *noticeLog
	a       enterprise.Actor
	other   enterprise.Actor
	base    string
}

func setup(t *testing.T, db *database.DB) *testBundle {
	t.Helper()
	tb := &testBundle{db: db, clock: testkit.NewClock(time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)), notices: &noticeLog{}}
	tb.ctx = audit.WithMeta(context.Background(), audit.Meta{ActorType: audit.ActorSystem, ActorID: "test"})
	reg := jobs.NewRegistry(time.Hour)
	tb.cat = catalog.New(catalog.Deps{DB: db, PlanGuard: billing.KeepsBackendInUse}, catalog.Options{Now: tb.clock.Now})
	accts := accounts.New(db, nil, ratelimit.New(db), accounts.DefaultOptions())
	tb.svcs = services.New(services.Deps{DB: db, Jobs: reg, Catalog: tb.cat, Accounts: accts}, services.Options{Now: tb.clock.Now})
	tb.b = billing.New(billing.Deps{Services: tb.svcs, DB: db, Catalog: tb.cat, Jobs: reg}, billing.Options{Now: tb.clock.Now})
	provisioningtest.BackendJobs(provisioning.Deps{Services: tb.svcs, DB: db, Jobs: reg, Billing: tb.b, Catalog: tb.cat, Accounts: accts})
	tb.e = enterprise.New(db, tb.b, tb.cat, tb.notices, enterprise.Options{Now: tb.clock.Now, Staff: staffDir{}})
	if _, err := jobs.New(db, reg, jobs.Options{Workers: 1, FetchCooldown: time.Second, FetchPollInterval: time.Second, RescueAfter: time.Hour, DefaultTimeout: time.Minute}); err != nil {
		t.Fatal(err)
	}
	for _, x := range []struct {
		email string
		a     *enterprise.Actor
	}{{"ent@example.test", &tb.a}, {"other@example.test", &tb.other}} {
		id, err := accountstest.Account(tb.ctx, db, x.email)
		if err != nil {
			t.Fatal(err)
		}
		*x.a = enterprise.Actor{AccountID: id, UserID: "user-" + x.email}
	}
	var err error
	if tb.base, err = catalogtest.Plan(tb.ctx, db, "testprov", 3000); err != nil {
		t.Fatal(err)
	}
	return tb
}

// service makes an active monthly service of the account on the base
// plan, as staff set one up by hand.
func (tb *testBundle) service(t *testing.T, accountID string) string {
	t.Helper()
	start := tb.clock.Now().AddDate(0, 0, -1)
	end := money.AddCycle(start, money.Monthly, start.Day())
	id, err := billingtest.Service(tb.ctx, tb.db, billingtest.ServiceSpec{AccountID: accountID, PlanID: tb.base, Currency: "USD", Price: 3000,
		Status: services.StatusActive, PeriodStart: &start, PeriodEnd: &end, AnchorDay: start.Day()})
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func (tb *testBundle) quoted(t *testing.T) *enterprise.Request {
	t.Helper()
	r, err := tb.e.Submit(tb.ctx, tb.a, enterprise.SubmitInput{Nodes: 3, LoadBalancer: true, Failover: true, Region: "eu-central", Notes: "PostgreSQL cluster"})
	if err != nil {
		t.Fatal(err)
	}
	r, err = tb.e.Quote(tb.ctx, "staff-1", r.ID, enterprise.QuoteInput{BasePlanID: tb.base, MonthlyPrice: 120000, SetupFee: 50000,
		Terms: "12 months minimum", ExpiresAt: tb.clock.Now().Add(14 * 24 * time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// TestEnterpriseRequestQuoteAcceptAttach: a request is quoted by staff and
// accepted by the customer: the account gets a private plan at the quoted
// monthly price, out of the public catalog, and an invoice of the setup
// fee; staff attach a service provisioned by hand, which is then billed at
// the quoted price (and the plan stays private when staff edit it); the
// account is told at each step, the staff admins and owners of the new
// request and of the acceptance; the documents (who, when) stay on the
// request.
func TestEnterpriseRequestQuoteAcceptAttach(t *testing.T) {
	t.Parallel()
	databasetest.Each(t, func(t *testing.T, db *database.DB) {
		tb := setup(t, db)
		r := tb.quoted(t)
		r, err := tb.e.Accept(tb.ctx, tb.a, r.ID)
		if err != nil {
			t.Fatal(err)
		}
		if r.Status != enterprise.StatusAccepted || r.PlanID == nil || r.AnsweredBy != tb.a.UserID || r.AnsweredAt == nil || r.QuotedBy != "staff-1" {
			t.Fatalf("accepted: %+v", r)
		}
		plan, err := tb.cat.Plan(tb.ctx, *r.PlanID)
		if err != nil {
			t.Fatal(err)
		}
		if plan.AccountID == nil || *plan.AccountID != tb.a.AccountID || plan.MonthlyPrice != 120000 || plan.Plugin != "testprov" {
			t.Errorf("private plan: %+v", plan)
		}
		public, err := tb.cat.Plans(tb.ctx, true)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range public {
			if p.ID == plan.ID {
				t.Error("the private plan is in the public catalog")
			}
		}
		inv, err := tb.b.Invoice(tb.ctx, tb.a.AccountID, r.SetupInvoiceID)
		if err != nil {
			t.Fatal(err)
		}
		if inv.Total != 50000 || len(inv.Lines) != 1 || inv.Lines[0].Description != "Enterprise setup (3 nodes, eu-central)" {
			t.Errorf("setup invoice: %d %+v", inv.Total, inv.Lines)
		}

		svc := tb.service(t, tb.a.AccountID)
		got, err := tb.e.Attach(tb.ctx, r.ID, enterprise.AttachInput{ServiceID: svc})
		if err != nil {
			t.Fatal(err)
		}
		if got.PlanID != plan.ID || got.Terms.Price != 120000 {
			t.Errorf("attached service: plan %s price %d", got.PlanID, got.Terms.Price)
		}
		// Staff editing the plan in the catalog keep it private.
		if _, err := tb.cat.UpdatePlan(tb.ctx, plan.ID, catalog.PlanInput{Slug: plan.Slug, Name: plan.Name, ServiceType: plan.ServiceType,
			Currency: plan.Currency, MonthlyPrice: 125000, Plugin: plan.Plugin}); err != nil {
			t.Fatal(err)
		}
		if edited, err := tb.cat.Plan(tb.ctx, plan.ID); err != nil || edited.AccountID == nil || *edited.AccountID != tb.a.AccountID {
			t.Errorf("after a staff edit the plan is no longer the account's: %v %+v", err, edited)
		}
		// Another account's service, and another account's use of the plan.
		theirs := tb.service(t, tb.other.AccountID)
		_, err = tb.e.Attach(tb.ctx, r.ID, enterprise.AttachInput{ServiceID: theirs})
		testkit.AppErr(t, err, apperr.NotFound, "")
		_, err = tb.b.ChangePlan(tb.ctx, tb.other.AccountID, theirs, billing.ChangeInput{PlanID: plan.ID})
		testkit.AppErr(t, err, apperr.Invalid, "")

		// The staff who quote (admins and owners) hear of the request and
		// of the acceptance.
		want := []string{"enterprise.updated:submitted", "enterprise.staff:submitted to staff-admin,staff-owner", "enterprise.quoted:quoted",
			"enterprise.updated:accepted", "enterprise.staff:accepted to staff-admin,staff-owner", "enterprise.updated:service_attached"}
		if diff := cmp.Diff(want, tb.notices.events); diff != "" {
			t.Errorf("notifications (-want +got):\n%s", diff)
		}
		var actions []string
		if err := db.NewSelect().Table("audit_events").Column("action").Where("target_id = ?", r.ID).Order("seq ASC").Scan(tb.ctx, &actions); err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff([]string{"enterprise.submit", "enterprise.quote", "enterprise.accept", "enterprise.attach"}, actions); diff != "" {
			t.Errorf("audit (-want +got):\n%s", diff)
		}
	})
}

// TestEnterpriseRequestRefusals: another account neither sees nor answers
// a request (404); a quote is accepted once (a second acceptance is 409,
// one plan and one invoice); an expired quote is neither accepted nor
// declined; a declined one records the reason; services attach only to an
// accepted request.
func TestEnterpriseRequestRefusals(t *testing.T) {
	t.Parallel()
	databasetest.Each(t, func(t *testing.T, db *database.DB) {
		tb := setup(t, db)
		r := tb.quoted(t)
		_, err := tb.e.Get(tb.ctx, tb.other.AccountID, r.ID)
		testkit.AppErr(t, err, apperr.NotFound, "")
		_, err = tb.e.Accept(tb.ctx, tb.other, r.ID)
		testkit.AppErr(t, err, apperr.NotFound, "")
		if list, err := tb.e.List(tb.ctx, tb.other, "", 10); err != nil || len(list) != 0 {
			t.Errorf("another account's list: %v %d", err, len(list))
		}
		_, err = tb.e.Attach(tb.ctx, r.ID, enterprise.AttachInput{ServiceID: tb.service(t, tb.a.AccountID)})
		testkit.AppErr(t, err, apperr.Conflict, "request_quoted")
		if _, err := tb.e.Accept(tb.ctx, tb.a, r.ID); err != nil {
			t.Fatal(err)
		}
		_, err = tb.e.Accept(tb.ctx, tb.a, r.ID)
		testkit.AppErr(t, err, apperr.Conflict, "request_accepted")
		all, err := tb.cat.Plans(tb.ctx, false)
		if err != nil {
			t.Fatal(err)
		}
		plans := 0
		for _, p := range all {
			if p.AccountID != nil && *p.AccountID == tb.a.AccountID {
				plans++
			}
		}
		invs, err := tb.b.Invoices(tb.ctx, billing.InvoiceFilter{AccountID: tb.a.AccountID, Limit: 1000})
		if err != nil {
			t.Fatal(err)
		}
		if invoices := len(invs); plans != 1 || invoices != 1 {
			t.Errorf("%d private plans and %d invoices, want 1 and 1", plans, invoices)
		}

		late := tb.quoted(t)
		tb.clock.Add(15 * 24 * time.Hour)
		_, err = tb.e.Accept(tb.ctx, tb.a, late.ID)
		testkit.AppErr(t, err, apperr.Conflict, "request_expired")
		if got, _ := tb.e.Get(tb.ctx, tb.a.AccountID, late.ID); got == nil || got.Status != enterprise.StatusExpired {
			t.Errorf("expired quote: %+v", got)
		}
		_, err = tb.e.Quote(tb.ctx, "staff-1", late.ID, enterprise.QuoteInput{BasePlanID: tb.base, MonthlyPrice: 1, ExpiresAt: tb.clock.Now().Add(-time.Hour)})
		testkit.AppErr(t, err, apperr.Invalid, "")
		if _, err := tb.e.Quote(tb.ctx, "staff-1", late.ID, enterprise.QuoteInput{BasePlanID: tb.base, MonthlyPrice: 110000, ExpiresAt: tb.clock.Now().Add(time.Hour)}); err != nil {
			t.Fatal(err)
		}
		declined, err := tb.e.Decline(tb.ctx, tb.a, late.ID, enterprise.DeclineInput{Reason: "too expensive"})
		if err != nil || declined.Status != enterprise.StatusDeclined || declined.DeclineReason != "too expensive" {
			t.Fatalf("declined: %v %+v", err, declined)
		}
		_, err = tb.e.Submit(tb.ctx, tb.a, enterprise.SubmitInput{Nodes: 0})
		testkit.AppErr(t, err, apperr.Invalid, "")
	})
}
