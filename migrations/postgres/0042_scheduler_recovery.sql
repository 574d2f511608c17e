-- Scheduler: auto-recovery. A health check per service every
-- scheduler.recovery_interval at a stable offset; a failed check restarts
-- the service through the provisioner, at most max_per_hour times an hour.

CREATE TABLE recovery_configs (
    service_id      text PRIMARY KEY REFERENCES services (id),
    account_id      text NOT NULL REFERENCES accounts (id),
    enabled         boolean NOT NULL DEFAULT true,
    check_type      text NOT NULL CHECK (check_type IN ('http', 'tcp', 'ping')),
    -- http: the URL; tcp and ping: a host name or IP address.
    target          text NOT NULL,
    -- tcp: the port checked; ping: the port of the TCP fallback.
    port            integer NOT NULL DEFAULT 0 CHECK (port BETWEEN 0 AND 65535),
    max_per_hour    integer NOT NULL DEFAULT 3 CHECK (max_per_hour BETWEEN 1 AND 12),
    notify          boolean NOT NULL DEFAULT true,
    -- up | down | gave_up | unknown: gave_up stops restarts until a check
    -- passes again or the customer saves the config.
    state           text NOT NULL DEFAULT 'unknown' CHECK (state IN ('unknown', 'up', 'down', 'gave_up')),
    last_check_at   timestamptz,
    last_error      text NOT NULL DEFAULT '',
    -- The next check slot (the tick job enqueues the check ahead of it).
    next_check_at   timestamptz NOT NULL,
    created_at      timestamptz NOT NULL,
    updated_at      timestamptz NOT NULL
);
CREATE INDEX recovery_configs_due_idx ON recovery_configs (next_check_at) WHERE enabled;
CREATE INDEX recovery_configs_account_idx ON recovery_configs (account_id, service_id);

-- Every failed check: the restart it caused, or that the hourly maximum
-- stopped it. (service_id, slot_at) is unique: a rescued check job does not
-- restart twice.
CREATE TABLE recovery_attempts (
    id           text PRIMARY KEY,
    service_id   text NOT NULL REFERENCES services (id),
    account_id   text NOT NULL,
    slot_at      timestamptz NOT NULL,
    check_type   text NOT NULL,
    check_error  text NOT NULL DEFAULT '',
    action       text NOT NULL CHECK (action IN ('restart', 'gave_up')),
    status       text NOT NULL CHECK (status IN ('running', 'succeeded', 'failed', 'skipped')),
    error        text NOT NULL DEFAULT '',
    created_at   timestamptz NOT NULL,
    completed_at timestamptz
);
CREATE UNIQUE INDEX recovery_attempts_slot_uq ON recovery_attempts (service_id, slot_at);
CREATE INDEX recovery_attempts_service_idx ON recovery_attempts (service_id, created_at);
