-- Billing: services, their add-ons, suspensions and plan changes.

CREATE TABLE services (
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
    -- The paid period; NULL until the order is paid.
    period_start       TIMESTAMP,
    period_end         TIMESTAMP,
    anchor_day         INTEGER NOT NULL DEFAULT 0,
    coupon_id          TEXT REFERENCES coupons (id),
    -- Cycles the coupon still discounts; NULL = every cycle.
    coupon_cycles_left INTEGER,
    -- A change scheduled for the end of the term (downgrade, cycle change).
    pending_plan_id    TEXT REFERENCES plans (id),
    pending_cycle      TEXT,
    pending_price      INTEGER,
    cancel_at_period_end BOOLEAN NOT NULL DEFAULT 0,
    external_id        TEXT NOT NULL DEFAULT '',
    attributes         TEXT NOT NULL DEFAULT '{}',
    -- What the provisioner last confirmed ('', active, suspended, terminated),
    -- the plan it runs, and the generation of the wanted state (part of each
    -- call's idempotency key).
    backend_state      TEXT NOT NULL DEFAULT '',
    backend_plan_id    TEXT NOT NULL DEFAULT '',
    state_version      INTEGER NOT NULL DEFAULT 0,
    provision_attempts INTEGER NOT NULL DEFAULT 0,
    last_error         TEXT NOT NULL DEFAULT '',
    activated_at       TIMESTAMP,
    suspended_at       TIMESTAMP,
    ended_at           TIMESTAMP,
    created_at         TIMESTAMP NOT NULL,
    updated_at         TIMESTAMP NOT NULL
);
CREATE INDEX services_account_idx ON services (account_id, id);
CREATE INDEX services_status_idx ON services (status, id);
CREATE INDEX services_renewal_idx ON services (period_end) WHERE status IN ('active', 'suspended');

CREATE TABLE service_addons (
    service_id TEXT NOT NULL REFERENCES services (id),
    addon_id   TEXT NOT NULL REFERENCES addons (id),
    quantity   INTEGER NOT NULL CHECK (quantity >= 1),
    -- Price of one unit for the service's cycle, locked like the plan's.
    unit_price INTEGER NOT NULL CHECK (unit_price >= 0),
    PRIMARY KEY (service_id, addon_id)
);

-- A service is suspended while it has an unlifted suspension; each reason
-- is lifted on its own (payment lifts only non_payment).
CREATE TABLE service_suspensions (
    id         TEXT PRIMARY KEY,
    service_id TEXT NOT NULL REFERENCES services (id),
    reason     TEXT NOT NULL,
    note       TEXT NOT NULL DEFAULT '',
    created_at TIMESTAMP NOT NULL,
    lifted_at  TIMESTAMP
);
CREATE UNIQUE INDEX service_suspensions_active_uq ON service_suspensions (service_id, reason) WHERE lifted_at IS NULL;

CREATE TABLE plan_changes (
    id            TEXT PRIMARY KEY,
    service_id    TEXT NOT NULL REFERENCES services (id),
    kind          TEXT NOT NULL CHECK (kind IN ('upgrade', 'downgrade', 'cycle')),
    timing        TEXT NOT NULL CHECK (timing IN ('now', 'end_of_term')),
    from_plan_id  TEXT NOT NULL,
    to_plan_id    TEXT NOT NULL,
    from_cycle    TEXT NOT NULL,
    to_cycle      TEXT NOT NULL,
    from_price    INTEGER NOT NULL,
    to_price      INTEGER NOT NULL,
    -- Proration: charged (upgrade) or credited (immediate downgrade).
    prorated      INTEGER NOT NULL DEFAULT 0,
    days_left     INTEGER NOT NULL DEFAULT 0,
    days_in_cycle INTEGER NOT NULL DEFAULT 0,
    invoice_id    TEXT,
    status        TEXT NOT NULL CHECK (status IN ('pending', 'scheduled', 'applied', 'cancelled')),
    effective_at  TIMESTAMP NOT NULL,
    created_at    TIMESTAMP NOT NULL,
    applied_at    TIMESTAMP
);
CREATE INDEX plan_changes_service_idx ON plan_changes (service_id, created_at);
CREATE INDEX plan_changes_invoice_idx ON plan_changes (invoice_id) WHERE invoice_id IS NOT NULL;
