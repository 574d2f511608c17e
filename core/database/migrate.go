package database

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"database/sql/driver"
	"encoding/hex"
	"fmt"
	"io/fs"
	"log/slog"
	"path"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river/riverdriver"
	"github.com/riverqueue/river/riverdriver/riverdatabasesql"
	"github.com/riverqueue/river/riverdriver/riversqlite"
	"github.com/riverqueue/river/rivermigrate"

	"github.com/ezscale/platform/migrations"
)

// Migration is one embedded schema file.
type Migration struct {
	Version  int
	Name     string
	SQL      string
	Checksum string
}

// ForeignKeysOff, as a SQLite migration's first line, runs that migration
// with foreign keys off. It is for SQLite's table rebuild (create the new
// table, copy the rows, drop the old table, rename the new one), the only
// way SQLite drops or changes a column that a foreign key or an index uses.
// With foreign keys on, dropping the old table would first delete its rows,
// and with them every row that references them (ON DELETE CASCADE), or fail.
//
// SQLite ignores the pragma inside a transaction, so the runner turns foreign
// keys off on the connection before the migration's transaction begins and on
// again after it. Before committing it runs PRAGMA foreign_key_check: a
// rebuild that leaves a row whose parent is gone is rolled back. PostgreSQL
// alters a table in place, so its migrations may not carry the line.
const ForeignKeysOff = "-- ezscale:foreign-keys-off"

// foreignKeysOff reports whether m's first line is ForeignKeysOff.
func (m Migration) foreignKeysOff() bool {
	first, _, _ := strings.Cut(m.SQL, "\n")
	return strings.TrimSpace(first) == ForeignKeysOff
}

// check refuses what a migration of dialect d may not do.
func (m Migration) check(d Dialect) error {
	if d != SQLite && m.foreignKeysOff() {
		return fmt.Errorf("database: migration %s/%04d_%s: %q is for SQLite's table rebuilds; %s alters tables in place", d, m.Version, m.Name, ForeignKeysOff, d)
	}
	return nil
}

// Migrations lists the embedded migrations of a dialect in version order.
func Migrations(d Dialect) ([]Migration, error) {
	dir := string(d)
	entries, err := fs.ReadDir(migrations.FS, dir)
	if err != nil {
		return nil, fmt.Errorf("database: reading migrations: %w", err)
	}
	var out []Migration
	seen := map[int]string{}
	for _, e := range entries {
		if e.IsDir() || !strings.HasSuffix(e.Name(), ".sql") {
			continue
		}
		num, name, ok := strings.Cut(strings.TrimSuffix(e.Name(), ".sql"), "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || v <= 0 {
			return nil, fmt.Errorf("database: migration %s/%s: name must be NNNN_name.sql", dir, e.Name())
		}
		if prev, dup := seen[v]; dup {
			return nil, fmt.Errorf("database: migrations %s and %s share version %d", prev, e.Name(), v)
		}
		seen[v] = e.Name()
		body, err := fs.ReadFile(migrations.FS, path.Join(dir, e.Name()))
		if err != nil {
			return nil, fmt.Errorf("database: reading migration %s: %w", e.Name(), err)
		}
		m := newMigration(v, name, string(body))
		if err := m.check(d); err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Version < out[j].Version })
	return out, nil
}

func newMigration(version int, name, sql string) Migration {
	sum := sha256.Sum256([]byte(sql))
	return Migration{Version: version, Name: name, SQL: sql, Checksum: hex.EncodeToString(sum[:])}
}

// migrationLockKey is the PostgreSQL advisory lock that serialises migrating
// replicas: the first migrates, the others wait and then find nothing to do.
const migrationLockKey = 0x657a_7363 // "ezsc"

// Migrate applies River's migrations and then ours, each file in its own
// transaction. It is safe to run from several replicas at once.
func (db *DB) Migrate(ctx context.Context, logger *slog.Logger) ([]Migration, error) {
	ms, err := Migrations(db.Dialect)
	if err != nil {
		return nil, err
	}
	return db.migrate(ctx, logger, ms)
}

// migrate applies River's migrations and then those of ms not applied
// yet, in order.
func (db *DB) migrate(ctx context.Context, logger *slog.Logger, ms []Migration) ([]Migration, error) {
	if db.Dialect == SQLite {
		// SQLite has one write connection: River must finish with it before
		// we hold it for our own files. A single writer needs no lock.
		if err := db.migrateRiver(ctx, logger); err != nil {
			return nil, err
		}
	}
	conn, err := db.DB.DB.Conn(ctx)
	if err != nil {
		return nil, fmt.Errorf("database: migrate: %w", err)
	}
	defer conn.Close()

	if db.Dialect == Postgres {
		if _, err := conn.ExecContext(ctx, "SELECT pg_advisory_lock($1)", migrationLockKey); err != nil {
			return nil, fmt.Errorf("database: migrate: taking the migration lock: %w", err)
		}
		defer func() {
			// A fresh context: the lock must be released even when ctx ended.
			unlockCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			_, _ = conn.ExecContext(unlockCtx, "SELECT pg_advisory_unlock($1)", migrationLockKey)
		}()
	}

	if db.Dialect == Postgres {
		if err := db.migrateRiver(ctx, logger); err != nil {
			return nil, err
		}
	}

	create := `CREATE TABLE IF NOT EXISTS schema_migrations (
		version integer PRIMARY KEY, name text NOT NULL, checksum text NOT NULL, applied_at text NOT NULL)`
	if _, err := conn.ExecContext(ctx, create); err != nil {
		return nil, fmt.Errorf("database: migrate: creating schema_migrations: %w", err)
	}
	applied := map[int]string{}
	rows, err := conn.QueryContext(ctx, "SELECT version, checksum FROM schema_migrations")
	if err != nil {
		return nil, fmt.Errorf("database: migrate: reading schema_migrations: %w", err)
	}
	for rows.Next() {
		var v int
		var sum string
		if err := rows.Scan(&v, &sum); err != nil {
			rows.Close()
			return nil, fmt.Errorf("database: migrate: %w", err)
		}
		applied[v] = sum
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("database: migrate: %w", err)
	}

	var done []Migration
	for _, m := range ms {
		if sum, ok := applied[m.Version]; ok {
			if sum != m.Checksum {
				return nil, fmt.Errorf("database: migration %04d_%s was edited after it was applied (checksum differs); add a new migration instead", m.Version, m.Name)
			}
			continue
		}
		if err := db.apply(ctx, conn, m); err != nil {
			return nil, err
		}
		if logger != nil {
			logger.Info("applied migration", "version", m.Version, "name", m.Name)
		}
		done = append(done, m)
	}
	return done, nil
}

