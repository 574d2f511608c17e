-- Billing: services, their add-ons, suspensions and plan changes.

CREATE TABLE services (
    id                 text PRIMARY KEY,
    account_id         text NOT NULL REFERENCES accounts (id),
    plan_id            text NOT NULL REFERENCES plans (id),
    cycle              text NOT NULL CHECK (cycle IN ('monthly', 'quarterly', 'annual', 'biennial')),
    currency           text NOT NULL,
    -- The plan's price for one cycle, locked when ordered or changed.
    price              bigint NOT NULL CHECK (price >= 0),
    status             text NOT NULL CHECK (status IN ('pending', 'provisioning', 'active', 'suspended', 'terminated', 'cancelled', 'failed')),
    label              text NOT NULL DEFAULT '',
    -- Customer-chosen options (JSON object of strings), merged over the plan's.
    options            text NOT NULL DEFAULT '{}',
    -- The paid period; NULL until the order is paid.
    period_start       timestamptz,
    period_end         timestamptz,
    anchor_day         integer NOT NULL DEFAULT 0,
    coupon_id          text REFERENCES coupons (id),
    -- Cycles the coupon still discounts; NULL = every cycle.
    coupon_cycles_left integer,
    -- A change scheduled for the end of the term (downgrade, cycle change).
    pending_plan_id    text REFERENCES plans (id),
    pending_cycle      text,
    pending_price      bigint,
    cancel_at_period_end boolean NOT NULL DEFAULT false,
    external_id        text NOT NULL DEFAULT '',
    attributes         text NOT NULL DEFAULT '{}',
    -- What the provisioner last confirmed ('', active, suspended, terminated),
    -- the plan it runs, and the generation of the wanted state (part of each
    -- call's idempotency key).
    backend_state      text NOT NULL DEFAULT '',
    backend_plan_id    text NOT NULL DEFAULT '',
    state_version      integer NOT NULL DEFAULT 0,
    provision_attempts integer NOT NULL DEFAULT 0,
    last_error         text NOT NULL DEFAULT '',
    activated_at       timestamptz,
    suspended_at       timestamptz,
    ended_at           timestamptz,
    created_at         timestamptz NOT NULL,
    updated_at         timestamptz NOT NULL
);
CREATE INDEX services_account_idx ON services (account_id, id);
CREATE INDEX services_status_idx ON services (status, id);
CREATE INDEX services_renewal_idx ON services (period_end) WHERE status IN ('active', 'suspended');

CREATE TABLE service_addons (
    service_id text NOT NULL REFERENCES services (id),
    addon_id   text NOT NULL REFERENCES addons (id),
    quantity   integer NOT NULL CHECK (quantity >= 1),
    -- Price of one unit for the service's cycle, locked like the plan's.
    unit_price bigint NOT NULL CHECK (unit_price >= 0),
    PRIMARY KEY (service_id, addon_id)
);

-- A service is suspended while it has an unlifted suspension; each reason
-- is lifted on its own (payment lifts only non_payment).
CREATE TABLE service_suspensions (
    id         text PRIMARY KEY,
    service_id text NOT NULL REFERENCES services (id),
    reason     text NOT NULL,
    note       text NOT NULL DEFAULT '',
    created_at timestamptz NOT NULL,
    lifted_at  timestamptz
);
CREATE UNIQUE INDEX service_suspensions_active_uq ON service_suspensions (service_id, reason) WHERE lifted_at IS NULL;

CREATE TABLE plan_changes (
    id            text PRIMARY KEY,
    service_id    text NOT NULL REFERENCES services (id),
    kind          text NOT NULL CHECK (kind IN ('upgrade', 'downgrade', 'cycle')),
    timing        text NOT NULL CHECK (timing IN ('now', 'end_of_term')),
    from_plan_id  text NOT NULL,
    to_plan_id    text NOT NULL,
    from_cycle    text NOT NULL,
    to_cycle      text NOT NULL,
    from_price    bigint NOT NULL,
    to_price      bigint NOT NULL,
    -- Proration: charged (upgrade) or credited (immediate downgrade).
    prorated      bigint NOT NULL DEFAULT 0,
    days_left     integer NOT NULL DEFAULT 0,
    days_in_cycle integer NOT NULL DEFAULT 0,
    invoice_id    text,
    status        text NOT NULL CHECK (status IN ('pending', 'scheduled', 'applied', 'cancelled')),
    effective_at  timestamptz NOT NULL,
    created_at    timestamptz NOT NULL,
    applied_at    timestamptz
);
CREATE INDEX plan_changes_service_idx ON plan_changes (service_id, created_at);
CREATE INDEX plan_changes_invoice_idx ON plan_changes (invoice_id) WHERE invoice_id IS NOT NULL;
