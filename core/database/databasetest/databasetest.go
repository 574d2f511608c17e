// Package databasetest gives tests a migrated database of each dialect,
// cheaply: the migrations run once per migration set, and each test gets a
// copy of the result.
//
//   - PostgreSQL: a template database named after a digest of the embedded
//     migrations (ours and River's) is built once, under an advisory lock,
//     in the server named by EZSCALE_TEST_POSTGRES_URL, and kept for later
//     runs; each test gets `CREATE DATABASE … TEMPLATE` of it, or a
//     finished test's copy emptied back to the template's state (pool.go).
//     The role needs CREATEDB (.ci/run grants it).
//   - SQLite: a file migrated once under the same digest in the system's
//     temporary directory (WAL checkpointed into it), copied into each
//     test's temporary directory.
//
// Without EZSCALE_TEST_POSTGRES_URL the PostgreSQL half is skipped with a
// message, except under CI=true, where it fails: CI must never pass while
// skipping a database.
package databasetest

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	_ "github.com/jackc/pgx/v5/stdlib" // registers "pgx" for the admin connection
	"github.com/riverqueue/river/riverdriver/riverdatabasesql"
	"github.com/riverqueue/river/riverdriver/riversqlite"
	"github.com/riverqueue/river/rivermigrate"

	"github.com/ezscale/platform/core/database"
)

// EnvPostgres names the variable holding the test server's URL.
const EnvPostgres = "EZSCALE_TEST_POSTGRES_URL"

// EachDialect runs f once per dialect as a parallel subtest named after it.
func EachDialect(t *testing.T, f func(t *testing.T, d database.Dialect)) {
	t.Helper()
	for _, d := range []database.Dialect{database.SQLite, database.Postgres} {
		t.Run(string(d), func(t *testing.T) {
			t.Parallel()
			f(t, d)
		})
	}
}

// Each runs f once per dialect as a parallel subtest named after it, with
// a migrated database of the subtest's own.
func Each(t *testing.T, f func(t *testing.T, db *database.DB)) {
	t.Helper()
	EachDialect(t, func(t *testing.T, d database.Dialect) { f(t, New(t, d)) })
}

// EachURL runs f once per dialect as a parallel subtest named after it, with
// the URL of a migrated database (see URL): for tests that start the whole
// application, whose own migration then finds nothing to do, or several
// instances of it on one database.
func EachURL(t *testing.T, f func(t *testing.T, d database.Dialect, url string)) {
	t.Helper()
	EachDialect(t, func(t *testing.T, d database.Dialect) { f(t, d, URL(t, d)) })
}

// New returns an open, migrated database of dialect d, closed and removed
// when the test ends.
func New(t testing.TB, d database.Dialect) *database.DB {
	t.Helper()
	db, err := database.Open(context.Background(), URL(t, d), database.Options{MaxOpenConns: 20})
	if err != nil {
		t.Fatalf("opening test database: %v", err)
	}
	t.Cleanup(func() { _ = db.Close() })
	return db
}

// URL returns the URL of a migrated database of dialect d of the test's
// own, removed when the test ends; end-to-end tests hand it to an
// `ezscale` process.
func URL(t testing.TB, d database.Dialect) string {
	t.Helper()
	switch d {
	case database.SQLite:
		src, err := sqliteTemplate()
		if err != nil {
			t.Fatalf("sqlite: migrating the template file: %v", err)
		}
		dst := filepath.Join(t.TempDir(), "ezscale.db")
		if err := copyFile(src, dst); err != nil {
			t.Fatalf("sqlite: copying the template file: %v", err)
		}
		return "sqlite:" + dst
	case database.Postgres:
		return postgresDatabase(t, true)
	}
	t.Fatalf("unknown dialect %q", d)
	return ""
}

// EmptyURL is URL for a database without any table, for the tests of
// migrating itself.
func EmptyURL(t testing.TB, d database.Dialect) string {
	t.Helper()
	switch d {
	case database.SQLite:
		return "sqlite:" + filepath.Join(t.TempDir(), "ezscale.db")
	case database.Postgres:
		return postgresDatabase(t, false)
	}
	t.Fatalf("unknown dialect %q", d)
	return ""
}

// RequirePostgres returns the server URL or skips (fails under CI=true).
func RequirePostgres(t testing.TB) string {
	t.Helper()
	base := os.Getenv(EnvPostgres)
	if base == "" {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s is not set: CI must run the PostgreSQL suite (.ci/run starts PostgreSQL and sets it)", EnvPostgres)
		}
		t.Skipf("PostgreSQL suite skipped: set %s (see README, \"PostgreSQL\") to run it", EnvPostgres)
	}
	return base
}

