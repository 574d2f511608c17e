package database

import "context"

// NewMigration is a migration that is not embedded, for the runner's tests.
func NewMigration(version int, name, sql string) Migration { return newMigration(version, name, sql) }

// MigrateOnly applies River's migrations and ms, as Migrate applies the
// embedded ones.
func (db *DB) MigrateOnly(ctx context.Context, ms []Migration) ([]Migration, error) {
	return db.migrate(ctx, nil, ms)
}
