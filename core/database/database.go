// Package database opens the platform's storage (SQLite or PostgreSQL through
// bun) and applies the embedded migrations, River's included.
//
// SQLite has one writer, and River's SQLite driver wants a single connection,
// so on SQLite every write goes through one connection that bun and River
// share, while reads that do not need their own writes may use DB.Read, a pool
// of read-only WAL connections. Consequence for every caller: never hold a
// write transaction while waiting on anything else (a plugin call, the
// network, another connection), or every other writer waits too.
package database

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect"
	"github.com/uptrace/bun/dialect/pgdialect"
	"github.com/uptrace/bun/dialect/sqlitedialect"
	_ "modernc.org/sqlite" // registers the pure-Go "sqlite" driver
)

// Dialect names the database engine.
type Dialect string

const (
	SQLite   Dialect = "sqlite"
	Postgres Dialect = "postgres"
)

// DB is an open database.
type DB struct {
	// DB is the write handle. On SQLite it has exactly one connection.
	*bun.DB
	// Read is for queries that may see a slightly older snapshot than the
	// writer's (on PostgreSQL it is the same pool as DB).
	Read *bun.DB
	// Dialect says which engine is behind both handles.
	Dialect Dialect
	// Name is a display form of the location, without credentials.
	Name string

	outage *outage
}

// Options tune the pools.
type Options struct {
	MaxOpenConns int // PostgreSQL pool size
	ReadConns    int // SQLite read-only pool size
	// Logger receives one line when the database becomes unreachable and
	// one when it is back (nil: silent).
	Logger *slog.Logger
}

// Open connects to url: "sqlite:PATH" or "postgres://…". The SQLite file's
// directory is created when missing, so a fresh checkout needs no setup.
func Open(ctx context.Context, rawURL string, opts Options) (*DB, error) {
	if opts.MaxOpenConns <= 0 {
		opts.MaxOpenConns = 20
	}
	if opts.ReadConns <= 0 {
		opts.ReadConns = 4
	}
	var db *DB
	var err error
	switch {
	case strings.HasPrefix(rawURL, "sqlite:"):
		db, err = openSQLite(ctx, strings.TrimPrefix(rawURL, "sqlite:"), opts)
	case strings.HasPrefix(rawURL, "postgres://"), strings.HasPrefix(rawURL, "postgresql://"):
		db, err = openPostgres(ctx, rawURL, opts)
	default:
		return nil, fmt.Errorf("database: unsupported url %q (use sqlite:PATH or postgres://…)", redact(rawURL))
	}
	if err != nil {
		return nil, err
	}
	db.outage = &outage{logger: opts.Logger}
	shared := db.Read == db.DB
	db.DB = db.DB.WithQueryHook(outageHook{db.outage})
	if shared {
		db.Read = db.DB
	} else {
		db.Read = db.Read.WithQueryHook(outageHook{db.outage})
	}
	return db, nil
}

// One bun dialect per kind for the whole process. A dialect holds bun's
// cache of what it learned from each model struct (columns, relations, the
// table name it pluralises with regular expressions), and bun.NewDB with a
// new dialect starts that cache empty. Neither dialect's Init reads the
// connection, and the cache is safe for concurrent use, so every database
// opened in a process — the SQLite writer and reader, and each test's
// database — shares what was learned once.
var (
	sqliteDialect   = sqlitedialect.New()
	postgresDialect = pgdialect.New()
)

