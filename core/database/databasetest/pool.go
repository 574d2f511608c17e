package databasetest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
)

// The PostgreSQL databases of finished tests are reused. On PostgreSQL 15
// every DROP DATABASE forces a checkpoint, and a copy of the template
// writes its whole 11 MB through the WAL: the pair cost about 170 ms of the
// server's CPU, over 300 times a run (docs/benchmarks.md, "Test suite
// time", "Reusing the test databases"). Emptying the few tables a test
// wrote to costs a fraction of that.
//
// A finished test's database is recycled, in this order:
//
//  1. every connection to it is ended, and it is renamed, so a connection
//     pool the test leaked cannot reach the next test's data;
//  2. its schema is compared with the template's (a digest of the
//     catalog: relations, columns, defaults, constraints, functions,
//     triggers, schemas, extensions, settings), and a database whose
//     schema a test changed is dropped instead;
//  3. the tables holding rows, and those the migrations seeded, are
//     emptied with DELETE (children before parents; TRUNCATE recreates
//     every file and costs more than a copy), with their own triggers off,
//     since the append-only tables refuse DELETE; the seeded rows are put
//     back and every sequence is set back to the template's value;
//  4. its name goes into ezscale_test_databases, in the server's own test
//     database, from which the next test of any test binary takes it.
//
// Anything that fails drops the database instead, as before: recycling
// saves time and never decides a test's outcome. The pool persists across
// runs (it is as large as the most tests that ran at once); databases
// pooled for another migration set are dropped when a template is built.

// poolTable lists the recycled databases ready for a test, by template.
const poolTable = "ezscale_test_databases"

// templateState is what recycling compares a database with and restores:
// read once per test binary from the template database.
type templateState struct {
	schema    string   // the catalog digest
	tables    []string // as regclass prints them, children before parents
	triggered map[string]bool
	seeds     map[string]string // table → its rows as a JSON array
	sequences []sequenceState
	nonEmpty  string // a query naming the tables that hold a row
}

type sequenceState struct {
	name     string // as regclass prints it
	value    int64  // last_value, or start_value when never used
	isCalled bool
}

var (
	poolOnce       sync.Once
	poolErr        error
	templateStates onceByKey[*templateState] // by template name
)

// ensurePool creates the pool's table once per test binary. Binaries
// starting together serialize on a transaction lock, since CREATE TABLE IF
// NOT EXISTS can still collide on the catalog.
func ensurePool(ctx context.Context, admin *sql.DB) error {
	poolOnce.Do(func() {
		tx, err := admin.BeginTx(ctx, nil)
		if err != nil {
			poolErr = err
			return
		}
		defer func() { _ = tx.Rollback() }()
		if _, err := tx.ExecContext(ctx, "SELECT pg_advisory_xact_lock(hashtext('"+poolTable+"'))"); err != nil {
			poolErr = err
			return
		}
		if _, err := tx.ExecContext(ctx, "CREATE TABLE IF NOT EXISTS "+poolTable+
			" (name text PRIMARY KEY, template text NOT NULL)"); err != nil {
			poolErr = err
			return
		}
		poolErr = tx.Commit()
	})
	return poolErr
}

// takePooled returns a recycled database of template, or "" when none is
// free.
func takePooled(ctx context.Context, admin *sql.DB, template string) (string, error) {
	if err := ensurePool(ctx, admin); err != nil {
		return "", err
	}
	var name string
	err := admin.QueryRowContext(ctx, `DELETE FROM `+poolTable+` WHERE name = (
		SELECT name FROM `+poolTable+` WHERE template = $1 LIMIT 1 FOR UPDATE SKIP LOCKED)
		RETURNING name`, template).Scan(&name)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	return name, err
}

// dropPooledOf drops the pooled databases of every template but current
// (another migration set's: they would never be taken again).
func dropPooledOf(ctx context.Context, admin *sql.DB, current string) error {
	if err := ensurePool(ctx, admin); err != nil {
		return err
	}
	names, err := queryStrings(ctx, admin, "DELETE FROM "+poolTable+" WHERE template <> $1 RETURNING name", current)
	if err != nil {
		return err
	}
	for _, n := range names {
		if err := dropDatabase(ctx, admin, n); err != nil {
			return err
		}
	}
	return nil
}

