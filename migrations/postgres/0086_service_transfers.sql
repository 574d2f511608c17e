-- Service transfers between accounts (core/transfers owns this table; no
-- other package reads it). See docs/transfers.md for the states.

CREATE TABLE service_transfers (
    id                  text PRIMARY KEY,
    service_id          text NOT NULL REFERENCES services (id),
    from_account_id     text NOT NULL REFERENCES accounts (id),
    to_account_id       text NOT NULL REFERENCES accounts (id),
    -- The receiver's email as the sender typed it (lower case).
    receiver_email      text NOT NULL,
    status              text NOT NULL CHECK (status IN ('pending', 'accepted', 'completed', 'declined', 'cancelled', 'rejected', 'expired')),
    -- What the service was when asked (shown to the receiver).
    service_label       text NOT NULL DEFAULT '',
    plan_name           text NOT NULL DEFAULT '',
    note                text NOT NULL DEFAULT '',
    requested_by        text NOT NULL DEFAULT '',
    accepted_by         text NOT NULL DEFAULT '',
    -- Who declined, cancelled, rejected or approved, and why.
    decided_by          text NOT NULL DEFAULT '',
    reason              text NOT NULL DEFAULT '',
    -- The settlement, once completed.
    currency            text NOT NULL DEFAULT '',
    prorated            bigint NOT NULL DEFAULT 0,
    days_left           integer NOT NULL DEFAULT 0,
    days_in_cycle       integer NOT NULL DEFAULT 0,
    receiver_invoice_id text NOT NULL DEFAULT '',
    expires_at          timestamptz NOT NULL,
    accepted_at         timestamptz,
    completed_at        timestamptz,
    ended_at            timestamptz,
    created_at          timestamptz NOT NULL,
    updated_at          timestamptz NOT NULL,
    CHECK (from_account_id <> to_account_id)
);
-- A service is in at most one open transfer.
CREATE UNIQUE INDEX service_transfers_open_uq ON service_transfers (service_id) WHERE status IN ('pending', 'accepted');
CREATE INDEX service_transfers_from_idx ON service_transfers (from_account_id, id);
CREATE INDEX service_transfers_to_idx ON service_transfers (to_account_id, id);
CREATE INDEX service_transfers_status_idx ON service_transfers (status, id);
CREATE INDEX service_transfers_expiry_idx ON service_transfers (expires_at) WHERE status IN ('pending', 'accepted');