func openSQLite(ctx context.Context, path string, opts Options) (*DB, error) {
	if dir := filepath.Dir(path); dir != "" {
		if err := os.MkdirAll(dir, 0o750); err != nil {
			return nil, fmt.Errorf("database: creating %s: %w", dir, err)
		}
	}
	// _txlock=immediate takes the write lock at BEGIN, so a transaction never
	// fails half-way with SQLITE_BUSY on its first write.
	common := "_pragma=busy_timeout(10000)&_pragma=foreign_keys(1)&_time_format=sqlite"
	writeDSN := "file:" + path + "?" + common + "&_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)&_txlock=immediate"
	w, err := sql.Open("sqlite", writeDSN)
	if err != nil {
		return nil, fmt.Errorf("database: opening sqlite %s: %w", path, err)
	}
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxLifetime(0)
	w.SetConnMaxIdleTime(0)
	if err := w.PingContext(ctx); err != nil {
		_ = w.Close()
		return nil, fmt.Errorf("database: opening sqlite %s: %w", path, err)
	}
	r, err := sql.Open("sqlite", "file:"+path+"?mode=ro&"+common+"&_pragma=query_only(1)")
	if err != nil {
		_ = w.Close()
		return nil, fmt.Errorf("database: opening sqlite read pool: %w", err)
	}
	r.SetMaxOpenConns(opts.ReadConns)
	r.SetMaxIdleConns(opts.ReadConns)
	return &DB{
		DB:      bun.NewDB(w, sqliteDialect),
		Read:    bun.NewDB(r, sqliteDialect),
		Dialect: SQLite,
		Name:    "sqlite:" + path,
	}, nil
}

func openPostgres(ctx context.Context, rawURL string, opts Options) (*DB, error) {
	dsn, err := postgresDSN(rawURL)
	if err != nil {
		return nil, err
	}
	cfg, err := stdlibConfig(dsn)
	if err != nil {
		return nil, err
	}
	sqldb := stdlib.OpenDB(*cfg)
	sqldb.SetMaxOpenConns(opts.MaxOpenConns)
	sqldb.SetMaxIdleConns(opts.MaxOpenConns)
	sqldb.SetConnMaxIdleTime(5 * time.Minute)
	if err := sqldb.PingContext(ctx); err != nil {
		_ = sqldb.Close()
		return nil, fmt.Errorf("database: connecting to %s: %w", redact(rawURL), err)
	}
	db := bun.NewDB(sqldb, postgresDialect)
	return &DB{DB: db, Read: db, Dialect: Postgres, Name: redact(rawURL)}, nil
}

// postgresDSN adds default_query_exec_mode=exec unless the URL sets a mode:
// bun sends fully formatted queries, so pgx's default statement cache only
// costs a round trip per new query text.
func postgresDSN(rawURL string) (string, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return "", fmt.Errorf("database: invalid postgres url: %w", errors.Unwrap(err))
	}
	q := u.Query()
	if q.Get("default_query_exec_mode") == "" {
		q.Set("default_query_exec_mode", "exec")
	}
	u.RawQuery = q.Encode()
	return u.String(), nil
}

// IsSQLite reports whether the database is SQLite.
func (db *DB) IsSQLite() bool { return db.Dialect == SQLite }

// Close closes both handles.
func (db *DB) Close() error {
	var errs []error
	if db.Read != db.DB {
		errs = append(errs, db.Read.Close())
	}
	errs = append(errs, db.DB.Close())
	return errors.Join(errs...)
}

// redact removes the password from a URL for logs and errors.
func redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.User == nil {
		return raw
	}
	if _, has := u.User.Password(); has {
		u.User = url.UserPassword(u.User.Username(), "xxxxx")
	}
	return u.String()
}

func stdlibConfig(dsn string) (*pgx.ConnConfig, error) {
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("database: invalid postgres url: %w", err)
	}
	return cfg, nil
}

// ForUpdate locks the rows q selects until the transaction ends. Only
// PostgreSQL needs the row lock: a SQLite write transaction takes the
// database's one write lock at BEGIN (_txlock=immediate), which already
// serialises every writer, and SQLite has no FOR UPDATE clause.
func ForUpdate(q *bun.SelectQuery) *bun.SelectQuery {
	if q.Dialect().Name() == dialect.PG {
		return q.For("UPDATE")
	}
	return q
}
