package notify_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/uptrace/bun"

	"github.com/ezscale/platform/core/accounts/accountstest"
	"github.com/ezscale/platform/core/database"
	"github.com/ezscale/platform/core/jobs"
	"github.com/ezscale/platform/core/jobs/jobstest"
	"github.com/ezscale/platform/core/notify"
	"github.com/ezscale/platform/core/outbox"
)

type testBundle struct {
	db     *database.DB
	svc    *notify.Service
	outbox *outbox.Outbox
	engine *jobs.Engine
	email  *fakeSender
	// discord receives the discord channel when Options.DiscordPlugin is
	// set (the service installs its plugin sender; tests replace it).
	discord *fakeSender
}

type setupOpts struct {
	opts notify.Options
	// start runs the job engine (deliveries happen).
	start bool
}

func setup(t testing.TB, db *database.DB, o setupOpts) *testBundle {
	t.Helper()
	reg := jobs.NewRegistry(time.Hour)
	if o.opts.PublicURL == "" {
		o.opts.PublicURL = "https://billing.example.com"
	}
	b := &testBundle{db: db, email: newFakeSender(), discord: newFakeSender()}
	o.opts.Senders = map[string]outbox.Sender{"email": b.email}
	if o.opts.DiscordPlugin != "" {
		o.opts.Senders["discord"] = b.discord
	}
	o.opts.DeliveryBackoff = func(int) time.Duration { return 10 * time.Millisecond }
	svc, err := notify.New(db, reg, o.opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(svc.Stop)
	engine, err := jobs.New(db, reg, jobstest.Working(20))
	if err != nil {
		t.Fatal(err)
	}
	b.svc, b.outbox, b.engine = svc, svc.Outbox(), engine
	if o.start {
		b.start(t)
	}
	return b
}

// start runs the job engine until the test ends.
func (b *testBundle) start(t testing.TB) {
	t.Helper()
	jobstest.Start(t, b.engine)
}

// pending counts outbox messages not yet sent or failed.
func pending(t testing.TB, db *database.DB) int {
	t.Helper()
	n, err := db.NewSelect().Model((*outbox.Message)(nil)).Where("status = 'pending'").Count(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return int(n)
}

// fakeSender records deliveries and fails the first failures[recipient]
// attempts for a recipient.
type fakeSender struct {
	mu       sync.Mutex
	calls    map[string]int // message id → attempts
	sent     []outbox.Message
	failures map[string]int
	notify   chan struct{}
}

func newFakeSender() *fakeSender {
	return &fakeSender{calls: map[string]int{}, failures: map[string]int{}, notify: make(chan struct{}, 1000)}
}

func (f *fakeSender) failFirst(recipient string, n int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.failures[recipient] = n
}

func (f *fakeSender) Send(_ context.Context, m *outbox.Message) error {
	f.mu.Lock()
	defer func() {
		f.mu.Unlock()
		select {
		case f.notify <- struct{}{}:
		default:
		}
	}()
	f.calls[m.ID]++
	if f.failures[m.Recipient] > 0 {
		f.failures[m.Recipient]--
		return errors.New("fake: temporary failure")
	}
	f.sent = append(f.sent, *m)
	return nil
}

func (f *fakeSender) messages() []outbox.Message {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]outbox.Message(nil), f.sent...)
}

func (f *fakeSender) attempts() map[string]int {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := map[string]int{}
	for k, v := range f.calls {
		out[k] = v
	}
	return out
}

type user struct {
	ID, Email string
}

// createUser makes a verified user in no account, through accounts' kit.
func createUser(t testing.TB, db *database.DB, name string) user {
	t.Helper()
	u := user{Email: name + "@example.com"}
	var err error
	if u.ID, err = accountstest.User(context.Background(), db, u.Email); err != nil {
		t.Fatal(err)
	}
	return u
}

// createAccount makes an account whose members have the given roles.
func createAccount(t testing.TB, db *database.DB, members map[user]string) string {
	t.Helper()
	roles := make(map[string]string, len(members))
	for u, role := range members {
		roles[u.ID] = role
	}
	id, err := accountstest.Team(context.Background(), db, "acme", roles)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// notifyTx runs Notify in its own transaction.
func (b *testBundle) notifyTx(t testing.TB, ev notify.Event) *notify.Result {
	t.Helper()
	var res *notify.Result
	err := b.db.Tx(context.Background(), func(ctx context.Context, tx bun.Tx) error {
		var err error
		res, err = b.svc.Send(ctx, tx, ev)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return res
}

type outboxRow struct {
	UserID    string
	Channel   string
	Recipient string
	Template  string
	Status    string
	LastError string
}

// outboxRows lists messages as comparable rows, sorted.
func outboxRows(t testing.TB, db *database.DB) []outboxRow {
	t.Helper()
	var ms []outbox.Message
	if err := db.NewSelect().Model(&ms).Order("channel", "recipient").Scan(context.Background()); err != nil {
		t.Fatal(err)
	}
	out := make([]outboxRow, len(ms))
	for i, m := range ms {
		uid := ""
		if m.UserID != nil {
			uid = *m.UserID
		}
		out[i] = outboxRow{UserID: uid, Channel: m.Channel, Recipient: m.Recipient, Template: m.Template, Status: m.Status, LastError: m.LastError}
	}
	return out
}

// inAppUsers returns the user ids holding a notification of type t.
func inAppUsers(t testing.TB, db *database.DB, typ notify.Type) map[string]int {
	t.Helper()
	var rows []struct {
		UserID string `bun:"user_id"`
		N      int    `bun:"n"`
	}
	if err := db.NewSelect().TableExpr("notifications AS n").Join("JOIN notification_events AS e ON e.id = n.event_id").
		ColumnExpr("n.user_id, count(*) AS n").Where("e.type = ?", string(typ)).Group("n.user_id").Scan(context.Background(), &rows); err != nil {
		t.Fatal(err)
	}
	out := map[string]int{}
	for _, r := range rows {
		out[r.UserID] = r.N
	}
	return out
}

func setPrefs(t testing.TB, svc *notify.Service, u user, changes ...notify.PreferenceChange) {
	t.Helper()
	if _, err := svc.UpdatePreferences(context.Background(), u.ID, changes); err != nil {
		t.Fatal(fmt.Errorf("setting preferences of %s: %w", u.Email, err))
	}
}
