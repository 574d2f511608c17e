// Package databasetest gives tests a freshly migrated database of each
// dialect: a temporary SQLite file, and a private schema in the PostgreSQL
// database named by EZSCALE_TEST_POSTGRES_URL.
//
// Without that variable the PostgreSQL half is skipped with a message, except
// under CI=true, where it fails: CI must never pass while skipping a database.
package databasetest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/url"
	"os"
	"path/filepath"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // registers "pgx" for the admin connection

	"github.com/ezscale/platform/core/database"
)

// EnvPostgres names the variable holding the test server's URL.
const EnvPostgres = "EZSCALE_TEST_POSTGRES_URL"

// Each runs f once per dialect as a parallel subtest named after it.
func Each(t *testing.T, f func(t *testing.T, db *database.DB)) {
	t.Helper()
	for _, d := range []database.Dialect{database.SQLite, database.Postgres} {
		t.Run(string(d), func(t *testing.T) {
			t.Parallel()
			f(t, New(t, d))
		})
	}
}

// EachURL runs f once per dialect as a parallel subtest named after it, with
// the URL of an empty database (see URL): for tests that start the whole
// application, which migrates on its own, or several instances of it on one
// database.
func EachURL(t *testing.T, f func(t *testing.T, d database.Dialect, url string)) {
	t.Helper()
	for _, d := range []database.Dialect{database.SQLite, database.Postgres} {
		t.Run(string(d), func(t *testing.T) {
			t.Parallel()
			f(t, d, URL(t, d))
		})
	}
}

// New returns a migrated database of dialect d, removed when the test ends.
func New(t testing.TB, d database.Dialect) *database.DB {
	t.Helper()
	u := URL(t, d)
	ctx := context.Background()
	db, err := database.Open(ctx, u, database.Options{MaxOpenConns: 20})
	if err != nil {
		t.Fatalf("opening test database: %v", err)
	}
	t.Cleanup(func() { _ = db.Close() })
	if _, err := db.Migrate(ctx, nil); err != nil {
		t.Fatalf("migrating test database: %v", err)
	}
	return db
}

// URL returns the URL of an empty, unmigrated database of dialect d, dropped
// when the test ends; end-to-end tests hand it to an `ezscale` process.
func URL(t testing.TB, d database.Dialect) string {
	t.Helper()
	switch d {
	case database.SQLite:
		return "sqlite:" + filepath.Join(t.TempDir(), "ezscale.db")
	case database.Postgres:
		return postgresSchema(t)
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

func postgresSchema(t testing.TB) string {
	t.Helper()
	base := RequirePostgres(t)
	var b [6]byte
	_, _ = rand.Read(b[:])
	schema := "t_" + hex.EncodeToString(b[:])

	admin, err := sql.Open("pgx", base)
	if err != nil {
		t.Fatalf("postgres: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := admin.ExecContext(ctx, "CREATE SCHEMA "+schema); err != nil {
		_ = admin.Close()
		t.Fatalf("postgres: creating schema (is %s reachable?): %v", EnvPostgres, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_, _ = admin.ExecContext(ctx, "DROP SCHEMA "+schema+" CASCADE")
		_ = admin.Close()
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("postgres: %s: %v", EnvPostgres, err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}
