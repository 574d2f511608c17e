-- Cascade alerts (core/projects owns these tables; no other package reads
-- them).

-- A service that is down, and why: causes is a comma-separated set of
-- health_check, suspended, failed (empty: up again). episode_id names the
-- outage that began when the set stopped being empty; the row stays
-- behind, emptied, when the service recovers.
CREATE TABLE service_outages (
    service_id text PRIMARY KEY REFERENCES services (id),
    account_id text NOT NULL REFERENCES accounts (id),
    episode_id text NOT NULL,
    causes     text NOT NULL DEFAULT '',
    reason     text NOT NULL DEFAULT '',
    started_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL
);
CREATE INDEX service_outages_account_idx ON service_outages (account_id) WHERE causes <> '';

-- One row per (outage, dependent service told of it): the down notice was
-- sent when the row was written, the recovery notice when recovered_at
-- was set, each in that transaction.
CREATE TABLE service_outage_notices (
    episode_id   text NOT NULL,
    service_id   text NOT NULL REFERENCES services (id),
    root_id      text NOT NULL REFERENCES services (id),
    account_id   text NOT NULL REFERENCES accounts (id),
    notified_at  timestamptz NOT NULL,
    recovered_at timestamptz,
    PRIMARY KEY (episode_id, service_id)
);
CREATE INDEX service_outage_notices_root_idx ON service_outage_notices (root_id) WHERE recovered_at IS NULL;