func (db *DB) apply(ctx context.Context, conn *sql.Conn, m Migration) error {
	if err := m.check(db.Dialect); err != nil {
		return err
	}
	if m.foreignKeysOff() {
		if _, err := conn.ExecContext(ctx, "PRAGMA foreign_keys = OFF"); err != nil {
			return fmt.Errorf("database: migration %04d: turning foreign keys off: %w", m.Version, err)
		}
		defer foreignKeysOn(conn)
	}
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("database: migration %04d: %w", m.Version, err)
	}
	defer func() { _ = tx.Rollback() }()
	var args []any
	if db.Dialect == Postgres {
		// A migration file holds several statements, which only the simple
		// protocol accepts in one round trip.
		args = append(args, pgx.QueryExecModeSimpleProtocol)
	}
	if _, err := tx.ExecContext(ctx, m.SQL, args...); err != nil {
		return fmt.Errorf("database: migration %04d_%s: %w", m.Version, m.Name, err)
	}
	if m.foreignKeysOff() {
		if err := foreignKeyViolations(ctx, tx); err != nil {
			return fmt.Errorf("database: migration %04d_%s: %w", m.Version, m.Name, err)
		}
	}
	insert := "INSERT INTO schema_migrations (version, name, checksum, applied_at) VALUES (?, ?, ?, ?)"
	if db.Dialect == Postgres {
		insert = "INSERT INTO schema_migrations (version, name, checksum, applied_at) VALUES ($1, $2, $3, $4)"
	}
	if _, err := tx.ExecContext(ctx, insert, m.Version, m.Name, m.Checksum, time.Now().UTC().Format(time.RFC3339)); err != nil {
		return fmt.Errorf("database: recording migration %04d: %w", m.Version, err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("database: migration %04d: %w", m.Version, err)
	}
	return nil
}

// foreignKeysOn turns a SQLite connection's foreign keys back on after a
// ForeignKeysOff migration, whatever became of it. A fresh context: the
// migration's may have ended. A connection that cannot be turned back is
// discarded rather than returned to the pool, since every write after it
// would go unchecked.
func foreignKeysOn(conn *sql.Conn) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := conn.ExecContext(ctx, "PRAGMA foreign_keys = ON"); err != nil {
		_ = conn.Raw(func(any) error { return driver.ErrBadConn })
	}
}

// foreignKeyViolations runs SQLite's PRAGMA foreign_key_check in tx and
// names the first rows, if any, whose parent is missing.
func foreignKeyViolations(ctx context.Context, tx *sql.Tx) error {
	rows, err := tx.QueryContext(ctx, "PRAGMA foreign_key_check")
	if err != nil {
		return fmt.Errorf("checking foreign keys: %w", err)
	}
	defer rows.Close()
	var found []string
	total := 0
	for rows.Next() {
		var table, parent string
		var rowid sql.NullInt64
		var fk int
		if err := rows.Scan(&table, &rowid, &parent, &fk); err != nil {
			return fmt.Errorf("checking foreign keys: %w", err)
		}
		total++
		if len(found) < 5 {
			found = append(found, fmt.Sprintf("%s row %d (no row in %s)", table, rowid.Int64, parent))
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("checking foreign keys: %w", err)
	}
	if total > 0 {
		return fmt.Errorf("%d rows would reference a missing row, so nothing was changed: %s", total, strings.Join(found, "; "))
	}
	return nil
}

func (db *DB) migrateRiver(ctx context.Context, logger *slog.Logger) error {
	cfg := &rivermigrate.Config{Logger: logger}
	if logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	var err error
	switch db.Dialect {
	case SQLite:
		err = runRiverMigrations(ctx, riversqlite.New(db.DB.DB), cfg)
	case Postgres:
		err = runRiverMigrations(ctx, riverdatabasesql.New(db.DB.DB), cfg)
	}
	if err != nil {
		return fmt.Errorf("database: river migrations: %w", err)
	}
	return nil
}

func runRiverMigrations[TTx any](ctx context.Context, driver riverdriver.Driver[TTx], cfg *rivermigrate.Config) error {
	m, err := rivermigrate.New(driver, cfg)
	if err != nil {
		return err
	}
	_, err = m.Migrate(ctx, rivermigrate.DirectionUp, nil)
	return err
}
