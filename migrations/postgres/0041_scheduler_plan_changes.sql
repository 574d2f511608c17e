-- Scheduler: plan changes (upgrade, downgrade, add-on) chosen to happen at a
-- later date and time, applied through billing's plan change with proration.

CREATE TABLE scheduled_plan_changes (
    id               text PRIMARY KEY,
    account_id       text NOT NULL REFERENCES accounts (id),
    service_id       text NOT NULL REFERENCES services (id),
    kind             text NOT NULL CHECK (kind IN ('upgrade', 'downgrade', 'addon')),
    to_plan_id       text REFERENCES plans (id),
    addon_id         text REFERENCES addons (id),
    addon_quantity   integer NOT NULL DEFAULT 0 CHECK (addon_quantity >= 0),
    run_at           timestamptz NOT NULL,
    status           text NOT NULL CHECK (status IN ('pending', 'running', 'applied', 'failed', 'cancelled')),
    reminder_sent_at timestamptz,
    cancel_reason    text NOT NULL DEFAULT '',
    cancelled_at     timestamptz,
    -- What billing answered (JSON: plan change id, invoice, proration).
    result           text NOT NULL DEFAULT '{}',
    error            text NOT NULL DEFAULT '',
    attempts         integer NOT NULL DEFAULT 0,
    applied_at       timestamptz,
    created_at       timestamptz NOT NULL,
    updated_at       timestamptz NOT NULL,
    CHECK ((kind = 'addon') = (addon_id IS NOT NULL)),
    CHECK ((kind = 'addon') = (to_plan_id IS NULL))
);
-- At most one change waiting (or being applied) per service.
CREATE UNIQUE INDEX scheduled_plan_changes_pending_uq ON scheduled_plan_changes (service_id) WHERE status IN ('pending', 'running');
CREATE INDEX scheduled_plan_changes_account_idx ON scheduled_plan_changes (account_id, id);