// Digest names a dialect's migration set: a hash of River's migrations and
// ours, as embedded in this binary. Templates are keyed by it, so a branch
// with other migrations never uses another branch's template.
func Digest(d database.Dialect) (string, error) {
	h := sha256.New()
	var rm []rivermigrate.Migration
	switch d {
	case database.SQLite:
		m, err := rivermigrate.New(riversqlite.New(nil), nil)
		if err != nil {
			return "", err
		}
		rm = m.AllVersions()
	case database.Postgres:
		m, err := rivermigrate.New(riverdatabasesql.New(nil), nil)
		if err != nil {
			return "", err
		}
		rm = m.AllVersions()
	default:
		return "", fmt.Errorf("unknown dialect %q", d)
	}
	for _, m := range rm {
		fmt.Fprintf(h, "river %d %d\n%s\n", m.Version, len(m.SQLUp), m.SQLUp)
	}
	ours, err := database.Migrations(d)
	if err != nil {
		return "", err
	}
	for _, m := range ours {
		fmt.Fprintf(h, "ezscale %d %s\n", m.Version, m.Checksum)
	}
	return hex.EncodeToString(h.Sum(nil))[:16], nil
}

// sqliteTemplate returns the path of the migrated SQLite file of this
// migration set, building it on first use. Builders in several test
// binaries at once each write their own file and rename it into place:
// readers only ever see a complete one.
var sqliteTemplate = sync.OnceValues(func() (string, error) {
	digest, err := Digest(database.SQLite)
	if err != nil {
		return "", err
	}
	path := filepath.Join(os.TempDir(), "ezscale-test-sqlite-"+digest+".db")
	if _, err := os.Stat(path); err == nil {
		return path, nil
	}
	dir, err := os.MkdirTemp("", "ezscale-test-sqlite-build-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(dir)
	built := filepath.Join(dir, "ezscale.db")
	ctx := context.Background()
	db, err := database.Open(ctx, "sqlite:"+built, database.Options{})
	if err != nil {
		return "", err
	}
	if _, err := db.Migrate(ctx, nil); err != nil {
		_ = db.Close()
		return "", err
	}
	// Everything into the main file: the copy is that file alone.
	if _, err := db.ExecContext(ctx, "PRAGMA wal_checkpoint(TRUNCATE)"); err != nil {
		_ = db.Close()
		return "", err
	}
	if err := db.Close(); err != nil {
		return "", err
	}
	if err := os.Rename(built, path); err != nil {
		return "", err
	}
	return path, nil
})

func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		_ = out.Close()
		return err
	}
	return out.Close()
}

// admin is the connection pool to the server's own test database, through
// which the test databases are created and dropped; one per test binary.
var (
	adminOnce sync.Once
	admin     *sql.DB
	adminErr  error
)

func adminDB(base string) (*sql.DB, error) {
	adminOnce.Do(func() {
		admin, adminErr = sql.Open("pgx", base)
		if adminErr == nil {
			admin.SetMaxOpenConns(8)
			admin.SetMaxIdleConns(2)
		}
	})
	return admin, adminErr
}

// postgresTemplates holds the built template's name per base URL (one in
// practice).
var postgresTemplates onceByKey[string]

// postgresDatabase gives the test a database of its own (a copy of the
// template when migrated, else empty) and returns its URL. A migrated one
// is a recycled database when one is free (pool.go), and is recycled when
// the test ends; an empty one is dropped.
func postgresDatabase(t testing.TB, migrated bool) string {
	t.Helper()
	base := RequirePostgres(t)
	db, err := adminDB(base)
	if err != nil {
		t.Fatalf("postgres: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	name, template := "", ""
	if migrated {
		if template, err = templateOf(ctx, db, base); err != nil {
			t.Fatalf("postgres: building the template database (is %s reachable, with CREATEDB?): %v", EnvPostgres, err)
		}
		// Without the pool (a server database the role cannot create a
		// table in), every test gets a new copy, dropped when it ends.
		if name, err = takePooled(ctx, db, template); err != nil {
			t.Logf("postgres: no recycled test database (%v); copying the template", err)
		}
	}
	if name == "" {
		name = testDatabaseName()
		stmt := ""
		if template != "" {
			stmt = " TEMPLATE " + template
		}
		if err := createDatabase(ctx, db, name, stmt); err != nil {
			t.Fatalf("postgres: creating the test database (is %s reachable, with CREATEDB?): %v", EnvPostgres, err)
		}
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), recycleTimeout)
		defer cancel()
		if template == "" {
			if err := dropDatabase(ctx, db, name); err != nil {
				t.Logf("postgres: dropping the test database: %v", err)
			}
			return
		}
		if err := recycle(ctx, db, base, name, template); err != nil {
			t.Logf("postgres: the test database was dropped, not recycled: %v", err)
		}
	})
	u, err := databaseURL(base, name)
	if err != nil {
		t.Fatalf("postgres: %s: %v", EnvPostgres, err)
	}
	return u
}

