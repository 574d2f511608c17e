-- ezscale:foreign-keys-off
-- Billing's terms of a service move out of the service record into a table
-- of billing's own: the coupon it was ordered with and the cycles it still
-- discounts, and a change scheduled for the end of the term. One row per
-- service, written with it at order. The service record keeps what the
-- service is and what its backend runs; billing alone reads and writes its
-- terms.
--
-- coupon_id and pending_plan_id carry foreign keys, so SQLite drops them
-- only by rebuilding services (foreign keys off for this file: the tables
-- that reference services keep their rows).

CREATE TABLE service_terms (
    service_id         TEXT PRIMARY KEY REFERENCES services (id),
    coupon_id          TEXT REFERENCES coupons (id),
    -- Cycles the coupon still discounts; NULL = every cycle.
    coupon_cycles_left INTEGER,
    -- A change scheduled for the end of the term (downgrade, cycle change).
    pending_plan_id    TEXT REFERENCES plans (id),
    pending_cycle      TEXT CHECK (pending_cycle IN ('monthly', 'quarterly', 'annual', 'biennial')),
    pending_price      INTEGER CHECK (pending_price >= 0)
);
-- The plan guard asks whether any service is scheduled onto a plan.
CREATE INDEX service_terms_pending_plan_idx ON service_terms (pending_plan_id) WHERE pending_plan_id IS NOT NULL;

INSERT INTO service_terms (service_id, coupon_id, coupon_cycles_left, pending_plan_id, pending_cycle, pending_price)
SELECT id, coupon_id, coupon_cycles_left, pending_plan_id, pending_cycle, pending_price FROM services;

CREATE TABLE services_new (
    id                 TEXT PRIMARY KEY,
    account_id         TEXT NOT NULL REFERENCES accounts (id),
    plan_id            TEXT NOT NULL REFERENCES plans (id),
    cycle              TEXT NOT NULL CHECK (cycle IN ('monthly', 'quarterly', 'annual', 'biennial')),
    currency           TEXT NOT NULL,
    -- The plan's price for one cycle, locked when ordered or changed.
    price              INTEGER NOT NULL CHECK (price >= 0),
    status             TEXT NOT NULL CHECK (status IN ('pending', 'provisioning', 'active', 'suspended', 'terminated', 'cancelled', 'failed')),
    label              TEXT NOT NULL DEFAULT '',
    -- Customer-chosen options (JSON object of strings), merged over the plan's.
    options            TEXT NOT NULL DEFAULT '{}',
    -- 'production', or 'development' for a free-tier sandbox.
    environment        TEXT NOT NULL DEFAULT 'production',
    -- The paid period; NULL until the order is paid.
    period_start       TIMESTAMP,
    period_end         TIMESTAMP,
    anchor_day         INTEGER NOT NULL DEFAULT 0,
    cancel_at_period_end BOOLEAN NOT NULL DEFAULT 0,
    external_id        TEXT NOT NULL DEFAULT '',
    attributes         TEXT NOT NULL DEFAULT '{}',
    -- What the provisioner last confirmed ('', active, suspended, terminated),
    -- the plan it runs, and the generation of the wanted state (part of each
    -- call's idempotency key).
    backend_state      TEXT NOT NULL DEFAULT '',
    backend_plan_id    TEXT NOT NULL DEFAULT '',
    state_version      INTEGER NOT NULL DEFAULT 0,
    -- The generation of the provisioner options, and the one the
    -- provisioner confirmed.
    options_version    INTEGER NOT NULL DEFAULT 0,
    backend_options_version INTEGER NOT NULL DEFAULT 0,
    provision_attempts INTEGER NOT NULL DEFAULT 0,
    last_error         TEXT NOT NULL DEFAULT '',
    activated_at       TIMESTAMP,
    suspended_at       TIMESTAMP,
    ended_at           TIMESTAMP,
    created_at         TIMESTAMP NOT NULL,
    updated_at         TIMESTAMP NOT NULL
);
INSERT INTO services_new (id, account_id, plan_id, cycle, currency, price, status, label, options, environment,
    period_start, period_end, anchor_day, cancel_at_period_end, external_id, attributes, backend_state,
    backend_plan_id, state_version, options_version, backend_options_version, provision_attempts, last_error,
    activated_at, suspended_at, ended_at, created_at, updated_at)
SELECT id, account_id, plan_id, cycle, currency, price, status, label, options, environment,
    period_start, period_end, anchor_day, cancel_at_period_end, external_id, attributes, backend_state,
    backend_plan_id, state_version, options_version, backend_options_version, provision_attempts, last_error,
    activated_at, suspended_at, ended_at, created_at, updated_at
FROM services;
DROP TABLE services;
ALTER TABLE services_new RENAME TO services;
CREATE INDEX services_account_idx ON services (account_id, id);
CREATE INDEX services_status_idx ON services (status, id);
CREATE INDEX services_renewal_idx ON services (period_end) WHERE status IN ('active', 'suspended');
