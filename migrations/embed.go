// Package migrations holds the versioned schema, one tree per dialect.
//
// Files are named NNNN_name.sql; NNNN is the version, applied in order and
// recorded in schema_migrations. A released migration never changes: the
// runner stores each file's checksum and refuses to start when an applied
// file was edited. Both trees carry the same versions so that SQLite and
// PostgreSQL always have the same schema.
//
// Version ranges by domain keep parallel work from colliding:
// 0001-0009 foundation (identity, audit, idempotency, rate limits, outbox),
// 0010-0019 plugins, 0020-0039 billing, 0040-0049 scheduler,
// 0050-0059 notifications, 0060-0069 provisioning, 0070-0079 projects.
package migrations

import "embed"

// FS holds postgres/*.sql and sqlite/*.sql.
//
//go:embed postgres/*.sql sqlite/*.sql
var FS embed.FS
