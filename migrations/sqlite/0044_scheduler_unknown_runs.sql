-- A run whose backend action was started but whose outcome nobody can tell
-- (the replica died mid-call and the backend cannot say) ends unknown: it
-- is not repeated, and the customer is told. SQLite cannot change a CHECK
-- constraint, so the table is rebuilt (nothing references it).
CREATE TABLE task_runs_new (
    id           TEXT PRIMARY KEY,
    task_id      TEXT NOT NULL REFERENCES scheduled_tasks (id) ON DELETE CASCADE,
    account_id   TEXT NOT NULL,
    service_id   TEXT NOT NULL,
    type         TEXT NOT NULL,
    status       TEXT NOT NULL CHECK (status IN ('waiting', 'queued', 'running', 'retrying', 'succeeded', 'failed', 'skipped', 'unknown')),
    due_at       TIMESTAMP NOT NULL,
    run_after    TIMESTAMP NOT NULL,
    attempt      INTEGER NOT NULL DEFAULT 1,
    max_attempts INTEGER NOT NULL,
    started_at   TIMESTAMP,
    completed_at TIMESTAMP,
    output       TEXT NOT NULL DEFAULT '',
    error        TEXT NOT NULL DEFAULT '',
    created_at   TIMESTAMP NOT NULL
);
INSERT INTO task_runs_new (id, task_id, account_id, service_id, type, status, due_at, run_after, attempt, max_attempts,
    started_at, completed_at, output, error, created_at)
SELECT id, task_id, account_id, service_id, type, status, due_at, run_after, attempt, max_attempts,
    started_at, completed_at, output, error, created_at FROM task_runs;
DROP TABLE task_runs;
ALTER TABLE task_runs_new RENAME TO task_runs;
CREATE UNIQUE INDEX task_runs_due_uq ON task_runs (task_id, due_at);
CREATE INDEX task_runs_task_idx ON task_runs (task_id, id);
