-- Service transfers between accounts (core/transfers owns this table; no
-- other package reads it). See docs/transfers.md for the states.

CREATE TABLE service_transfers (
    id                  TEXT PRIMARY KEY,
    service_id          TEXT NOT NULL REFERENCES services (id),
    from_account_id     TEXT NOT NULL REFERENCES accounts (id),
    to_account_id       TEXT NOT NULL REFERENCES accounts (id),
    -- The receiver's email as the sender typed it (lower case).
    receiver_email      TEXT NOT NULL,
    status              TEXT NOT NULL CHECK (status IN ('pending', 'accepted', 'completed', 'declined', 'cancelled', 'rejected', 'expired')),
    -- What the service was when asked (shown to the receiver).
    service_label       TEXT NOT NULL DEFAULT '',
    plan_name           TEXT NOT NULL DEFAULT '',
    note                TEXT NOT NULL DEFAULT '',
    requested_by        TEXT NOT NULL DEFAULT '',
    accepted_by         TEXT NOT NULL DEFAULT '',
    -- Who declined, cancelled, rejected or approved, and why.
    decided_by          TEXT NOT NULL DEFAULT '',
    reason              TEXT NOT NULL DEFAULT '',
    -- The settlement, once completed.
    currency            TEXT NOT NULL DEFAULT '',
    prorated            INTEGER NOT NULL DEFAULT 0,
    days_left           INTEGER NOT NULL DEFAULT 0,
    days_in_cycle       INTEGER NOT NULL DEFAULT 0,
    receiver_invoice_id TEXT NOT NULL DEFAULT '',
    expires_at          TIMESTAMP NOT NULL,
    accepted_at         TIMESTAMP,
    completed_at        TIMESTAMP,
    ended_at            TIMESTAMP,
    created_at          TIMESTAMP NOT NULL,
    updated_at          TIMESTAMP NOT NULL,
    CHECK (from_account_id <> to_account_id)
);
-- A service is in at most one open transfer.
CREATE UNIQUE INDEX service_transfers_open_uq ON service_transfers (service_id) WHERE status IN ('pending', 'accepted');
CREATE INDEX service_transfers_from_idx ON service_transfers (from_account_id, id);
CREATE INDEX service_transfers_to_idx ON service_transfers (to_account_id, id);
CREATE INDEX service_transfers_status_idx ON service_transfers (status, id);
CREATE INDEX service_transfers_expiry_idx ON service_transfers (expires_at) WHERE status IN ('pending', 'accepted');
