package database_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"syscall"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/ezscale/platform/core/database"
	"github.com/ezscale/platform/core/database/databasetest"
	"github.com/ezscale/platform/core/testkit"
)

// records is a slog handler keeping the messages logged.
type records struct {
	mu   sync.Mutex
	msgs []string
}

func (r *records) Enabled(context.Context, slog.Level) bool { return true }
func (r *records) Handle(_ context.Context, rec slog.Record) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.msgs = append(r.msgs, rec.Message)
	return nil
}
func (r *records) WithAttrs([]slog.Attr) slog.Handler { return r }
func (r *records) WithGroup(string) slog.Handler      { return r }
func (r *records) Messages() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.msgs...)
}

// TestIsConnectionError: SQLSTATE classes 08 and 57P, refused and reset
// connections are connection errors; a statement the database refused
// (syntax, a constraint) is not.
func TestIsConnectionError(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		err  error
		want bool
	}{
		{&pgconn.PgError{Code: "08006"}, true},
		{&pgconn.PgError{Code: "57P01"}, true},
		{&pgconn.PgError{Code: "57P03"}, true},
		{fmt.Errorf("loading: %w", &pgconn.PgError{Code: "08001"}), true},
		{&pgconn.PgError{Code: "57014"}, false}, // query_canceled
		{&pgconn.PgError{Code: "23505"}, false},
		{&pgconn.PgError{Code: "42601"}, false},
		{errors.New("no rows"), false},
		{nil, false},
	} {
		if got := database.IsConnectionError(c.err); got != c.want {
			t.Errorf("IsConnectionError(%v) = %v, want %v", c.err, got, c.want)
		}
	}
	databasetest.Each(t, func(t *testing.T, db *database.DB) {
		_, err := db.NewRaw("SELEC 1").Exec(context.Background())
		if err == nil || database.IsConnectionError(err) || db.Unreachable() {
			t.Errorf("a syntax error: %v, connection error %v, unreachable %v; want a refusal, reachable", err, database.IsConnectionError(err), db.Unreachable())
		}
	})
}

// TestOutageIsLoggedOnce: PostgreSQL behind a proxy the test cuts: every
// query during the outage fails with a connection error, the outage is
// one log line however many queries fail, and the first success after
// it is one more.
func TestOutageIsLoggedOnce(t *testing.T) {
	t.Parallel()
	u := databasetest.URL(t, database.Postgres)
	proxy := databasetest.NewProxy(t, u)
	logs := &records{}
	ctx := context.Background()
	db, err := database.Open(ctx, proxy.URL(u), database.Options{MaxOpenConns: 4, Logger: slog.New(logs)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	query := func() error { _, err := db.NewRaw("SELECT 1").Exec(ctx); return err }
	if err := query(); err != nil {
		t.Fatal(err)
	}
	proxy.Cut()
	for i := range 5 {
		err := query()
		if !database.IsConnectionError(err) {
			t.Fatalf("query %d during the outage: %v, want a connection error", i, err)
		}
	}
	if !db.Unreachable() {
		t.Error("not unreachable during the outage")
	}
	if err := proxy.Restore(); err != nil {
		t.Fatal(err)
	}
	if err := query(); err != nil {
		t.Fatalf("after the outage: %v", err)
	}
	if db.Unreachable() {
		t.Error("still unreachable after a query succeeded")
	}
	want := []string{"database unreachable; requests answer 503 until it is back", "database reachable again"}
	if diff := cmp.Diff(want, logs.Messages()); diff != "" {
		t.Errorf("log lines (-want +got)\n%s", diff)
	}
}

// TestOutageEndsOnlyOnAQueryBegunAfterIt: a query sent before an outage
// began can still be answered after it began (the answer was on its way,
// or in the socket's buffer when the connection was reset). That answer
// does not end the outage, which would log it twice; the success of a
// query begun after the outage does.
func TestOutageEndsOnlyOnAQueryBegunAfterIt(t *testing.T) {
	t.Parallel()
	logs := &records{}
	ctx := context.Background()
	db, err := database.Open(ctx, databasetest.URL(t, database.Postgres), database.Options{MaxOpenConns: 4, Logger: slog.New(logs)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })

	// The early query waits on an advisory lock this connection holds, so
	// it is sent before the outage begins and answered only after. The
	// connection is database/sql's own, beneath bun's query hooks, so its
	// statements are no evidence to the outage either way.
	holder, err := db.DB.DB.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = holder.Close() })
	if _, err := holder.ExecContext(ctx, "SELECT pg_advisory_lock(7)"); err != nil {
		t.Fatal(err)
	}
	early := make(chan error, 1)
	go func() {
		_, err := db.NewRaw("SELECT pg_advisory_lock(7), pg_advisory_unlock(7)").Exec(ctx)
		early <- err
	}()
	testkit.WaitFor(t, "the early query to wait on the lock", func() bool {
		var waiting int
		err := holder.QueryRowContext(ctx, `SELECT count(*) FROM pg_stat_activity
			WHERE datname = current_database() AND wait_event_type = 'Lock' AND query LIKE 'SELECT pg_advisory_lock(7)%'`).Scan(&waiting)
		return err == nil && waiting == 1
	})

	db.NoteError(fmt.Errorf("reading from the database: %w", syscall.ECONNRESET))
	if _, err := holder.ExecContext(ctx, "SELECT pg_advisory_unlock(7)"); err != nil {
		t.Fatal(err)
	}
	if err := <-early; err != nil {
		t.Fatalf("the early query: %v", err)
	}
	if !db.Unreachable() {
		t.Error("the answer to a query sent before the outage ended it")
	}

	if _, err := db.NewRaw("SELECT 1").Exec(ctx); err != nil {
		t.Fatal(err)
	}
	if db.Unreachable() {
		t.Error("still unreachable after a query begun during the outage succeeded")
	}
	want := []string{"database unreachable; requests answer 503 until it is back", "database reachable again"}
	if diff := cmp.Diff(want, logs.Messages()); diff != "" {
		t.Errorf("log lines (-want +got)\n%s", diff)
	}
}
