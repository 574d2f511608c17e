package support_test

import (
	"context"
	"sync"
	"testing"
	"testing/fstest"
	"time"

	"github.com/uptrace/bun"

	"github.com/ezscale/platform/core/database"
	"github.com/ezscale/platform/core/notify"
	"github.com/ezscale/platform/core/pluginhost"
	"github.com/ezscale/platform/core/pluginhost/pluginhosttest"
	"github.com/ezscale/platform/core/ratelimit"
	"github.com/ezscale/platform/core/support"
	"github.com/ezscale/platform/core/support/supporttest"
	"github.com/ezscale/platform/core/testkit"
)

// fakeBilling holds two accounts' facts; each read returns the asked
// account's only, as core/app's adapter over billing does.
type fakeBilling struct {
	services map[string][]support.ServiceFact
	invoices map[string][]support.InvoiceFact
	balances map[string]support.Balance
}

func (f *fakeBilling) AccountServices(_ context.Context, accountID string) ([]support.ServiceFact, error) {
	return f.services[accountID], nil
}
func (f *fakeBilling) UnpaidInvoices(_ context.Context, accountID string) ([]support.InvoiceFact, error) {
	return f.invoices[accountID], nil
}
func (f *fakeBilling) AccountBalance(_ context.Context, accountID string) (support.Balance, error) {
	return f.balances[accountID], nil
}

type fakeActivity struct {
	runs     map[string][]support.RunFact
	recovery map[string][]support.RecoveryFact
}

func (f *fakeActivity) FailedRuns(_ context.Context, accountID string, _ time.Time) ([]support.RunFact, error) {
	return f.runs[accountID], nil
}
func (f *fakeActivity) RecoveryEvents(_ context.Context, accountID string, _ time.Time) ([]support.RecoveryFact, error) {
	return f.recovery[accountID], nil
}

type fakeUsers struct{}

func (fakeUsers) Contact(_ context.Context, userID string) (string, string, error) {
	return userID + "@example.com", "User " + userID, nil
}

// fakeNotifier records the events it is given.
type fakeNotifier struct {
	mu     sync.Mutex
	events []notify.Event
}

func (f *fakeNotifier) Notify(_ context.Context, _ bun.Tx, ev notify.Event) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.events = append(f.events, ev)
	return nil
}

func (f *fakeNotifier) types() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for _, e := range f.events {
		out = append(out, string(e.Type))
	}
	return out
}

// articles is the test's knowledge base.
var articles = fstest.MapFS{
	"billing/refunds.md": {Data: []byte("# Refunds\n\nA refund of an unused service period is credited to your account balance within 5 days. Ask support for a refund.")},
	"vps/reboot.md":      {Data: []byte("# Rebooting a VPS\n\nUse the power menu of the service to reboot. A reboot takes a minute.")},
	"game/rust.md":       {Data: []byte("# Rust servers\n\nWipe days and map seeds for Rust game servers.")},
}

type testBundle struct {
	db        *database.DB
	clock     *testkit.Clock
	assistant *supporttest.Assistant
	helpdesk  *supporttest.Helpdesk
	notifier  *fakeNotifier
	billing   *fakeBilling
	svc       *support.Service
}

var t0 = time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)

func setup(t *testing.T, db *database.DB, opts support.Options, kb fstest.MapFS) *testBundle {
	t.Helper()
	if kb == nil {
		kb = articles
	}
	k, err := support.LoadKnowledge(kb, support.KnowledgeOptions{BaseURL: "https://help.example.com/kb"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = k.Close() })
	return setupWith(t, db, opts, testkit.NewClock(t0), k)
}

// setupWith is setup with the test's own knowledge base and clock.
func setupWith(t *testing.T, db *database.DB, opts support.Options, clock *testkit.Clock, k *support.Knowledge) *testBundle {
	t.Helper()
	b := &testBundle{db: db, clock: clock, assistant: supporttest.NewAssistant(), helpdesk: supporttest.NewHelpdesk(), notifier: &fakeNotifier{}}
	host := pluginhosttest.Start(t, pluginhost.Options{}, []pluginhosttest.Plugin{
		{Name: "anthropic", Impl: b.assistant}, {Name: "supportpal", Impl: b.helpdesk}})
	b.billing = &fakeBilling{
		services: map[string][]support.ServiceFact{
			"acct-1": {{ID: "svc-1", Name: "web-1", Type: "vps", Status: "active", Plan: "vps-4gb", Cycle: "monthly", Price: 999, Currency: "USD"}},
			"acct-2": {{ID: "svc-9", Name: "OTHER-ACCOUNT-SERVICE", Type: "vps", Status: "active", Plan: "vps-8gb", Cycle: "monthly", Price: 1999, Currency: "USD"}},
		},
		invoices: map[string][]support.InvoiceFact{
			"acct-1": {{ID: "inv-1", Number: "INV-7", Total: 999, Due: 999, Currency: "USD", DueAt: t0.Add(-48 * time.Hour)}},
			"acct-2": {{ID: "inv-9", Number: "OTHER-ACCOUNT-INVOICE", Total: 5, Due: 5, Currency: "USD", DueAt: t0}},
		},
		balances: map[string]support.Balance{"acct-1": {Amount: 1250, Currency: "USD"}, "acct-2": {Amount: 777777, Currency: "USD"}},
	}
	activity := &fakeActivity{
		runs:     map[string][]support.RunFact{"acct-1": {{ServiceID: "svc-1", Type: "reboot", Status: "failed", Error: "backend timeout", At: t0.Add(-time.Hour)}}},
		recovery: map[string][]support.RecoveryFact{"acct-1": {{ServiceID: "svc-1", CheckType: "http", Action: "restart", Status: "succeeded", At: t0.Add(-2 * time.Hour)}}},
	}
	if opts.Assistant == "" {
		opts.Assistant = "anthropic"
	}
	if opts.Helpdesk == "" {
		opts.Helpdesk = "supportpal"
	}
	opts.Now, opts.PollInterval = b.clock.Now, -1
	b.svc = support.New(support.Deps{DB: db, Limiter: ratelimit.New(db), Plugins: host, Billing: b.billing, Activity: activity,
		Users: fakeUsers{}, Notifier: b.notifier, Knowledge: k}, opts)
	return b
}

// event is one stream event of Ask.
type event struct {
	Name string
	Data any
}

func (b *testBundle) ask(t *testing.T, accountID, userID, convID, q string) ([]event, *support.Message, error) {
	t.Helper()
	var evs []event
	m, err := b.svc.Ask(context.Background(), accountID, userID, convID, support.AskInput{Question: q}, func(name string, data any) error {
		evs = append(evs, event{name, data})
		return nil
	})
	return evs, m, err
}

func (b *testBundle) start(t *testing.T, accountID, userID string) *support.Conversation {
	t.Helper()
	c, err := b.svc.Start(context.Background(), accountID, userID, support.StartInput{})
	if err != nil {
		t.Fatal(err)
	}
	return c
}
