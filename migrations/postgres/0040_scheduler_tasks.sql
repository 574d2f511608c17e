-- Scheduler: customer automated tasks, their runs, maintenance windows, and
-- the ticks of the scheduler's periodic system jobs.

-- A recurring window in which an account's automated tasks may run; a task
-- due outside every window of its account waits for the next opening.
CREATE TABLE maintenance_windows (
    id               text PRIMARY KEY,
    account_id       text NOT NULL REFERENCES accounts (id),
    name             text NOT NULL DEFAULT '',
    -- Comma-separated weekdays (sun,mon,…); '' = every day.
    days             text NOT NULL DEFAULT '',
    start_time       text NOT NULL,
    duration_minutes integer NOT NULL CHECK (duration_minutes BETWEEN 15 AND 10079),
    time_zone        text NOT NULL,
    created_at       timestamptz NOT NULL,
    updated_at       timestamptz NOT NULL
);
CREATE INDEX maintenance_windows_account_idx ON maintenance_windows (account_id, id);

CREATE TABLE scheduled_tasks (
    id          text PRIMARY KEY,
    account_id  text NOT NULL REFERENCES accounts (id),
    service_id  text NOT NULL REFERENCES services (id),
    name        text NOT NULL DEFAULT '',
    type        text NOT NULL CHECK (type IN ('reboot', 'snapshot', 'backup', 'custom_script')),
    -- custom_script only: what the provisioner runs on the customer's server.
    script      text NOT NULL DEFAULT '',
    cron        text NOT NULL,
    time_zone   text NOT NULL,
    enabled     boolean NOT NULL DEFAULT true,
    -- none | failure | always: when a run's outcome is notified.
    notify      text NOT NULL DEFAULT 'failure' CHECK (notify IN ('none', 'failure', 'always')),
    max_retries integer NOT NULL DEFAULT 3 CHECK (max_retries BETWEEN 0 AND 10),
    -- The next due time; NULL while disabled.
    next_run_at timestamptz,
    created_at  timestamptz NOT NULL,
    updated_at  timestamptz NOT NULL
);
CREATE INDEX scheduled_tasks_due_idx ON scheduled_tasks (next_run_at) WHERE next_run_at IS NOT NULL;
CREATE INDEX scheduled_tasks_account_idx ON scheduled_tasks (account_id, id);
CREATE INDEX scheduled_tasks_service_idx ON scheduled_tasks (service_id);

-- One row per execution of a task. (task_id, due_at) is unique: whatever
-- number of replicas or retries of the due-tasks job, a due time becomes at
-- most one run, and the run's job is inserted in the same transaction.
CREATE TABLE task_runs (
    id           text PRIMARY KEY,
    task_id      text NOT NULL REFERENCES scheduled_tasks (id) ON DELETE CASCADE,
    account_id   text NOT NULL,
    service_id   text NOT NULL,
    type         text NOT NULL,
    status       text NOT NULL CHECK (status IN ('waiting', 'queued', 'running', 'retrying', 'succeeded', 'failed', 'skipped')),
    -- The cron time this run is for, and when it may start (later than
    -- due_at when it waits for a maintenance window).
    due_at       timestamptz NOT NULL,
    run_after    timestamptz NOT NULL,
    -- The attempt in progress or last made (1-based); part of the plugin
    -- call's idempotency key from the second attempt on.
    attempt      integer NOT NULL DEFAULT 1,
    max_attempts integer NOT NULL,
    started_at   timestamptz,
    completed_at timestamptz,
    output       text NOT NULL DEFAULT '',
    error        text NOT NULL DEFAULT '',
    created_at   timestamptz NOT NULL
);
CREATE UNIQUE INDEX task_runs_due_uq ON task_runs (task_id, due_at);
CREATE INDEX task_runs_task_idx ON task_runs (task_id, id);

-- One row per tick of a periodic system job; runs counts executions of the
-- tick (1 unless a failed tick was retried). Operators see the last tick;
-- tests prove "once per tick across replicas".
CREATE TABLE scheduler_ticks (
    kind    text NOT NULL,
    tick_at timestamptz NOT NULL,
    ran_at  timestamptz NOT NULL,
    runs    integer NOT NULL DEFAULT 1,
    PRIMARY KEY (kind, tick_at)
);
