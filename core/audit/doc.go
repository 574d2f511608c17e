// Package audit keeps the tamper-evident audit log.
//
// Every state-changing request and every authentication failure appends an
// event in the same transaction as the change. Events form a hash chain: each
// has a gap-free sequence number, the previous event's hash, and a SHA-256
// over a canonical encoding of all its fields. Appends lock the single chain
// head row, which serialises them across replicas without gaps: a rolled-back
// append releases the lock and consumes no number. Because that lock is held
// until commit, Record should be the last write of a transaction.
//
// The database refuses UPDATE and DELETE on audit_events (triggers on both
// dialects); Verify walks the chain and reports the first broken or missing
// sequence number.
package audit