// templateOf returns the name of the template database, built once per
// test binary (ensureTemplate).
func templateOf(ctx context.Context, admin *sql.DB, base string) (string, error) {
	return postgresTemplates.do(base, func() (string, error) { return ensureTemplate(ctx, admin, base) })
}

// createDatabase runs CREATE DATABASE, again while the template is being
// accessed (autovacuum, or the builder's last connection closing):
// PostgreSQL refuses to copy a database someone is connected to.
func createDatabase(ctx context.Context, db *sql.DB, name, template string) error {
	return execWhileInUse(ctx, db, "CREATE DATABASE "+name+template)
}

// execWhileInUse runs stmt, again after a growing pause while PostgreSQL
// answers that a database it names is being accessed.
func execWhileInUse(ctx context.Context, db interface {
	ExecContext(context.Context, string, ...any) (sql.Result, error)
}, stmt string) error {
	for delay := 10 * time.Millisecond; ; delay = min(2*delay, 500*time.Millisecond) {
		_, err := db.ExecContext(ctx, stmt)
		if !objectInUse(err) {
			return err
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%w (last: %v)", ctx.Err(), err)
		case <-time.After(delay):
		}
	}
}

// objectInUse reports PostgreSQL's object_in_use: a database the statement
// names has sessions, or is being copied.
func objectInUse(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && pgErr.Code == "55006"
}

// ensureTemplate returns the name of the template database of this
// migration set, building it when missing. The build holds an advisory
// lock, so test binaries starting together build it once; it is built
// under another name and renamed when complete, so a template that exists
// is always whole.
func ensureTemplate(ctx context.Context, db *sql.DB, base string) (string, error) {
	digest, err := Digest(database.Postgres)
	if err != nil {
		return "", err
	}
	name := "ezscale_tmpl_" + digest
	exists := func(c *sql.Conn) (bool, error) {
		var n int
		err := c.QueryRowContext(ctx, "SELECT count(*) FROM pg_database WHERE datname = $1", name).Scan(&n)
		return n > 0, err
	}
	conn, err := db.Conn(ctx)
	if err != nil {
		return "", err
	}
	defer conn.Close()
	if ok, err := exists(conn); err != nil || ok {
		return name, err
	}
	sum := sha256.Sum256([]byte(name))
	key := int64(binary.BigEndian.Uint64(sum[:8]))
	if _, err := conn.ExecContext(ctx, "SELECT pg_advisory_lock($1)", key); err != nil {
		return "", fmt.Errorf("taking the template lock: %w", err)
	}
	defer func() {
		unlock, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_, _ = conn.ExecContext(unlock, "SELECT pg_advisory_unlock($1)", key)
	}()
	if ok, err := exists(conn); err != nil || ok {
		return name, err
	}
	building := "ezscale_build_" + digest
	// A build a killed test binary left half done.
	if err := dropDatabase(ctx, db, building); err != nil {
		return "", err
	}
	if _, err := conn.ExecContext(ctx, "CREATE DATABASE "+building); err != nil {
		return "", err
	}
	u, err := databaseURL(base, building)
	if err != nil {
		return "", err
	}
	mdb, err := database.Open(ctx, u, database.Options{MaxOpenConns: 2})
	if err != nil {
		return "", err
	}
	if _, err := mdb.Migrate(ctx, nil); err != nil {
		_ = mdb.Close()
		return "", fmt.Errorf("migrating: %w", err)
	}
	if err := mdb.Close(); err != nil {
		return "", err
	}
	if err := execWhileInUse(ctx, conn, "ALTER DATABASE "+building+" RENAME TO "+name); err != nil {
		return "", fmt.Errorf("publishing the template: %w", err)
	}
	// A new migration set: the databases recycled for the old one would
	// never be taken again. Failing to drop them costs only disk.
	_ = dropPooledOf(ctx, db, name)
	return name, nil
}

// databaseURL is base pointed at database name.
func databaseURL(base, name string) (string, error) {
	u, err := url.Parse(base)
	if err != nil {
		return "", err
	}
	u.Path = "/" + name
	q := u.Query()
	q.Del("search_path")
	u.RawQuery = q.Encode()
	return u.String(), nil
}
