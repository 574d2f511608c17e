-- Billing: payment methods, payments (charges through a payment gateway
-- plugin), refunds, top-ups, auto top-up, webhook events and billing runs.

CREATE TABLE payment_methods (
    id                TEXT PRIMARY KEY,
    account_id        TEXT NOT NULL REFERENCES accounts (id),
    gateway           TEXT NOT NULL,
    gateway_method_id TEXT NOT NULL,
    type              TEXT NOT NULL DEFAULT '',
    brand             TEXT NOT NULL DEFAULT '',
    last4             TEXT NOT NULL DEFAULT '',
    exp_month         INTEGER NOT NULL DEFAULT 0,
    exp_year          INTEGER NOT NULL DEFAULT 0,
    detached_at       TIMESTAMP,
    created_at        TIMESTAMP NOT NULL,
    UNIQUE (account_id, gateway, gateway_method_id)
);

CREATE TABLE payments (
    id                TEXT PRIMARY KEY,
    account_id        TEXT NOT NULL REFERENCES accounts (id),
    invoice_id        TEXT REFERENCES invoices (id),
    topup_id          TEXT,
    gateway           TEXT NOT NULL,
    payment_method_id TEXT NOT NULL,
    -- Derived from what is paid and the attempt (invoice id + attempt):
    -- the gateway's idempotency key, so a retried job never charges twice.
    idempotency_key   TEXT NOT NULL UNIQUE,
    amount            INTEGER NOT NULL CHECK (amount > 0),
    currency          TEXT NOT NULL,
    status            TEXT NOT NULL CHECK (status IN ('pending', 'processing', 'succeeded', 'failed', 'requires_action')),
    gateway_charge_id TEXT NOT NULL DEFAULT '',
    failure_code      TEXT NOT NULL DEFAULT '',
    failure_message   TEXT NOT NULL DEFAULT '',
    refunded          INTEGER NOT NULL DEFAULT 0,
    disputed          BOOLEAN NOT NULL DEFAULT 0,
    created_at        TIMESTAMP NOT NULL,
    updated_at        TIMESTAMP NOT NULL,
    succeeded_at      TIMESTAMP
);
CREATE INDEX payments_account_idx ON payments (account_id, created_at, id);
CREATE INDEX payments_charge_idx ON payments (gateway, gateway_charge_id);
CREATE INDEX payments_invoice_idx ON payments (invoice_id);

CREATE TABLE refunds (
    id                TEXT PRIMARY KEY,
    account_id        TEXT NOT NULL REFERENCES accounts (id),
    payment_id        TEXT NOT NULL REFERENCES payments (id),
    amount            INTEGER NOT NULL CHECK (amount > 0),
    currency          TEXT NOT NULL,
    reason            TEXT NOT NULL DEFAULT '',
    status            TEXT NOT NULL CHECK (status IN ('pending', 'succeeded', 'failed')),
    gateway_refund_id TEXT NOT NULL DEFAULT '',
    failure           TEXT NOT NULL DEFAULT '',
    idempotency_key   TEXT NOT NULL,
    created_at        TIMESTAMP NOT NULL,
    updated_at        TIMESTAMP NOT NULL,
    UNIQUE (account_id, idempotency_key)
);

CREATE TABLE topups (
    id                TEXT PRIMARY KEY,
    account_id        TEXT NOT NULL REFERENCES accounts (id),
    source            TEXT NOT NULL CHECK (source IN ('card', 'auto')),
    amount            INTEGER NOT NULL CHECK (amount > 0),
    currency          TEXT NOT NULL,
    payment_method_id TEXT NOT NULL,
    status            TEXT NOT NULL CHECK (status IN ('pending', 'succeeded', 'failed')),
    payment_id        TEXT,
    failure           TEXT NOT NULL DEFAULT '',
    idempotency_key   TEXT NOT NULL,
    created_at        TIMESTAMP NOT NULL,
    updated_at        TIMESTAMP NOT NULL,
    UNIQUE (account_id, idempotency_key)
);
CREATE INDEX topups_account_idx ON topups (account_id, created_at, id);

CREATE TABLE auto_topups (
    account_id        TEXT PRIMARY KEY REFERENCES accounts (id),
    enabled           BOOLEAN NOT NULL DEFAULT 0,
    -- Below this balance a top-up is due: of amount, or up to target.
    threshold         INTEGER NOT NULL CHECK (threshold >= 0),
    amount            INTEGER NOT NULL DEFAULT 0 CHECK (amount >= 0),
    target            INTEGER NOT NULL DEFAULT 0 CHECK (target >= 0),
    payment_method_id TEXT NOT NULL DEFAULT '',
    failures          INTEGER NOT NULL DEFAULT 0,
    max_failures      INTEGER NOT NULL CHECK (max_failures >= 1),
    disabled_reason   TEXT NOT NULL DEFAULT '',
    last_attempt_at   TIMESTAMP,
    updated_at        TIMESTAMP NOT NULL
);

-- Gateway webhook events, applied once each (providers deliver at least once).
CREATE TABLE webhook_events (
    gateway     TEXT NOT NULL,
    event_id    TEXT NOT NULL,
    type        TEXT NOT NULL,
    payment_id  TEXT,
    outcome     TEXT NOT NULL DEFAULT '',
    received_at TIMESTAMP NOT NULL,
    PRIMARY KEY (gateway, event_id)
);

CREATE TABLE billing_runs (
    id         TEXT PRIMARY KEY,
    as_of      TIMESTAMP NOT NULL,
    triggered_by TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX billing_runs_created_idx ON billing_runs (created_at, id);

CREATE TABLE billing_run_steps (
    run_id      TEXT NOT NULL REFERENCES billing_runs (id),
    step        TEXT NOT NULL,
    status      TEXT NOT NULL CHECK (status IN ('running', 'succeeded', 'failed')),
    attempts    INTEGER NOT NULL DEFAULT 0,
    processed   INTEGER NOT NULL DEFAULT 0,
    error       TEXT NOT NULL DEFAULT '',
    started_at  TIMESTAMP NOT NULL,
    finished_at TIMESTAMP,
    PRIMARY KEY (run_id, step)
);