// recycle empties a finished test's database and pools it under a new
// name; on any failure it drops it. It reports why it dropped one.
func recycle(ctx context.Context, admin *sql.DB, base, name, template string) error {
	state, err := stateOf(ctx, base, template)
	if err == nil {
		name, err = recycleAs(ctx, admin, base, name, template, state)
	}
	if err != nil {
		if dropErr := dropDatabase(ctx, admin, name); dropErr != nil {
			err = fmt.Errorf("%w; dropping it: %v", err, dropErr)
		}
	}
	return err
}

// recycleAs returns the database's name when it ends, renamed or not.
func recycleAs(ctx context.Context, admin *sql.DB, base, name, template string, state *templateState) (string, error) {
	fresh := testDatabaseName()
	if err := renameAway(ctx, admin, name, fresh); err != nil {
		return name, err
	}
	name = fresh
	db, err := openOne(base, name)
	if err != nil {
		return name, err
	}
	defer db.Close()
	if err := resetDatabase(ctx, db, state); err != nil {
		return name, fmt.Errorf("%s: %w", name, err)
	}
	if err := db.Close(); err != nil {
		return name, err
	}
	_, err = admin.ExecContext(ctx, "INSERT INTO "+poolTable+" (name, template) VALUES ($1, $2)", name, template)
	return name, err
}

// renameAway ends every connection to the database and renames it; a
// connection opened between the two (a pool the test leaked) is ended
// again.
func renameAway(ctx context.Context, admin *sql.DB, from, to string) error {
	return retryInUse(ctx, admin, from, "ALTER DATABASE "+pgIdent(from)+" RENAME TO "+pgIdent(to))
}

// dropDatabase ends the database's connections and drops it. Not WITH
// (FORCE): that also tries to end an autovacuum worker visiting the
// database, which only a superuser may, and fails; a plain DROP DATABASE
// (and a rename) makes the worker exit and waits for it.
func dropDatabase(ctx context.Context, admin *sql.DB, name string) error {
	return retryInUse(ctx, admin, name, "DROP DATABASE IF EXISTS "+pgIdent(name))
}

// retryInUse ends the clients connected to the database (the role's own
// sessions), then runs stmt, again while the database is still in use.
func retryInUse(ctx context.Context, admin *sql.DB, name, stmt string) error {
	for attempt := 0; ; attempt++ {
		if _, err := admin.ExecContext(ctx, `SELECT pg_terminate_backend(pid, 5000) FROM pg_stat_activity
			WHERE datname = $1 AND pid <> pg_backend_pid() AND backend_type = 'client backend'`, name); err != nil {
			return err
		}
		_, err := admin.ExecContext(ctx, stmt)
		if attempt == 5 || !objectInUse(err) {
			return err
		}
	}
}

// resetDatabase makes db what a fresh copy of the template is, or fails.
func resetDatabase(ctx context.Context, db *sql.DB, state *templateState) error {
	schema, err := schemaDigest(ctx, db)
	if err != nil {
		return err
	}
	if schema != state.schema {
		return errors.New("the test changed the schema")
	}
	nonEmpty, err := queryStrings(ctx, db, state.nonEmpty)
	if err != nil {
		return err
	}
	written := map[string]bool{}
	for _, table := range nonEmpty {
		written[table] = true
	}
	// One script, one round trip: PostgreSQL runs a multi-statement
	// query as one transaction.
	var script strings.Builder
	for _, table := range state.tables {
		// A seeded table is rewritten even when the test emptied it.
		if _, seeded := state.seeds[table]; !written[table] && !seeded {
			continue
		}
		if state.triggered[table] {
			fmt.Fprintf(&script, "ALTER TABLE %s DISABLE TRIGGER USER;\nDELETE FROM %[1]s;\nALTER TABLE %[1]s ENABLE TRIGGER USER;\n", table)
		} else {
			fmt.Fprintf(&script, "DELETE FROM %s;\n", table)
		}
	}
	for i := len(state.tables) - 1; i >= 0; i-- { // parents first
		table := state.tables[i]
		if seed, ok := state.seeds[table]; ok {
			fmt.Fprintf(&script, "INSERT INTO %s OVERRIDING SYSTEM VALUE SELECT * FROM json_populate_recordset(NULL::%[1]s, %s);\n", table, pgLiteral(seed))
		}
	}
	// setval, not ALTER SEQUENCE … RESTART, which gives the sequence a new
	// file: a sequence never used is set back to its start, not yet
	// returned.
	for _, seq := range state.sequences {
		fmt.Fprintf(&script, "SELECT setval(%s, %d, %t);\n", pgLiteral(seq.name), seq.value, seq.isCalled)
	}
	if _, err := db.ExecContext(ctx, script.String()); err != nil {
		return fmt.Errorf("emptying the tables: %w", err)
	}
	return nil
}

