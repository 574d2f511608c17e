-- Scheduler: plan changes (upgrade, downgrade, add-on) chosen to happen at a
-- later date and time, applied through billing's plan change with proration.

CREATE TABLE scheduled_plan_changes (
    id               TEXT PRIMARY KEY,
    account_id       TEXT NOT NULL REFERENCES accounts (id),
    service_id       TEXT NOT NULL REFERENCES services (id),
    kind             TEXT NOT NULL CHECK (kind IN ('upgrade', 'downgrade', 'addon')),
    to_plan_id       TEXT REFERENCES plans (id),
    addon_id         TEXT REFERENCES addons (id),
    addon_quantity   INTEGER NOT NULL DEFAULT 0 CHECK (addon_quantity >= 0),
    run_at           TIMESTAMP NOT NULL,
    status           TEXT NOT NULL CHECK (status IN ('pending', 'running', 'applied', 'failed', 'cancelled')),
    reminder_sent_at TIMESTAMP,
    cancel_reason    TEXT NOT NULL DEFAULT '',
    cancelled_at     TIMESTAMP,
    -- What billing answered (JSON: plan change id, invoice, proration).
    result           TEXT NOT NULL DEFAULT '{}',
    error            TEXT NOT NULL DEFAULT '',
    attempts         INTEGER NOT NULL DEFAULT 0,
    applied_at       TIMESTAMP,
    created_at       TIMESTAMP NOT NULL,
    updated_at       TIMESTAMP NOT NULL,
    CHECK ((kind = 'addon') = (addon_id IS NOT NULL)),
    CHECK ((kind = 'addon') = (to_plan_id IS NULL))
);
-- At most one change waiting (or being applied) per service.
CREATE UNIQUE INDEX scheduled_plan_changes_pending_uq ON scheduled_plan_changes (service_id) WHERE status IN ('pending', 'running');
CREATE INDEX scheduled_plan_changes_account_idx ON scheduled_plan_changes (account_id, id);
