package database_test

import (
	"context"
	"reflect"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/uptrace/bun"
	"github.com/uptrace/bun/schema"

	"github.com/ezscale/platform/core/database"
	"github.com/ezscale/platform/core/database/databasetest"
)

// TestMigrateIsIdempotent: an empty database migrates to every version,
// River's tables included, and migrating again applies nothing.
func TestMigrateIsIdempotent(t *testing.T) {
	t.Parallel()
	databasetest.EachDialect(t, func(t *testing.T, d database.Dialect) {
		ctx := context.Background()
		db := openEmpty(t, d)
		first, err := db.Migrate(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		if len(first) == 0 {
			t.Error("migrating an empty database applied nothing")
		}
		again, err := db.Migrate(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		if len(again) != 0 {
			t.Errorf("second Migrate applied %d migrations, want 0", len(again))
		}
		ms, err := database.Migrations(db.Dialect)
		if err != nil {
			t.Fatal(err)
		}
		var count int
		if err := db.NewSelect().Table("schema_migrations").ColumnExpr("count(*)").Scan(ctx, &count); err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(len(ms), count); diff != "" {
			t.Errorf("recorded migrations (-want +got):\n%s", diff)
		}
		// River's tables come with ours.
		var jobs int
		if err := db.NewSelect().Table("river_job").ColumnExpr("count(*)").Scan(ctx, &jobs); err != nil {
			t.Errorf("river_job missing: %v", err)
		}
	})
}

// TestDialectsHaveTheSameVersions keeps the two trees in step.
func TestDialectsHaveTheSameVersions(t *testing.T) {
	t.Parallel()
	names := func(d database.Dialect) []string {
		ms, err := database.Migrations(d)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, m := range ms {
			out = append(out, m.Name)
		}
		return out
	}
	if diff := cmp.Diff(names(database.Postgres), names(database.SQLite)); diff != "" {
		t.Errorf("postgres vs sqlite migrations (-postgres +sqlite):\n%s", diff)
	}
}

func TestEditedMigrationIsRefused(t *testing.T) {
	t.Parallel()
	databasetest.Each(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		if _, err := db.NewUpdate().Table("schema_migrations").Set("checksum = 'x'").Where("version = 1").Exec(ctx); err != nil {
			t.Fatal(err)
		}
		if _, err := db.Migrate(ctx, nil); err == nil {
			t.Fatal("Migrate accepted an edited migration")
		}
	})
}

// TestDatabasesShareWhatBunLearnedOfAModel: bun works out a model struct's
// table (its columns, relations and pluralised name) once per process, not
// once for every database opened: the SQLite writer and reader, and every
// test's database, find the same table.
func TestDatabasesShareWhatBunLearnedOfAModel(t *testing.T) {
	t.Parallel()
	type widget struct {
		ID   int64 `bun:"id,pk"`
		Name string
	}
	databasetest.EachDialect(t, func(t *testing.T, d database.Dialect) {
		first, second := databasetest.New(t, d), databasetest.New(t, d)
		table := func(db *bun.DB) *schema.Table {
			return db.Dialect().Tables().Get(reflect.TypeFor[widget]())
		}
		want := table(first.DB)
		if want.Name != "widgets" {
			t.Errorf("table name %q, want widgets", want.Name)
		}
		for name, db := range map[string]*bun.DB{"the first's read pool": first.Read, "the second": second.DB, "the second's read pool": second.Read} {
			if table(db) != want {
				t.Errorf("%s worked the model out again", name)
			}
		}
	})
}