// stateOf reads template's state once per test binary. It connects to the
// template itself: a CREATE DATABASE from it meanwhile waits and retries
// (createDatabase).
func stateOf(ctx context.Context, base, template string) (*templateState, error) {
	return templateStates.do(template, func() (*templateState, error) {
		db, err := openOne(base, template)
		if err != nil {
			return nil, err
		}
		defer db.Close()
		return readTemplateState(ctx, db)
	})
}

// onceByKey runs a function once per key for the life of the test binary
// and gives every caller its result.
type onceByKey[T any] struct {
	results sync.Map // key → *onceResult[T]
}

type onceResult[T any] struct {
	once  sync.Once
	value T
	err   error
}

func (o *onceByKey[T]) do(key string, f func() (T, error)) (T, error) {
	v, _ := o.results.LoadOrStore(key, &onceResult[T]{})
	r := v.(*onceResult[T])
	r.once.Do(func() { r.value, r.err = f() })
	return r.value, r.err
}

// openOne opens a pool of one connection to the server's database name.
func openOne(base, name string) (*sql.DB, error) {
	u, err := databaseURL(base, name)
	if err != nil {
		return nil, err
	}
	db, err := sql.Open("pgx", u)
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(1)
	return db, nil
}

func readTemplateState(ctx context.Context, db *sql.DB) (*templateState, error) {
	state := &templateState{triggered: map[string]bool{}, seeds: map[string]string{}}
	var err error
	if state.schema, err = schemaDigest(ctx, db); err != nil {
		return nil, err
	}
	// Names as regclass prints them, which the other catalog queries
	// below print too.
	tables, err := queryStrings(ctx, db, `SELECT c.oid::regclass::text FROM pg_class c
		JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE c.relkind IN ('r', 'p') AND n.nspname NOT IN ('pg_catalog', 'information_schema') ORDER BY 1`)
	if err != nil {
		return nil, err
	}
	edges, err := queryAll(ctx, db, `SELECT conrelid::regclass::text, confrelid::regclass::text
		FROM pg_constraint WHERE contype = 'f' AND conrelid <> confrelid`,
		func(r *sql.Rows) (e [2]string, err error) { err = r.Scan(&e[0], &e[1]); return e, err })
	if err != nil {
		return nil, err
	}
	if state.tables, err = childrenFirst(tables, edges); err != nil {
		return nil, err
	}
	triggered, err := queryStrings(ctx, db, `SELECT DISTINCT tgrelid::regclass::text FROM pg_trigger WHERE NOT tgisinternal`)
	if err != nil {
		return nil, err
	}
	for _, t := range triggered {
		state.triggered[t] = true
	}
	probes := make([]string, len(state.tables))
	for i, t := range state.tables {
		probes[i] = fmt.Sprintf("SELECT %s WHERE EXISTS (SELECT 1 FROM %s)", pgLiteral(t), t)
	}
	state.nonEmpty = strings.Join(probes, " UNION ALL ")
	seeded, err := queryStrings(ctx, db, state.nonEmpty)
	if err != nil {
		return nil, err
	}
	for _, t := range seeded {
		var rows string
		if err := db.QueryRowContext(ctx, "SELECT json_agg(t)::text FROM "+t+" t").Scan(&rows); err != nil {
			return nil, err
		}
		state.seeds[t] = rows
	}
	state.sequences, err = queryAll(ctx, db, `SELECT format('%I.%I', schemaname, sequencename)::regclass::text,
		coalesce(last_value, start_value), last_value IS NOT NULL FROM pg_sequences
		WHERE schemaname NOT IN ('pg_catalog', 'information_schema')`,
		func(r *sql.Rows) (s sequenceState, err error) {
			err = r.Scan(&s.name, &s.value, &s.isCalled)
			return s, err
		})
	if err != nil {
		return nil, err
	}
	return state, nil
}

