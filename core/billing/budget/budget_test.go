package budget_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ezscale/platform/core/services"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/uptrace/bun"

	"github.com/ezscale/platform/core/accounts"
	"github.com/ezscale/platform/core/accounts/accountstest"
	"github.com/ezscale/platform/core/apperr"
	"github.com/ezscale/platform/core/billing"
	"github.com/ezscale/platform/core/billing/billingtest"
	"github.com/ezscale/platform/core/billing/budget"
	"github.com/ezscale/platform/core/billing/ledger"
	"github.com/ezscale/platform/core/billing/payments"
	"github.com/ezscale/platform/core/billing/payments/paymentstest"
	"github.com/ezscale/platform/core/catalog"
	"github.com/ezscale/platform/core/catalog/catalogtest"
	"github.com/ezscale/platform/core/database"
	"github.com/ezscale/platform/core/database/databasetest"
	"github.com/ezscale/platform/core/jobs"
	"github.com/ezscale/platform/core/jobs/jobstest"
	"github.com/ezscale/platform/core/notify"
	"github.com/ezscale/platform/core/outbox"
	"github.com/ezscale/platform/core/provisioning"
	"github.com/ezscale/platform/core/provisioning/provisioningtest"
	"github.com/ezscale/platform/core/ratelimit"
	"github.com/ezscale/platform/core/testkit"
)

// Billing tells what services cost; core/services' status machine is what
// suspends and lifts them.
var (
	_ budget.Billing     = (*billing.Billing)(nil)
	_ budget.Suspensions = (*services.Services)(nil)
)

type testBundle struct {
	ctx     context.Context
	db      *database.DB
	clock   *testkit.Clock
	billing *billing.Billing
	svcs    *services.Services
	cat     *catalog.Catalog
	ledger  *ledger.Ledger
	outbox  *outbox.Outbox
	notify  *notify.Service
	svc     *budget.Service
	engine  *jobs.Engine
	planID  map[string]string // service type → plan id

	mu        sync.Mutex
	customers map[string]customer // account id → its people
}

// setup builds budget caps on billing (its ledger and its service
// lifecycle).
func setup(t testing.TB, db *database.DB) *testBundle {
	t.Helper()
	b := &testBundle{ctx: context.Background(), db: db, clock: &testkit.Clock{}, planID: map[string]string{}, customers: map[string]customer{}}
	b.clock.Set(time.Date(2028, 3, 20, 12, 0, 0, 0, time.UTC))
	reg := jobs.NewRegistry(time.Hour)
	ns, err := notify.New(db, reg, notify.Options{PublicURL: "https://billing.example.com"})
	if err != nil {
		t.Fatal(err)
	}
	b.outbox = ns.Outbox()
	t.Cleanup(ns.Stop)
	b.notify = ns
	b.cat = catalog.New(catalog.Deps{DB: db, PlanGuard: billing.KeepsBackendInUse}, catalog.Options{Now: b.clock.Now})
	accts := accounts.New(db, ns, ratelimit.New(db), accounts.DefaultOptions())
	b.svcs = services.New(services.Deps{DB: db, Jobs: reg, Notifier: ns, Catalog: b.cat, Accounts: accts}, services.Options{Now: b.clock.Now})
	b.billing = billing.New(billing.Deps{Services: b.svcs, DB: db, Jobs: reg, Notifier: ns, Catalog: b.cat}, billing.Options{Currency: "EUR", Now: b.clock.Now})
	// Payments tell automatic top-ups from the customer's.
	pay := payments.New(payments.Deps{DB: db, Jobs: reg, Billing: b.billing, Accounts: accts, Notifier: ns})
	pay.Attach(b.billing)
	provisioningtest.BackendJobs(provisioning.Deps{Services: b.svcs, DB: db, Jobs: reg, Billing: b.billing, Catalog: b.cat, Accounts: accts, Notifier: ns})
	b.svc = budget.New(db, ns, b.billing, b.svcs, pay, reg, budget.Options{Now: b.clock.Now})
	engine, err := jobs.New(db, reg, jobstest.Working(2))
	if err != nil {
		t.Fatal(err)
	}
	b.engine = engine
	b.ledger = b.billing.Ledger()
	b.svc.Attach(b.billing, b.svcs)
	for _, typ := range []string{"vps", "dedicated", "hosting", "game", "kasm"} {
		id, err := catalogtest.PlanOf(b.ctx, db, catalogtest.PlanSpec{Name: typ, ServiceType: typ, Currency: "EUR", Plugin: "test", MonthlyPrice: 1000})
		if err != nil {
			t.Fatal(err)
		}
		b.planID[typ] = id
	}
	return b
}

// customer is who account signed up: the owner and a technical member
// (who must not get billing mail).
type customer struct {
	ownerEmail, ownerID, techEmail, techID string
}

