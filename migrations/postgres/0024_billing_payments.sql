-- Billing: payment methods, payments (charges through a payment gateway
-- plugin), refunds, top-ups, auto top-up, webhook events and billing runs.

CREATE TABLE payment_methods (
    id                text PRIMARY KEY,
    account_id        text NOT NULL REFERENCES accounts (id),
    gateway           text NOT NULL,
    gateway_method_id text NOT NULL,
    type              text NOT NULL DEFAULT '',
    brand             text NOT NULL DEFAULT '',
    last4             text NOT NULL DEFAULT '',
    exp_month         integer NOT NULL DEFAULT 0,
    exp_year          integer NOT NULL DEFAULT 0,
    detached_at       timestamptz,
    created_at        timestamptz NOT NULL,
    UNIQUE (account_id, gateway, gateway_method_id)
);

CREATE TABLE payments (
    id                text PRIMARY KEY,
    account_id        text NOT NULL REFERENCES accounts (id),
    invoice_id        text REFERENCES invoices (id),
    topup_id          text,
    gateway           text NOT NULL,
    payment_method_id text NOT NULL,
    -- Derived from what is paid and the attempt (invoice id + attempt):
    -- the gateway's idempotency key, so a retried job never charges twice.
    idempotency_key   text NOT NULL UNIQUE,
    amount            bigint NOT NULL CHECK (amount > 0),
    currency          text NOT NULL,
    status            text NOT NULL CHECK (status IN ('pending', 'processing', 'succeeded', 'failed', 'requires_action')),
    gateway_charge_id text NOT NULL DEFAULT '',
    failure_code      text NOT NULL DEFAULT '',
    failure_message   text NOT NULL DEFAULT '',
    refunded          bigint NOT NULL DEFAULT 0,
    disputed          boolean NOT NULL DEFAULT false,
    created_at        timestamptz NOT NULL,
    updated_at        timestamptz NOT NULL,
    succeeded_at      timestamptz
);
CREATE INDEX payments_account_idx ON payments (account_id, created_at, id);
CREATE INDEX payments_charge_idx ON payments (gateway, gateway_charge_id);
CREATE INDEX payments_invoice_idx ON payments (invoice_id);

CREATE TABLE refunds (
    id                text PRIMARY KEY,
    account_id        text NOT NULL REFERENCES accounts (id),
    payment_id        text NOT NULL REFERENCES payments (id),
    amount            bigint NOT NULL CHECK (amount > 0),
    currency          text NOT NULL,
    reason            text NOT NULL DEFAULT '',
    status            text NOT NULL CHECK (status IN ('pending', 'succeeded', 'failed')),
    gateway_refund_id text NOT NULL DEFAULT '',
    failure           text NOT NULL DEFAULT '',
    idempotency_key   text NOT NULL,
    created_at        timestamptz NOT NULL,
    updated_at        timestamptz NOT NULL,
    UNIQUE (account_id, idempotency_key)
);

CREATE TABLE topups (
    id                text PRIMARY KEY,
    account_id        text NOT NULL REFERENCES accounts (id),
    source            text NOT NULL CHECK (source IN ('card', 'auto')),
    amount            bigint NOT NULL CHECK (amount > 0),
    currency          text NOT NULL,
    payment_method_id text NOT NULL,
    status            text NOT NULL CHECK (status IN ('pending', 'succeeded', 'failed')),
    payment_id        text,
    failure           text NOT NULL DEFAULT '',
    idempotency_key   text NOT NULL,
    created_at        timestamptz NOT NULL,
    updated_at        timestamptz NOT NULL,
    UNIQUE (account_id, idempotency_key)
);
CREATE INDEX topups_account_idx ON topups (account_id, created_at, id);

CREATE TABLE auto_topups (
    account_id        text PRIMARY KEY REFERENCES accounts (id),
    enabled           boolean NOT NULL DEFAULT false,
    -- Below this balance a top-up is due: of amount, or up to target.
    threshold         bigint NOT NULL CHECK (threshold >= 0),
    amount            bigint NOT NULL DEFAULT 0 CHECK (amount >= 0),
    target            bigint NOT NULL DEFAULT 0 CHECK (target >= 0),
    payment_method_id text NOT NULL DEFAULT '',
    failures          integer NOT NULL DEFAULT 0,
    max_failures      integer NOT NULL CHECK (max_failures >= 1),
    disabled_reason   text NOT NULL DEFAULT '',
    last_attempt_at   timestamptz,
    updated_at        timestamptz NOT NULL
);

-- Gateway webhook events, applied once each (providers deliver at least once).
CREATE TABLE webhook_events (
    gateway     text NOT NULL,
    event_id    text NOT NULL,
    type        text NOT NULL,
    payment_id  text,
    outcome     text NOT NULL DEFAULT '',
    received_at timestamptz NOT NULL,
    PRIMARY KEY (gateway, event_id)
);

CREATE TABLE billing_runs (
    id         text PRIMARY KEY,
    as_of      timestamptz NOT NULL,
    triggered_by text NOT NULL,
    created_at timestamptz NOT NULL
);
CREATE INDEX billing_runs_created_idx ON billing_runs (created_at, id);

CREATE TABLE billing_run_steps (
    run_id      text NOT NULL REFERENCES billing_runs (id),
    step        text NOT NULL,
    status      text NOT NULL CHECK (status IN ('running', 'succeeded', 'failed')),
    attempts    integer NOT NULL DEFAULT 0,
    processed   bigint NOT NULL DEFAULT 0,
    error       text NOT NULL DEFAULT '',
    started_at  timestamptz NOT NULL,
    finished_at timestamptz,
    PRIMARY KEY (run_id, step)
);
