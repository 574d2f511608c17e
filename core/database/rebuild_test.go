package database_test

import (
	"context"
	"strings"
	"testing"

	"github.com/ezscale/platform/core/database"
	"github.com/ezscale/platform/core/database/databasetest"
)

// The schema of the rebuild tests: a plan row referenced by services that
// are deleted with it (ON DELETE CASCADE) and by an order that keeps it
// (no action), and a column, note, that a later migration drops. note has
// an index, so SQLite cannot drop it with ALTER TABLE: the table must be
// rebuilt.
var rebuildBase = database.NewMigration(1, "base", `
CREATE TABLE plans (id TEXT PRIMARY KEY, name TEXT NOT NULL, note TEXT NOT NULL DEFAULT '');
CREATE INDEX plans_note_idx ON plans (note);
CREATE TABLE services (id TEXT PRIMARY KEY, plan_id TEXT NOT NULL REFERENCES plans (id) ON DELETE CASCADE);
CREATE TABLE orders (id TEXT PRIMARY KEY, plan_id TEXT NOT NULL REFERENCES plans (id));
INSERT INTO plans (id, name, note) VALUES ('p1', 'small', 'a'), ('p2', 'large', 'b');
INSERT INTO services (id, plan_id) VALUES ('s1', 'p1'), ('s2', 'p1'), ('s3', 'p2');
INSERT INTO orders (id, plan_id) VALUES ('o1', 'p2');
`)

// rebuildPlans drops plans.note by SQLite's rebuild, keeping the rows in
// keep (an SQL condition on the old table).
func rebuildPlans(directive, keep string) string {
	return directive + `
CREATE TABLE plans_new (id TEXT PRIMARY KEY, name TEXT NOT NULL);
INSERT INTO plans_new (id, name) SELECT id, name FROM plans WHERE ` + keep + `;
DROP TABLE plans;
ALTER TABLE plans_new RENAME TO plans;
`
}

// openEmpty opens an empty database of dialect d, closed when the test
// ends.
func openEmpty(t *testing.T, d database.Dialect) *database.DB {
	t.Helper()
	db, err := database.Open(context.Background(), databasetest.EmptyURL(t, d), database.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	return db
}

func count(t *testing.T, db *database.DB, table string) int {
	t.Helper()
	var n int
	if err := db.NewSelect().Table(table).ColumnExpr("count(*)").Scan(context.Background(), &n); err != nil {
		t.Fatal(err)
	}
	return n
}

// foreignKeysEnforced reports whether the writer refuses a row whose
// parent is missing, as it must whatever a migration did.
func foreignKeysEnforced(t *testing.T, db *database.DB) bool {
	t.Helper()
	_, err := db.ExecContext(context.Background(), "INSERT INTO services (id, plan_id) VALUES ('orphan', 'no-such-plan')")
	return err != nil
}

// TestTableRebuildKeepsTheRowsThatReferenceIt: a SQLite migration that
// rebuilds a table under ForeignKeysOff keeps every row that references
// it, and foreign keys are enforced again afterwards. Without the line the
// same migration deletes the services with their plan's old table (the
// reason the line exists).
func TestTableRebuildKeepsTheRowsThatReferenceIt(t *testing.T) {
	t.Parallel()
	ctx := context.Background()

	db := openEmpty(t, database.SQLite)
	done, err := db.MigrateOnly(ctx, []database.Migration{rebuildBase,
		database.NewMigration(2, "drop_plan_note", rebuildPlans(database.ForeignKeysOff, "true"))})
	if err != nil {
		t.Fatal(err)
	}
	if len(done) != 2 {
		t.Fatalf("applied %d migrations, want 2", len(done))
	}
	if n := count(t, db, "services"); n != 3 {
		t.Errorf("%d services after the rebuild, want all 3", n)
	}
	if n := count(t, db, "orders"); n != 1 {
		t.Errorf("%d orders after the rebuild, want 1", n)
	}
	if _, err := db.ExecContext(ctx, "SELECT note FROM plans"); err == nil {
		t.Error("plans.note is still there after the rebuild")
	}
	if !foreignKeysEnforced(t, db) {
		t.Error("foreign keys are not enforced after the migration")
	}

	without := openEmpty(t, database.SQLite)
	_, err = without.MigrateOnly(ctx, []database.Migration{rebuildBase,
		database.NewMigration(2, "drop_plan_note", rebuildPlans("", "true"))})
	if err == nil && count(t, without, "services") == 3 {
		t.Error("without the line the rebuild succeeded and kept the services too: the test no longer shows why the line is needed")
	}
}

// TestTableRebuildThatOrphansRowsIsRolledBack: a rebuild that leaves
// rows whose parent is gone fails, names them, and changes nothing.
func TestTableRebuildThatOrphansRowsIsRolledBack(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := openEmpty(t, database.SQLite)
	if _, err := db.MigrateOnly(ctx, []database.Migration{rebuildBase}); err != nil {
		t.Fatal(err)
	}
	// p2 is not copied: s3 and o1 would reference nothing.
	_, err := db.MigrateOnly(ctx, []database.Migration{rebuildBase,
		database.NewMigration(2, "drop_plan_note", rebuildPlans(database.ForeignKeysOff, "id = 'p1'"))})
	if err == nil {
		t.Fatal("a rebuild that orphans rows was applied")
	}
	for _, want := range []string{"0002_drop_plan_note", "2 rows would reference a missing row", "services row", "orders row"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
	if n := count(t, db, "plans"); n != 2 {
		t.Errorf("%d plans after the refused rebuild, want the 2 there were", n)
	}
	if _, err := db.ExecContext(ctx, "SELECT note FROM plans"); err != nil {
		t.Errorf("the refused rebuild changed plans: %v", err)
	}
	var applied int
	if err := db.NewSelect().Table("schema_migrations").ColumnExpr("count(*)").Where("version = 2").Scan(ctx, &applied); err != nil {
		t.Fatal(err)
	}
	if applied != 0 {
		t.Error("the refused migration is recorded as applied")
	}
	if !foreignKeysEnforced(t, db) {
		t.Error("foreign keys are not enforced after the refused migration")
	}
}

// TestPostgresMigrationMayNotTurnForeignKeysOff: PostgreSQL alters tables in
// place, so the line is refused there rather than silently ignored.
func TestPostgresMigrationMayNotTurnForeignKeysOff(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := openEmpty(t, database.Postgres)
	_, err := db.MigrateOnly(ctx, []database.Migration{database.NewMigration(1, "rebuild", database.ForeignKeysOff+"\nCREATE TABLE t (id TEXT PRIMARY KEY);")})
	if err == nil || !strings.Contains(err.Error(), "is for SQLite's table rebuilds") {
		t.Fatalf("got %v, want the line refused on PostgreSQL", err)
	}
	var tables int
	if err := db.NewSelect().TableExpr("information_schema.tables").ColumnExpr("count(*)").Where("table_name = 't'").Scan(ctx, &tables); err != nil {
		t.Fatal(err)
	}
	if tables != 0 {
		t.Error("the refused migration created its table")
	}
}
