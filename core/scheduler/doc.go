// Package scheduler is customer automation: automated tasks on a customer's
// service (reboot, snapshot, backup, custom script) on a cron schedule in
// the customer's time zone, per-account maintenance windows, scheduled plan
// changes, and auto-recovery (a health check that restarts a service that
// stopped answering). All of it runs on the job engine (River), so every
// replica of the core shares the work and each due run happens once.
//
// # Once and only once
//
// Automated tasks are turned into runs by one periodic "due tasks" job that
// River enqueues once per minute across all replicas (unique per minute).
// For each task whose next_run_at has passed it inserts, in one
// transaction: a task_runs row, unique on (task_id, due_at); the River job
// that executes it; and the task's next_run_at, computed from now. A second
// due-tasks job for the same minute (a leader change, a retry) conflicts on
// the unique index and inserts nothing; after downtime each task has one
// overdue next_run_at, so a missed run is caught up once, not once per
// missed occurrence.
//
// Runs are made a minute ahead of their due time (Options.Lookahead), and
// the runs starting together share one execution job (up to
// Options.RunsPerJob). The job records each run's backend action as
// started (core/intent) in the transaction that marks the runs running,
// committed before it calls the provisioner plugin for each run outside any
// transaction, with the run id as the idempotency key (run id + "/" +
// attempt from the second attempt on); then it records each run's outcome
// and its action's, retrying that write within the job's budget. A retried
// or rescued job executes only its unfinished runs, and never calls again
// for an action found started without an outcome (a replica died, the
// outcome write failed): the action type's policy settles it with the
// backend (GetInfo for a restart, ListBackups for a backup named by the
// key) or ends the run unknown and tells the customer (a script). A failed
// call is a new attempt with a new key, after a backoff. Auto-recovery's
// restarts are recorded the same way.
//
// # Transactions
//
// No plugin call, health probe or other network I/O happens inside a
// database transaction (SQLite has one write connection shared with River).
// Every state change and the jobs and notifications it needs commit
// together.
package scheduler
