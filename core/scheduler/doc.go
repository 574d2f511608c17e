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
// Options.RunsPerJob). The job calls the provisioner plugin for each run
// outside any transaction, with the run id as the idempotency key (run id +
// "/" + attempt from the second attempt on), then records each run's
// outcome; a retried or rescued job executes only its unfinished runs. A replica that dies during
// the call leaves the job running; River rescues it after jobs.rescue_after
// and another replica calls the plugin again with the same key, which the
// plugin answers with the first outcome without acting twice. A failed call
// is a new attempt with a new key, after a backoff.
//
// # Transactions
//
// No plugin call, health probe or other network I/O happens inside a
// database transaction (SQLite has one write connection shared with River).
// Every state change and the jobs and notifications it needs commit
// together.
package scheduler
