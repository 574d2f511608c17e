-- Billing: invoices and their lines.

CREATE TABLE invoices (
    id               TEXT PRIMARY KEY,
    account_id       TEXT NOT NULL REFERENCES accounts (id),
    -- Gap-free, assigned from billing_counters when the invoice is issued.
    number           INTEGER UNIQUE,
    status           TEXT NOT NULL CHECK (status IN ('draft', 'open', 'paid', 'void', 'uncollectible')),
    reason           TEXT NOT NULL CHECK (reason IN ('order', 'renewal', 'upgrade', 'manual')),
    service_id       TEXT REFERENCES services (id),
    period_start     TIMESTAMP,
    period_end       TIMESTAMP,
    currency         TEXT NOT NULL,
    subtotal         INTEGER NOT NULL,
    discount         INTEGER NOT NULL DEFAULT 0,
    tax              INTEGER NOT NULL DEFAULT 0,
    total            INTEGER NOT NULL CHECK (total >= 0),
    amount_paid      INTEGER NOT NULL DEFAULT 0 CHECK (amount_paid >= 0),
    tax_country      TEXT NOT NULL DEFAULT '',
    tax_rate_ppm     INTEGER NOT NULL DEFAULT 0,
    tax_exempt       BOOLEAN NOT NULL DEFAULT 0,
    memo             TEXT NOT NULL DEFAULT '',
    due_at           TIMESTAMP NOT NULL,
    issued_at        TIMESTAMP,
    paid_at          TIMESTAMP,
    voided_at        TIMESTAMP,
    void_reason      TEXT NOT NULL DEFAULT '',
    charge_attempts  INTEGER NOT NULL DEFAULT 0,
    last_charge_at   TIMESTAMP,
    -- Notices sent by the remind step: the issue notice, then overdue ones.
    notified_at      TIMESTAMP,
    reminders_sent   INTEGER NOT NULL DEFAULT 0,
    last_reminder_at TIMESTAMP,
    created_at       TIMESTAMP NOT NULL,
    updated_at       TIMESTAMP NOT NULL,
    CHECK (amount_paid <= total),
    CHECK (number IS NOT NULL OR status IN ('draft', 'void'))
);
-- The database, not code, forbids duplicates: one invoice per service,
-- period and reason (voided ones included, so a voided period stays so).
CREATE UNIQUE INDEX invoices_service_period_uq ON invoices (service_id, period_start, reason);
CREATE INDEX invoices_account_idx ON invoices (account_id, created_at, id);
CREATE INDEX invoices_open_due_idx ON invoices (due_at, id) WHERE status = 'open';
CREATE INDEX invoices_status_idx ON invoices (status, created_at, id);

CREATE TABLE invoice_lines (
    id           TEXT PRIMARY KEY,
    invoice_id   TEXT NOT NULL REFERENCES invoices (id),
    position     INTEGER NOT NULL,
    kind         TEXT NOT NULL CHECK (kind IN ('plan', 'addon', 'discount', 'proration', 'custom')),
    description  TEXT NOT NULL,
    service_id   TEXT,
    quantity     INTEGER NOT NULL DEFAULT 1,
    unit_amount  INTEGER NOT NULL,
    -- quantity × unit_amount; negative for discounts and credits.
    amount       INTEGER NOT NULL,
    -- Tax of this line, rounded once.
    tax          INTEGER NOT NULL DEFAULT 0,
    period_start TIMESTAMP,
    period_end   TIMESTAMP,
    UNIQUE (invoice_id, position)
);
