package notify_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/uptrace/bun"

	"github.com/ezscale/platform/core/accounts/accountstest"
	"github.com/ezscale/platform/core/database"
	"github.com/ezscale/platform/core/database/databasetest"
	"github.com/ezscale/platform/core/jobs"
	"github.com/ezscale/platform/core/notify"
	"github.com/ezscale/platform/core/outbox"
	"github.com/ezscale/platform/core/pluginhost"
	"github.com/ezscale/platform/sdk"
)

// createUsersBulk makes n verified users, in batches.
func createUsersBulk(tb testing.TB, db *database.DB, n int) {
	tb.Helper()
	emails := make([]string, n)
	for i := range emails {
		emails[i] = fmt.Sprintf("user%d@example.net", i+1)
	}
	if _, err := accountstest.Users(context.Background(), db, emails); err != nil {
		tb.Fatal(err)
	}
}

var announcement = map[string]any{
	"title":   "New region: Frankfurt",
	"message": "VPS and game server plans are now available in Frankfurt, Germany, with the same prices as our other regions.\n\nExisting services can be moved with a snapshot and restore from the control panel.",
}

// BenchmarkAnnounce100k measures Notify of one announcement to 100,000
// users on PostgreSQL: the in-app rows, the outbox entries and their
// delivery jobs, committed (goal: ≤ 10 s).
func BenchmarkAnnounce100k(b *testing.B) {
	const users = 100_000
	db := databasetest.New(b, database.Postgres)
	createUsersBulk(b, db, users)
	bb := setup(b, db, setupOpts{})
	ctx := context.Background()
	for b.Loop() {
		var res *notify.Result
		err := db.Tx(ctx, func(ctx context.Context, tx bun.Tx) error {
			var err error
			res, err = bb.svc.Send(ctx, tx, notify.Event{Type: notify.Announcement, AllUsers: true, Data: announcement, Link: "/news/frankfurt"})
			return err
		})
		if err != nil {
			b.Fatal(err)
		}
		if res.InApp != users || res.Messages[notify.ChannelEmail] != users {
			b.Fatalf("result %+v, want %d in-app and %d emails", res, users, users)
		}
	}
	b.ReportMetric(float64(users)*float64(b.N)/b.Elapsed().Seconds(), "recipients/s")
}

var (
	emailPluginOnce sync.Once
	emailPluginPath string
	emailPluginErr  error
)

// emailPlugin builds the real email plugin once per test binary.
func emailPlugin(tb testing.TB) string {
	tb.Helper()
	emailPluginOnce.Do(func() {
		dir, err := os.MkdirTemp("", "notify-bench-")
		if err != nil {
			emailPluginErr = err
			return
		}
		emailPluginPath = filepath.Join(dir, "ezscale-plugin-email")
		cmd := exec.Command("go", "build", "-o", emailPluginPath, "github.com/ezscale/platform/plugins/email")
		out, err := cmd.CombinedOutput()
		if err != nil {
			emailPluginErr = fmt.Errorf("building the email plugin: %v\n%s", err, out)
		}
	})
	if emailPluginErr != nil {
		tb.Fatal(emailPluginErr)
	}
	return emailPluginPath
}

// BenchmarkEmailThroughput measures delivery of queued email through the
// outbox's jobs and the real email plugin process (over go-plugin gRPC)
// to a local SMTP server: one op is one batch of 2,000 messages, sent by
// the job engine with the default worker settings.
func BenchmarkEmailThroughput(b *testing.B) {
	for _, d := range []database.Dialect{database.Postgres, database.SQLite} {
		b.Run(string(d), func(b *testing.B) { benchEmail(b, d) })
	}
}

func benchEmail(b *testing.B, d database.Dialect) {
	const batch = 2000
	db := databasetest.New(b, d)
	createUsersBulk(b, db, batch)
	sink := startSMTP(b)
	host, err := pluginhost.New(pluginhost.Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(host.Stop)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := host.Start(ctx, []pluginhost.Spec{{Name: "email", Path: emailPlugin(b), Config: map[string]any{
		"host": sink.host, "port": sink.port, "tls_policy": "none", "from": "Example Hosting <billing@example.com>",
	}}}); err != nil {
		b.Fatal(err)
	}

	reg := jobs.NewRegistry(time.Hour)
	svc, err := notify.New(db, reg, notify.Options{PublicURL: "https://billing.example.com", Senders: map[string]outbox.Sender{
		"email": &notify.NotifierSender{Lookup: func() (sdk.Notifier, error) { return host.Notifier("email") }},
	}})
	if err != nil {
		b.Fatal(err)
	}
	// The shipped defaults (config.Default): 100 workers, 20 ms fetch
	// cooldown, 250 ms poll.
	engine, err := jobs.New(db, reg, jobs.Options{Workers: 100, FetchCooldown: 20 * time.Millisecond, FetchPollInterval: 250 * time.Millisecond, RescueAfter: time.Hour, DefaultTimeout: 5 * time.Minute})
	if err != nil {
		b.Fatal(err)
	}
	if err := engine.Start(context.Background()); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_ = engine.Stop(ctx)
	})

	var sent int64
	for b.Loop() {
		err := db.Tx(context.Background(), func(ctx context.Context, tx bun.Tx) error {
			return svc.Notify(ctx, tx, notify.Event{Type: notify.Announcement, AllUsers: true, Data: announcement})
		})
		if err != nil {
			b.Fatal(err)
		}
		sent += batch
		deadline := time.Now().Add(5 * time.Minute)
		for sink.received.Load() < sent {
			if time.Now().After(deadline) {
				b.Fatalf("%d of %d messages received", sink.received.Load(), sent)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	b.ReportMetric(float64(sent)/b.Elapsed().Seconds(), "msgs/s")
}
