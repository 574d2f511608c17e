package databasetest

import (
	"context"
	"database/sql"
	"errors"
	"slices"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/ezscale/platform/core/database"
)

// testCopy is a database made straight from the template (never a
// recycled one) for a test of recycling itself.
type testCopy struct {
	db                   *sql.DB // open on it
	admin                *sql.DB
	base, template, name string
	state                *templateState
}

// freshCopy creates a testCopy, dropped when the test ends (if recycling
// has not already dropped it).
func freshCopy(t *testing.T) testCopy {
	t.Helper()
	c := testCopy{base: RequirePostgres(t)}
	var err error
	if c.admin, err = adminDB(c.base); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if c.template, err = templateOf(ctx, c.admin, c.base); err != nil {
		t.Fatal(err)
	}
	c.name = testDatabaseName()
	if err := createDatabase(ctx, c.admin, c.name, " TEMPLATE "+c.template); err != nil {
		t.Fatal(err)
	}
	if c.db, err = openOne(c.base, c.name); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = c.db.Close()
		if err := dropDatabase(context.Background(), c.admin, c.name); err != nil {
			t.Errorf("dropping the copy: %v", err)
		}
	})
	if c.state, err = stateOf(ctx, c.base, c.template); err != nil {
		t.Fatal(err)
	}
	return c
}

func exec(t *testing.T, db *sql.DB, stmts ...string) {
	t.Helper()
	for _, s := range stmts {
		if _, err := db.Exec(s); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	}
}

// contents is every table's rows and every sequence's next value.
func contents(t *testing.T, db *sql.DB, state *templateState) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, table := range state.tables {
		var rows string
		if err := db.QueryRow("SELECT coalesce(json_agg(r ORDER BY r::text), '[]')::text FROM " + table + " r").Scan(&rows); err != nil {
			t.Fatal(err)
		}
		out[table] = rows
	}
	for _, s := range state.sequences {
		var next string
		if err := db.QueryRow("SELECT nextval($1::regclass)::text", s.name).Scan(&next); err != nil {
			t.Fatal(err)
		}
		out["sequence "+s.name] = next
	}
	return out
}

func TestPostgresResetDatabaseMatchesAFreshCopy(t *testing.T) {
	fresh, dirty := freshCopy(t), freshCopy(t)
	state := fresh.state
	exec(t, dirty.db,
		// an append-only table, which refuses DELETE by its trigger
		`INSERT INTO audit_events (seq, id, occurred_at, actor_type, action, result, prev_hash, hash)
		 VALUES (1, 'evt_1', now(), 'system', 'test.write', 'success', '', 'h1')`,
		// rows the migrations seeded: changed, deleted, a table emptied
		`DELETE FROM audit_chain_head`,
		`UPDATE billing_counters SET value = value + 41`,
		`DELETE FROM high_risk_policies WHERE id = (SELECT min(id) FROM high_risk_policies)`,
		`SELECT nextval('river_job_id_seq'), nextval('river_job_id_seq'), nextval('notifications_seq_seq')`,
	)
	if err := resetDatabase(context.Background(), dirty.db, state); err != nil {
		t.Fatalf("reset: %v", err)
	}
	want, got := contents(t, fresh.db, state), contents(t, dirty.db, state)
	if len(want) == 0 {
		t.Fatal("the template has no table")
	}
	for k, w := range want {
		if got[k] != w {
			t.Errorf("%s after the reset:\n got %s\nwant %s", k, got[k], w)
		}
	}
	// The triggers are back on: the append-only table refuses DELETE.
	exec(t, dirty.db, `INSERT INTO audit_events (seq, id, occurred_at, actor_type, action, result, prev_hash, hash)
		VALUES (1, 'evt_1', now(), 'system', 'test.write', 'success', '', 'h1')`)
	if _, err := dirty.db.Exec("DELETE FROM audit_events"); err == nil {
		t.Error("audit_events accepted DELETE after the reset: its trigger is still off")
	}
}

func TestPostgresResetRefusesAChangedSchema(t *testing.T) {
	c := freshCopy(t)
	exec(t, c.db, "ALTER TABLE billing_counters ADD COLUMN note text")
	if err := resetDatabase(context.Background(), c.db, c.state); err == nil {
		t.Fatal("a database whose schema the test changed was reset for reuse")
	}
}

// TestPostgresRecycleDropsWhatItCannotReset: a database recycling refuses
// is dropped under the name it has by then (it was renamed first), not
// left behind. The database keeps its object id through the rename.
func TestPostgresRecycleDropsWhatItCannotReset(t *testing.T) {
	c := freshCopy(t)
	exec(t, c.db, "ALTER TABLE billing_counters ADD COLUMN note text")
	var oid int64
	if err := c.db.QueryRow("SELECT oid FROM pg_database WHERE datname = current_database()").Scan(&oid); err != nil {
		t.Fatal(err)
	}
	_ = c.db.Close()
	ctx := context.Background()
	if err := recycle(ctx, c.admin, c.base, c.name, c.template); err == nil {
		t.Fatal("a database whose schema the test changed was recycled")
	}
	var left string
	err := c.admin.QueryRow("SELECT datname FROM pg_database WHERE oid = $1", oid).Scan(&left)
	if !errors.Is(err, sql.ErrNoRows) {
		t.Errorf("the refused database is still there (as %q, %v)", left, err)
		_ = dropDatabase(ctx, c.admin, left)
	}
}

func TestPostgresFinishedTestsDatabaseIsOutOfReach(t *testing.T) {
	RequirePostgres(t)
	var u string
	var leaked *sql.DB
	t.Run("test", func(t *testing.T) {
		u = URL(t, database.Postgres)
		var err error
		if leaked, err = sql.Open("pgx", u); err != nil {
			t.Fatal(err)
		}
		if err := leaked.Ping(); err != nil {
			t.Fatal(err)
		}
	})
	defer leaked.Close()
	// The leaked pool's connection was ended, and its database's name is
	// gone: whatever the next test writes there, this pool cannot reach.
	err := leaked.Ping()
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) || pgErr.Code != "3D000" { // invalid_catalog_name
		t.Fatalf("reaching a finished test's database: %v, want database does not exist", err)
	}
}

func TestChildrenFirst(t *testing.T) {
	got, err := childrenFirst([]string{"accounts", "invoices", "lines", "plans"},
		[][2]string{{"lines", "invoices"}, {"invoices", "accounts"}, {"lines", "plans"}})
	if err != nil {
		t.Fatal(err)
	}
	before := func(a, b string) bool { return slices.Index(got, a) < slices.Index(got, b) }
	if len(got) != 4 || !before("lines", "invoices") || !before("invoices", "accounts") || !before("lines", "plans") {
		t.Errorf("order %v: a table must come before every table it references", got)
	}
	if _, err := childrenFirst([]string{"a", "b"}, [][2]string{{"a", "b"}, {"b", "a"}}); err == nil {
		t.Error("a cycle was ordered")
	}
}