// childrenFirst orders tables so that every table referencing another by
// a foreign key comes before it; it fails on a cycle.
func childrenFirst(tables []string, edges [][2]string) ([]string, error) {
	parents := map[string][]string{} // child → the tables it references
	children := map[string]int{}     // parent → how many unplaced tables reference it
	for _, e := range edges {
		parents[e[0]] = append(parents[e[0]], e[1])
		children[e[1]]++
	}
	var order, ready []string
	for _, t := range tables {
		if children[t] == 0 {
			ready = append(ready, t)
		}
	}
	for len(ready) > 0 {
		t := ready[0]
		ready = ready[1:]
		order = append(order, t)
		for _, p := range parents[t] {
			if children[p]--; children[p] == 0 {
				ready = append(ready, p)
			}
		}
	}
	if len(order) != len(tables) {
		return nil, errors.New("the foreign keys between the tables form a cycle")
	}
	return order, nil
}

// schemaDigest is a digest of the database's own catalog: what a test
// could change besides rows. Object ids are part of it, and a copy of a
// database keeps them, so a table dropped and created again differs.
func schemaDigest(ctx context.Context, db *sql.DB) (string, error) {
	var digest string
	err := db.QueryRowContext(ctx, `
WITH ns AS (SELECT oid, nspname FROM pg_namespace
            WHERE nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast')
              AND nspname NOT LIKE 'pg_temp_%' AND nspname NOT LIKE 'pg_toast_temp_%'),
     rel AS (SELECT c.oid FROM pg_class c JOIN ns ON ns.oid = c.relnamespace)
SELECT md5(string_agg(x, E'\n' ORDER BY x)) FROM (
  SELECT 'n ' || oid || ' ' || nspname FROM ns
  UNION ALL SELECT 'c ' || c.oid || ' ' || c.relname || ' ' || c.relkind::text || ' ' || c.relpersistence::text
    FROM pg_class c JOIN ns ON ns.oid = c.relnamespace
  UNION ALL SELECT 'a ' || attrelid || ' ' || attnum || ' ' || attname || ' ' || atttypid || ' ' || attnotnull
      || ' ' || attisdropped || ' ' || atthasdef || ' ' || attidentity::text || ' ' || attgenerated::text
    FROM pg_attribute WHERE attrelid IN (SELECT oid FROM rel) AND attnum > 0
  UNION ALL SELECT 'd ' || adrelid || ' ' || adnum || ' ' || pg_get_expr(adbin, adrelid)
    FROM pg_attrdef WHERE adrelid IN (SELECT oid FROM rel)
  UNION ALL SELECT 'k ' || oid || ' ' || conname || ' ' || pg_get_constraintdef(oid)
    FROM pg_constraint WHERE connamespace IN (SELECT oid FROM ns)
  UNION ALL SELECT 'f ' || p.oid || ' ' || proname || ' ' || md5(coalesce(prosrc, ''))
    FROM pg_proc p JOIN ns ON ns.oid = p.pronamespace
  UNION ALL SELECT 't ' || oid || ' ' || tgname || ' ' || tgenabled::text FROM pg_trigger
    WHERE NOT tgisinternal
  UNION ALL SELECT 'y ' || t.oid || ' ' || typname FROM pg_type t JOIN ns ON ns.oid = t.typnamespace
  UNION ALL SELECT 'e ' || oid || ' ' || extname || ' ' || extversion FROM pg_extension
  UNION ALL SELECT 's ' || setrole || ' ' || array_to_string(setconfig, ',') FROM pg_db_role_setting
    WHERE setdatabase = (SELECT oid FROM pg_database WHERE datname = current_database())
) catalog(x)`).Scan(&digest)
	return digest, err
}

// queryAll runs query and scans every row it returns with scan.
func queryAll[T any](ctx context.Context, db *sql.DB, query string, scan func(*sql.Rows) (T, error), args ...any) ([]T, error) {
	rows, err := db.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

// queryStrings is queryAll for a query of one text column.
func queryStrings(ctx context.Context, db *sql.DB, query string, args ...any) ([]string, error) {
	return queryAll(ctx, db, query, func(r *sql.Rows) (s string, err error) { err = r.Scan(&s); return s, err }, args...)
}

// testDatabaseName is a fresh name for a test's database.
func testDatabaseName() string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return "ezscale_t_" + hex.EncodeToString(b[:])
}

// pgIdent quotes a name as an SQL identifier.
func pgIdent(name string) string { return pgx.Identifier{name}.Sanitize() }

// pgLiteral quotes a string as an SQL literal.
func pgLiteral(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

// recycleTimeout bounds what a test's cleanup does with its database:
// recycling it, or dropping it.
const recycleTimeout = 30 * time.Second
