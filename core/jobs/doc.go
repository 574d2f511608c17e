// Package jobs runs all background work on River, over the same database as
// everything else: SQLite through riversqlite (sharing the single write
// connection), PostgreSQL through riverdatabasesql (sharing bun's pgx stdlib
// pool).
//
// Domain packages register their workers and periodic jobs in a Registry and
// enqueue with Engine.InsertTx inside the transaction that creates the state a
// job needs, so a rolled-back change leaves no job behind and a committed one
// is never without its job.
//
// Every kind's timeout is pinned below the rescue horizon (jobs.rescue_after):
// River rescues a job that has run longer than that, assuming its replica
// died, and a job still running at that point would run twice.
package jobs
