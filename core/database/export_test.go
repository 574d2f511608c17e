package database

import "context"

// NewMigration is a migration that is not embedded, for the runner's tests.
func NewMigration(version int, name, sql string) Migration { return newMigration(version, name, sql) }

// MigrateOnly applies ms as Migrate applies the embedded migrations, without
// River's.
func (db *DB) MigrateOnly(ctx context.Context, ms []Migration) ([]Migration, error) {
	return db.migrate(ctx, nil, ms, false)
}
