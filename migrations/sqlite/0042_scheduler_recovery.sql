-- Scheduler: auto-recovery. A health check per service every
-- scheduler.recovery_interval at a stable offset; a failed check restarts
-- the service through the provisioner, at most max_per_hour times an hour.

CREATE TABLE recovery_configs (
    service_id      TEXT PRIMARY KEY REFERENCES services (id),
    account_id      TEXT NOT NULL REFERENCES accounts (id),
    enabled         BOOLEAN NOT NULL DEFAULT 1,
    check_type      TEXT NOT NULL CHECK (check_type IN ('http', 'tcp', 'ping')),
    -- http: the URL; tcp and ping: a host name or IP address.
    target          TEXT NOT NULL,
    -- tcp: the port checked; ping: the port of the TCP fallback.
    port            INTEGER NOT NULL DEFAULT 0 CHECK (port BETWEEN 0 AND 65535),
    max_per_hour    INTEGER NOT NULL DEFAULT 3 CHECK (max_per_hour BETWEEN 1 AND 12),
    notify          BOOLEAN NOT NULL DEFAULT 1,
    -- up | down | gave_up | unknown: gave_up stops restarts until a check
    -- passes again or the customer saves the config.
    state           TEXT NOT NULL DEFAULT 'unknown' CHECK (state IN ('unknown', 'up', 'down', 'gave_up')),
    last_check_at   TIMESTAMP,
    last_error      TEXT NOT NULL DEFAULT '',
    -- The next check slot (the tick job enqueues the check ahead of it).
    next_check_at   TIMESTAMP NOT NULL,
    created_at      TIMESTAMP NOT NULL,
    updated_at      TIMESTAMP NOT NULL
);
CREATE INDEX recovery_configs_due_idx ON recovery_configs (next_check_at) WHERE enabled = 1;
CREATE INDEX recovery_configs_account_idx ON recovery_configs (account_id, service_id);

-- Every failed check: the restart it caused, or that the hourly maximum
-- stopped it. (service_id, slot_at) is unique: a rescued check job does not
-- restart twice.
CREATE TABLE recovery_attempts (
    id           TEXT PRIMARY KEY,
    service_id   TEXT NOT NULL REFERENCES services (id),
    account_id   TEXT NOT NULL,
    slot_at      TIMESTAMP NOT NULL,
    check_type   TEXT NOT NULL,
    check_error  TEXT NOT NULL DEFAULT '',
    action       TEXT NOT NULL CHECK (action IN ('restart', 'gave_up')),
    status       TEXT NOT NULL CHECK (status IN ('running', 'succeeded', 'failed', 'skipped')),
    error        TEXT NOT NULL DEFAULT '',
    created_at   TIMESTAMP NOT NULL,
    completed_at TIMESTAMP
);
CREATE UNIQUE INDEX recovery_attempts_slot_uq ON recovery_attempts (service_id, slot_at);
CREATE INDEX recovery_attempts_service_idx ON recovery_attempts (service_id, created_at);