// account signs up a customer with an owner and a technical member and
// returns its account id; who finds them again.
func (b *testBundle) account(t testing.TB) string {
	t.Helper()
	tag := fmt.Sprintf("%016x", rand.Uint64())
	c := customer{ownerEmail: "owner@" + tag + ".example.com", techEmail: "technical@" + tag + ".example.com"}
	acc, owner, err := accountstest.Owner(b.ctx, b.db, c.ownerEmail)
	if err != nil {
		t.Fatal(err)
	}
	c.ownerID = owner
	if c.techID, err = accountstest.Member(b.ctx, b.db, acc, c.techEmail, accounts.RoleTechnical); err != nil {
		t.Fatal(err)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.customers[acc] = c
	return acc
}

// who returns the people of an account that account signed up.
func (b *testBundle) who(acc string) customer {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.customers[acc]
}

// service creates a service of the account in status, labelled "my "+typ.
func (b *testBundle) service(t testing.TB, acc, typ, status string) string {
	t.Helper()
	return b.serviceOf(t, billingtest.ServiceSpec{AccountID: acc, PlanID: b.planID[typ], Status: status, Label: "my " + typ})
}

// serviceOf creates a service as spec describes, in EUR at 1000 a month.
func (b *testBundle) serviceOf(t testing.TB, spec billingtest.ServiceSpec) string {
	t.Helper()
	spec.Currency, spec.Price, spec.CreatedAt = "EUR", 1000, b.clock.Now()
	id, err := billingtest.Service(b.ctx, b.db, spec)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// topUp records a succeeded top-up of the account from source (card or
// auto) and returns its id.
func (b *testBundle) topUp(t testing.TB, acc, source string, amount int64) string {
	t.Helper()
	id, err := paymentstest.TopUp(b.ctx, b.db, acc, source, amount, "EUR", b.clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func (b *testBundle) post(t testing.TB, p ledger.Posting) *ledger.Entry {
	t.Helper()
	var e *ledger.Entry
	err := b.db.Tx(b.ctx, func(ctx context.Context, tx bun.Tx) error {
		var err error
		e, err = b.ledger.Post(ctx, tx, p)
		return err
	})
	if err != nil {
		t.Fatalf("posting %+v: %v", p, err)
	}
	return e
}

// spend puts amount of credit on the account and charges it: spend of
// amount.
func (b *testBundle) spend(t testing.TB, acc string, amount int64) {
	t.Helper()
	b.post(t, ledger.Posting{AccountID: acc, Currency: "EUR", Amount: amount, Kind: ledger.KindAdjustment, Description: "test credit"})
	b.post(t, ledger.Posting{AccountID: acc, Currency: "EUR", Amount: -amount, Kind: ledger.KindCharge, Description: "test charge"})
}

func (b *testBundle) save(t testing.TB, acc string, in budget.Settings) *budget.Budget {
	t.Helper()
	if in.Currency == "" {
		in.Currency = "EUR"
	}
	bg, err := b.svc.Save(b.ctx, acc, in)
	if err != nil {
		t.Fatalf("Save: %v", err)
	}
	return bg
}

func (b *testBundle) check(t testing.TB, acc string) *budget.Result {
	t.Helper()
	res, err := b.svc.Check(b.ctx, acc, 0)
	if err != nil {
		t.Fatalf("Check: %v", err)
	}
	return res
}

// state returns each service's status and whether a budget suspension of
// it is in force.
func (b *testBundle) state(t testing.TB, ids ...string) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, id := range ids {
		svc, err := b.billing.Service(b.ctx, "", id)
		if err != nil {
			t.Fatal(err)
		}
		sus, err := b.svcs.Suspensions(b.ctx, id, true)
		if err != nil {
			t.Fatal(err)
		}
		status := svc.Status
		if slices.ContainsFunc(sus, func(s services.Suspension) bool { return s.Reason == "budget" }) {
			status += "+budget"
		}
		out[id] = status
	}
	return out
}

// mail returns the subjects of the budget emails to addr, oldest first
// (billing's own notices of each suspension are left out).
func (b *testBundle) mail(t testing.TB, addr string) []string {
	t.Helper()
	ms, err := b.outbox.ListForRecipient(b.ctx, addr)
	if err != nil {
		t.Fatal(err)
	}
	subjects := []string{}
	for i := len(ms) - 1; i >= 0; i-- {
		if strings.HasPrefix(ms[i].Template, "budget.") && ms[i].Channel == "email" {
			subjects = append(subjects, ms[i].Subject)
		}
	}
	return subjects
}

// budgetNotices returns the user's budget notifications in the
// notification center, oldest first.
func (b *testBundle) budgetNotices(t testing.TB, userID string) []notify.Notification {
	t.Helper()
	ns, err := b.notify.List(b.ctx, userID, notify.ListFilter{Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	var out []notify.Notification
	for i := len(ns) - 1; i >= 0; i-- {
		if strings.HasPrefix(string(ns[i].Type), "budget.") {
			out = append(out, ns[i])
		}
	}
	return out
}

// inApp returns the titles of the user's budget notifications in the
// notification center, oldest first.
func (b *testBundle) inApp(t testing.TB, userID string) []string {
	t.Helper()
	titles := []string{}
	for _, n := range b.budgetNotices(t, userID) {
		titles = append(titles, n.Title)
	}
	return titles
}

func sorted(s []string) []string {
	out := append([]string(nil), s...)
	sort.Strings(out)
	return out
}

func TestHardStopSuspendsExactlyTheNonExcludedServices(t *testing.T) {
	t.Parallel()
	databasetest.Each(t, func(t *testing.T, db *database.DB) {
		b := setup(t, db)
		acc := b.account(t)
		game := b.service(t, acc, "game", "active")
		vps := b.service(t, acc, "vps", "active")
		hosting := b.service(t, acc, "hosting", "active")
		overdue := b.service(t, acc, "dedicated", "suspended")
		if _, err := billingtest.Suspend(b.ctx, db, overdue, "non_payment", b.clock.Now()); err != nil {
			t.Fatal(err)
		}
		gone := b.service(t, acc, "kasm", "terminated")
		other := b.account(t)
		othersService := b.service(t, other, "game", "active")

		b.save(t, acc, budget.Settings{MonthlyLimit: 10000, HardStop: true})
		b.save(t, other, budget.Settings{MonthlyLimit: 10000, HardStop: true})
		if err := b.svc.SetExcluded(b.ctx, acc, vps, true); err != nil {
			t.Fatal(err)
		}
		// Another account's service cannot be excluded through this one.
		if err := b.svc.SetExcluded(b.ctx, acc, othersService, true); apperr.CodeOf(err) != apperr.NotFound {
			t.Fatalf("excluding another account's service: %v, want NotFound", err)
		}

		b.spend(t, acc, 9999)
		if res := b.check(t, acc); len(res.Suspended) != 0 {
			t.Fatalf("at 99 %%: suspended %v", res.Suspended)
		}
		b.spend(t, acc, 1)
		res := b.check(t, acc)
		if diff := cmp.Diff(sorted([]string{game, hosting, overdue}), sorted(res.Suspended)); diff != "" {
			t.Errorf("suspended at 100 %% (-want +got):\n%s", diff)
		}
		want := map[string]string{
			game: "suspended+budget", hosting: "suspended+budget", overdue: "suspended+budget",
			vps: "active", gone: "terminated",
		}
		if diff := cmp.Diff(want, b.state(t, game, vps, hosting, overdue, gone)); diff != "" {
			t.Errorf("services (-want +got):\n%s", diff)
		}
		// The other account's budget is untouched by this one's spend.
		b.check(t, other)
		if got := b.state(t, othersService)[othersService]; got != "active" {
			t.Errorf("the other account's service is %s", got)
		}
		// A second check changes nothing.
		if res := b.check(t, acc); len(res.Suspended)+len(res.Lifted) != 0 {
			t.Errorf("second check: %+v", res)
		}
		// Excluding a suspended service lifts it; including it again
		// suspends it again.
		if err := b.svc.SetExcluded(b.ctx, acc, game, true); err != nil {
			t.Fatal(err)
		}
		if res := b.check(t, acc); !cmp.Equal(res.Lifted, []string{game}) {
			t.Errorf("after excluding %s: lifted %v", game, res.Lifted)
		}
		if err := b.svc.SetExcluded(b.ctx, acc, game, false); err != nil {
			t.Fatal(err)
		}
		if res := b.check(t, acc); !cmp.Equal(res.Suspended, []string{game}) {
			t.Errorf("after including %s again: suspended %v", game, res.Suspended)
		}
		// Without the hard stop nothing is suspended, and what was is lifted.
		b.save(t, acc, budget.Settings{MonthlyLimit: 10000, HardStop: false})
		b.check(t, acc)
		want = map[string]string{game: "active", vps: "active", hosting: "active", overdue: "suspended", gone: "terminated"}
		if diff := cmp.Diff(want, b.state(t, game, vps, hosting, overdue, gone)); diff != "" {
			t.Errorf("hard stop off (-want +got):\n%s", diff)
		}
	})
}

func TestThresholdsFireOncePerPeriod(t *testing.T) {
	t.Parallel()
	databasetest.Each(t, func(t *testing.T, db *database.DB) {
		b := setup(t, db)
		acc := b.account(t)
		b.save(t, acc, budget.Settings{MonthlyLimit: 10000})

		steps := []struct {
			spend int64
			want  []string
		}{
			{4000, nil},              // 40 %
			{1500, []string{"50"}},   // 55 %
			{0, nil},                 // checked again: nothing new
			{3000, []string{"75"}},   // 85 %
			{1000, []string{"90"}},   // 95 %
			{600, []string{"limit"}}, // 101 %
			{5000, nil},              // 151 %: nothing left to send
		}
		for i, st := range steps {
			if st.spend > 0 {
				b.spend(t, acc, st.spend)
			}
			res := b.check(t, acc)
			if diff := cmp.Diff(st.want, res.Alerts); diff != "" {
				t.Errorf("step %d (spend %d %%): alerts (-want +got):\n%s", i, res.SpendPercent, diff)
			}
		}
		wantMail := []string{"You have used 55% of your monthly budget", "You have used 85% of your monthly budget",
			"You have used 95% of your monthly budget", "Budget limit reached"}
		if diff := cmp.Diff(wantMail, b.mail(t, b.who(acc).ownerEmail)); diff != "" {
			t.Errorf("owner's mail (-want +got):\n%s", diff)
		}
		if got := b.mail(t, b.who(acc).techEmail); len(got) != 0 {
			t.Errorf("a technical member got billing mail: %v", got)
		}
		// The notification center has the same notices in-app.
		if diff := cmp.Diff(wantMail, b.inApp(t, b.who(acc).ownerID)); diff != "" {
			t.Errorf("owner's in-app notifications (-want +got):\n%s", diff)
		}
		if got := b.inApp(t, b.who(acc).techID); len(got) != 0 {
			t.Errorf("a technical member got billing notifications: %v", got)
		}

		// A jump over several thresholds records each and mails once.
		jump := b.account(t)
		b.save(t, jump, budget.Settings{MonthlyLimit: 10000})
		b.spend(t, jump, 9500)
		if diff := cmp.Diff([]string{"50", "75", "90"}, b.check(t, jump).Alerts); diff != "" {
			t.Errorf("jump to 95 %% (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff([]string{"You have used 95% of your monthly budget"}, b.mail(t, b.who(jump).ownerEmail)); diff != "" {
			t.Errorf("jump mail (-want +got):\n%s", diff)
		}
		st, err := b.svc.Status(b.ctx, jump)
		if err != nil {
			t.Fatal(err)
		}
		var keys []string
		for _, a := range st.Alerts {
			keys = append(keys, a.Key)
		}
		if diff := cmp.Diff([]string{"50", "75", "90"}, sorted(keys)); diff != "" || st.Period.SpendPercent != 95 || st.Period.Spend != 9500 {
			t.Errorf("Status: alerts %v, %d %%, spend %d", keys, st.Period.SpendPercent, st.Period.Spend)
		}
	})
}

func TestConcurrentChecksAlertOnce(t *testing.T) {
	t.Parallel()
	databasetest.Each(t, func(t *testing.T, db *database.DB) {
		b := setup(t, db)
		acc := b.account(t)
		game := b.service(t, acc, "game", "active")
		b.save(t, acc, budget.Settings{MonthlyLimit: 1000, HardStop: true})
		b.spend(t, acc, 2000)
		var wg sync.WaitGroup
		errs := make(chan error, 10)
		for range 10 {
			wg.Go(func() {
				if _, err := b.svc.Check(b.ctx, acc, 0); err != nil {
					errs <- err
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Error(err)
		}
		want := []string{"Budget limit reached", "Services suspended: budget limit reached"}
		if diff := cmp.Diff(want, b.mail(t, b.who(acc).ownerEmail)); diff != "" {
			t.Errorf("mail after 10 concurrent checks (-want +got):\n%s", diff)
		}
		if got := b.state(t, game)[game]; got != "suspended+budget" {
			t.Errorf("service is %s", got)
		}
	})
}

func TestResetOnTheBillingDate(t *testing.T) {
	t.Parallel()
	databasetest.Each(t, func(t *testing.T, db *database.DB) {
		b := setup(t, db)
		b.clock.Set(time.Date(2028, 3, 20, 12, 0, 0, 0, time.UTC))
		acc := b.account(t)
		game := b.service(t, acc, "game", "active")
		b.save(t, acc, budget.Settings{MonthlyLimit: 10000, HardStop: true, ResetDay: 15})
		b.spend(t, acc, 10000)
		if res := b.check(t, acc); !cmp.Equal(res.Suspended, []string{game}) {
			t.Fatalf("suspended %v", res.Suspended)
		}
		// The sweep has nothing to do: checked just now, same period.
		if n, err := b.svc.Sweep(b.ctx); err != nil || n != 0 {
			t.Fatalf("Sweep = %d, %v; want 0", n, err)
		}
		// A second before the reset day, still the same period.
		b.clock.Set(time.Date(2028, 4, 14, 23, 59, 59, 0, time.UTC))
		if res := b.check(t, acc); len(res.Lifted) != 0 || res.Spend != 10000 {
			t.Fatalf("before the reset: %+v", res)
		}
		// On the billing date the period rolls over: the sweep queues a
		// check, which lifts the hard stop.
		b.clock.Set(time.Date(2028, 4, 15, 0, 30, 0, 0, time.UTC))
		if n, err := b.svc.Sweep(b.ctx); err != nil || n != 1 {
			t.Fatalf("Sweep after the reset = %d, %v; want 1", n, err)
		}
		res := b.check(t, acc)
		if res.Spend != 0 || !cmp.Equal(res.Lifted, []string{game}) {
			t.Fatalf("after the reset: %+v", res)
		}
		if got := b.state(t, game)[game]; got != "active" {
			t.Errorf("service is %s after the reset", got)
		}
		// Thresholds fire again in the new period.
		b.spend(t, acc, 5000)
		if diff := cmp.Diff([]string{"50"}, b.check(t, acc).Alerts); diff != "" {
			t.Errorf("alerts in the new period (-want +got):\n%s", diff)
		}
		// A day later the sweep checks again (the daily check).
		b.clock.Set(time.Date(2028, 4, 16, 1, 0, 0, 0, time.UTC))
		if n, err := b.svc.Sweep(b.ctx); err != nil || n != 1 {
			t.Errorf("daily Sweep = %d, %v; want 1", n, err)
		}
	})
}

func TestPaymentOverridesTheHardStopForThePeriod(t *testing.T) {
	t.Parallel()
	databasetest.Each(t, func(t *testing.T, db *database.DB) {
		b := setup(t, db)
		acc := b.account(t)
		game := b.service(t, acc, "game", "active")
		vps := b.service(t, acc, "vps", "active")
		b.save(t, acc, budget.Settings{MonthlyLimit: 10000, HardStop: true})
		b.spend(t, acc, 12000)
		b.check(t, acc)

		// An automatic top-up does not override: the customer did not choose
		// to pay past the budget.
		auto := b.topUp(t, acc, "auto", 500)
		b.post(t, ledger.Posting{AccountID: acc, Currency: "EUR", Amount: 500, Kind: ledger.KindTopUp, Reference: auto})
		if res := b.check(t, acc); len(res.Lifted) != 0 {
			t.Fatalf("an auto top-up lifted %v", res.Lifted)
		}

		// A card top-up does.
		card := b.topUp(t, acc, "card", 2000)
		e := b.post(t, ledger.Posting{AccountID: acc, Currency: "EUR", Amount: 2000, Kind: ledger.KindTopUp, Reference: card})
		res := b.check(t, acc)
		if diff := cmp.Diff(sorted([]string{game, vps}), sorted(res.Lifted)); diff != "" {
			t.Fatalf("lifted after paying (-want +got):\n%s", diff)
		}
		st, err := b.svc.Status(b.ctx, acc)
		if err != nil {
			t.Fatal(err)
		}
		if st.Period.OverriddenAt == nil || st.Period.OverrideEntryID != e.ID || st.Period.OverrideAmount != 2000 {
			t.Errorf("period does not record the override: %+v", st.Period)
		}
		// More spend this period does not stop the services again.
		b.spend(t, acc, 3000)
		if res := b.check(t, acc); len(res.Suspended) != 0 {
			t.Errorf("suspended again after the override: %v", res.Suspended)
		}
		// A second payment records nothing new.
		b.post(t, ledger.Posting{AccountID: acc, Currency: "EUR", Amount: 100, Kind: ledger.KindPayment, Reference: "pay-1"})
		if st2, _ := b.svc.Status(b.ctx, acc); st2.Period.OverrideEntryID != e.ID {
			t.Errorf("override entry changed to %s", st2.Period.OverrideEntryID)
		}
		// The next period enforces the budget again.
		b.clock.Set(time.Date(2028, 4, 1, 0, 0, 1, 0, time.UTC))
		b.spend(t, acc, 10000)
		if res := b.check(t, acc); len(res.Suspended) != 2 {
			t.Errorf("next period: suspended %v, want both", res.Suspended)
		}
		mail := b.mail(t, b.who(acc).ownerEmail)
		if diff := cmp.Diff([]string{"Budget limit reached", "Services suspended: budget limit reached", "Services resumed",
			"Budget limit reached", "Services suspended: budget limit reached"}, mail); diff != "" {
			t.Errorf("mail (-want +got):\n%s", diff)
		}
	})
}

func TestRules(t *testing.T) {
	t.Parallel()
	databasetest.Each(t, func(t *testing.T, db *database.DB) {
		b := setup(t, db)
		acc := b.account(t)
		game := b.service(t, acc, "game", "active")
		vps := b.service(t, acc, "vps", "active")
		b.save(t, acc, budget.Settings{MonthlyLimit: 10000, HardStop: true, Thresholds: &[]int64{},
			StopRule:  `spend_percent >= 80 && service_type == "game" || spend_percent >= 120`,
			AlertRule: `any(services, .type == "game") && spend_percent >= 30`,
		})
		b.spend(t, acc, 3000)
		if diff := cmp.Diff([]string{"rule"}, b.check(t, acc).Alerts); diff != "" {
			t.Errorf("alert rule at 30 %% (-want +got):\n%s", diff)
		}
		b.spend(t, acc, 5000)
		res := b.check(t, acc)
		if len(res.Alerts) != 0 || !cmp.Equal(res.Suspended, []string{game}) {
			t.Errorf("at 80 %%: %+v, want only the game server suspended and no alert", res)
		}
		b.spend(t, acc, 3000) // 110 %: the rule still spares the VPS
		if res := b.check(t, acc); len(res.Suspended) != 0 {
			t.Errorf("at 110 %%: suspended %v", res.Suspended)
		}
		b.spend(t, acc, 1000)
		if res := b.check(t, acc); !cmp.Equal(res.Suspended, []string{vps}) {
			t.Errorf("at 120 %%: suspended %v, want the VPS", res.Suspended)
		}
		if bg, _ := b.svc.Get(b.ctx, acc); bg.RuleError != "" {
			t.Errorf("rule error %q", bg.RuleError)
		}

		// A rule that fails on the data is recorded, and the default stop
		// rule decides.
		other := b.account(t)
		svc := b.service(t, other, "game", "active")
		b.save(t, other, budget.Settings{MonthlyLimit: 100, HardStop: true, StopRule: `spend % (limit - limit) == 0`})
		b.spend(t, other, 100)
		if res := b.check(t, other); !cmp.Equal(res.Suspended, []string{svc}) {
			t.Errorf("failing rule: suspended %v, want the default to suspend", res.Suspended)
		}
		if bg, _ := b.svc.Get(b.ctx, other); bg.RuleError == "" {
			t.Error("the failing rule left no rule_error")
		}
	})
}

func TestSaveRefusesABadRuleWithItsPosition(t *testing.T) {
	t.Parallel()
	databasetest.Each(t, func(t *testing.T, db *database.DB) {
		b := setup(t, db)
		acc := b.account(t)
		_, err := b.svc.Save(b.ctx, acc, budget.Settings{MonthlyLimit: 100, Currency: "EUR",
			StopRule: "spend_percent >= 80 &&\n  service_typ == \"game\""})
		var ae *apperr.Error
		if !errors.As(err, &ae) || ae.Code != apperr.Invalid {
			t.Fatalf("Save error = %v, want Invalid", err)
		}
		want := []apperr.FieldError{{Field: "stop_rule", Message: "2:3: unknown name service_typ", Line: 2, Column: 3,
			Snippet: " |   service_typ == \"game\"\n |   ^"}}
		if diff := cmp.Diff(want, ae.Fields); diff != "" {
			t.Errorf("fields (-want +got):\n%s", diff)
		}
		if _, err := b.svc.Get(b.ctx, acc); apperr.CodeOf(err) != apperr.NotFound {
			t.Errorf("a refused budget was stored: %v", err)
		}
		// Other fields are checked too.
		_, err = b.svc.Save(b.ctx, acc, budget.Settings{MonthlyLimit: 0, Thresholds: &[]int64{50, 50}, ResetDay: 40})
		if ae, ok := apperr.As(err); !ok || len(ae.Fields) != 3 {
			t.Errorf("Save error = %v, want three field errors", err)
		}
		// No currency anywhere to default to.
		if _, err := b.svc.Save(b.ctx, acc, budget.Settings{MonthlyLimit: 100}); apperr.CodeOf(err) != apperr.Invalid {
			t.Errorf("Save without a currency: %v, want Invalid", err)
		}
	})
}

// TestSaveBoundsTheRulesMemory: a rule that passes every other check but
// would build more list elements than the VM's memory budget on each
// evaluation (so that every check would fail and fall back to the default
// stop rule) is refused when saved, naming the rule and pointing at the
// part over the limit; a rule just within the bound is accepted and
// evaluates over an account with the most services rules can see.
func TestSaveBoundsTheRulesMemory(t *testing.T) {
	t.Parallel()
	databasetest.Each(t, func(t *testing.T, db *database.DB) {
		b := setup(t, db)
		acc := b.account(t)
		hundred := strings.TrimSuffix(strings.Repeat("#, ", 100), ", ")
		for _, field := range []string{"stop_rule", "alert_rule"} {
			in := budget.Settings{MonthlyLimit: 100, Currency: "EUR", HardStop: true}
			rule := "all(1..1000, len([" + hundred + "]) > 0)"
			if field == "stop_rule" {
				in.StopRule = rule
			} else {
				in.AlertRule = rule
			}
			_, err := b.svc.Save(b.ctx, acc, in)
			ae, ok := apperr.As(err)
			if !ok || ae.Code != apperr.Invalid || len(ae.Fields) != 1 || ae.Fields[0].Field != field ||
				ae.Fields[0].Message != "1:1: all() over up to 1000 elements may build lists of 101000 elements in all, the memory limit is 100000" {
				t.Errorf("%s over the memory budget: %v %+v", field, err, ae)
			}
		}
		if _, err := b.svc.Get(b.ctx, acc); apperr.CodeOf(err) != apperr.NotFound {
			t.Errorf("a refused budget was stored: %v", err)
		}

		// 1000 × 99 elements: within the bound, whatever the account.
		within := "all(services, len([" + strings.TrimSuffix(strings.Repeat("#, ", 98), ", ") + "]) > 0)"
		b.save(t, acc, budget.Settings{MonthlyLimit: 100, StopRule: within, AlertRule: within})
		spec := billingtest.ServiceSpec{AccountID: acc, PlanID: b.planID["vps"], Currency: "EUR", CreatedAt: b.clock.Now()}
		if _, err := billingtest.ServicesOf(b.ctx, db, spec, 1000); err != nil {
			t.Fatal(err)
		}
		if res := b.check(t, acc); !cmp.Equal(res.Alerts, []string{budget.AlertRule}) {
			t.Errorf("alerts %v, want the rule's", res.Alerts)
		}
		if bg, _ := b.svc.Get(b.ctx, acc); bg.RuleError != "" {
			t.Errorf("a rule within the bound failed on the largest account: %s", bg.RuleError)
		}
	})
}

// TestOrderWhileStoppedIsRefused: while the hard stop is in force, an
// order of a service the stop rule would hold is refused (422
// budget_stopped) and creates nothing; a service the rule spares is
// ordered; once the customer pays by card to override the stop, or
// without the hard stop, orders go through.
func TestOrderWhileStoppedIsRefused(t *testing.T) {
	t.Parallel()
	databasetest.Each(t, func(t *testing.T, db *database.DB) {
		b := setup(t, db)
		acc := b.account(t)
		vps := b.service(t, acc, "vps", "active")
		b.save(t, acc, budget.Settings{MonthlyLimit: 1000, HardStop: true, StopRule: `spend_percent >= 100 && service_type != "game"`})
		b.spend(t, acc, 1000)
		if res := b.check(t, acc); !cmp.Equal(res.Suspended, []string{vps}) {
			t.Fatalf("suspended %v, want the VPS", res.Suspended)
		}
		count := func() int {
			svcs, err := b.billing.Services(b.ctx, services.Filter{AccountID: acc, Limit: 1000})
			if err != nil {
				t.Fatal(err)
			}
			return len(svcs)
		}
		_, err := b.billing.Order(b.ctx, acc, billing.OrderInput{PlanID: b.planID["vps"]})
		if e, ok := apperr.As(err); !ok || e.Code != apperr.Unprocessable || e.Reason != budget.ReasonStopped ||
			!strings.Contains(e.Message, `service_type != "game"`) {
			t.Errorf("ordering a VPS while stopped: %v, want unprocessable %s naming the stop rule", err, budget.ReasonStopped)
		}
		if n := count(); n != 1 {
			t.Errorf("services after the refusal: %d", n)
		}
		if _, err := b.billing.Order(b.ctx, acc, billing.OrderInput{PlanID: b.planID["game"]}); err != nil {
			t.Errorf("ordering a game server the stop rule spares: %v", err)
		}
		// A card top-up overrides the stop for the period.
		b.post(t, ledger.Posting{AccountID: acc, Currency: "EUR", Amount: 500, Kind: ledger.KindTopUp, Description: "card top-up"})
		if _, err := b.billing.Order(b.ctx, acc, billing.OrderInput{PlanID: b.planID["vps"]}); err != nil {
			t.Errorf("ordering a VPS once overridden: %v", err)
		}
		if n := count(); n != 3 {
			t.Errorf("services: %d, want 3", n)
		}

		// Alerts only: orders go through at any spend.
		other := b.account(t)
		b.save(t, other, budget.Settings{MonthlyLimit: 100})
		b.spend(t, other, 500)
		if _, err := b.billing.Order(b.ctx, other, billing.OrderInput{PlanID: b.planID["vps"]}); err != nil {
			t.Errorf("ordering without the hard stop: %v", err)
		}
	})
}

// TestNoticesNameServicesNotTheirIDs: budget.stopped and budget.resumed
// list services by their label, else their plan's name and hostname;
// never by their id.
func TestNoticesNameServicesNotTheirIDs(t *testing.T) {
	t.Parallel()
	databasetest.Each(t, func(t *testing.T, db *database.DB) {
		b := setup(t, db)
		acc := b.account(t)
		labelled := b.service(t, acc, "game", "active")
		bare := b.serviceOf(t, billingtest.ServiceSpec{AccountID: acc, PlanID: b.planID["vps"], Attributes: `{"hostname": "web1.example.com"}`})
		b.save(t, acc, budget.Settings{MonthlyLimit: 1000, HardStop: true})
		b.spend(t, acc, 1000)
		b.check(t, acc)
		if _, err := b.svc.Save(b.ctx, acc, budget.Settings{MonthlyLimit: 1000, Currency: "EUR"}); err != nil {
			t.Fatal(err)
		}
		b.check(t, acc)
		type item struct{ ID, Name, Type string }
		want := []item{{labelled, "my game", "game"}, {bare, "vps (web1.example.com)", "vps"}}
		raw := map[notify.Type]string{}
		for _, n := range b.budgetNotices(t, b.who(acc).ownerID) {
			raw[n.Type] = n.Data
		}
		for _, typ := range []notify.Type{notify.BudgetStopped, notify.BudgetResumed} {
			var data struct{ Services []item }
			if err := json.Unmarshal([]byte(raw[typ]), &data); err != nil {
				t.Fatalf("%s: %v", typ, err)
			}
			if diff := cmp.Diff(want, data.Services, cmpopts.SortSlices(func(a, b item) bool { return a.ID < b.ID })); diff != "" {
				t.Errorf("%s services (-want +got):\n%s", typ, diff)
			}
		}
	})
}

func TestLedgerHookQueuesChecks(t *testing.T) {
	t.Parallel()
	databasetest.Each(t, func(t *testing.T, db *database.DB) {
		b := setup(t, db)
		count := func() int64 {
			t.Helper()
			n, err := b.db.NewSelect().Table("river_job").Where("kind = 'billing_budget_check'").Count(b.ctx)
			if err != nil {
				t.Fatal(err)
			}
			return n
		}
		none := b.account(t)
		b.spend(t, none, 100)
		if n := count(); n != 0 {
			t.Fatalf("an account without a budget queued %d checks", n)
		}
		acc := b.account(t)
		b.save(t, acc, budget.Settings{MonthlyLimit: 1000, Currency: "EUR"}) // queues one
		b.spend(t, acc, 100)                                                 // the charge queues one
		if n := count(); n != 2 {
			t.Fatalf("%d checks queued, want 2", n)
		}
		// A check for an entry an earlier check covered is skipped.
		res, err := b.svc.Check(b.ctx, acc, 0)
		if err != nil || res.Skipped {
			t.Fatalf("Check = %+v, %v", res, err)
		}
		bal, err := b.ledger.Balance(b.ctx, acc, "EUR")
		if err != nil {
			t.Fatal(err)
		}
		if res, err := b.svc.Check(b.ctx, acc, bal.Entries); err != nil || !res.Skipped {
			t.Errorf("Check for a covered entry = %+v, %v; want skipped", res, err)
		}
	})
}

// TestDebitEnforcesThroughTheJob runs the job engine: a charge that reaches
// the limit suspends the service without anyone calling Check.
func TestDebitEnforcesThroughTheJob(t *testing.T) {
	t.Parallel()
	databasetest.Each(t, func(t *testing.T, db *database.DB) {
		b := setup(t, db)
		acc := b.account(t)
		game := b.service(t, acc, "game", "active")
		b.save(t, acc, budget.Settings{MonthlyLimit: 1000, HardStop: true, Currency: "EUR"})
		jobstest.Start(t, b.engine)
		b.spend(t, acc, 1000)
		testkit.WaitFor(t, "the service to be suspended after the charge", func() bool {
			return b.state(t, game)[game] == "suspended+budget"
		})
	})
}

func TestDeleteLiftsTheHardStop(t *testing.T) {
	t.Parallel()
	databasetest.Each(t, func(t *testing.T, db *database.DB) {
		b := setup(t, db)
		acc := b.account(t)
		game := b.service(t, acc, "game", "active")
		b.save(t, acc, budget.Settings{MonthlyLimit: 1000, HardStop: true, Currency: "EUR"})
		b.spend(t, acc, 1000)
		b.check(t, acc)
		if err := b.svc.Delete(b.ctx, acc); err != nil {
			t.Fatal(err)
		}
		if got := b.state(t, game)[game]; got != "active" {
			t.Errorf("service is %s after deleting the budget", got)
		}
		if err := b.svc.Delete(b.ctx, acc); apperr.CodeOf(err) != apperr.NotFound {
			t.Errorf("second Delete: %v, want NotFound", err)
		}
		// A raised limit lifts too.
		b.save(t, acc, budget.Settings{MonthlyLimit: 1000, HardStop: true, Currency: "EUR"})
		b.check(t, acc)
		b.save(t, acc, budget.Settings{MonthlyLimit: 5000, HardStop: true, Currency: "EUR"})
		if res := b.check(t, acc); !cmp.Equal(res.Lifted, []string{game}) {
			t.Errorf("raising the limit lifted %v", res.Lifted)
		}
	})
}
