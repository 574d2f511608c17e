-- Billing: invoices and their lines.

CREATE TABLE invoices (
    id               text PRIMARY KEY,
    account_id       text NOT NULL REFERENCES accounts (id),
    -- Gap-free, assigned from billing_counters when the invoice is issued.
    number           bigint UNIQUE,
    status           text NOT NULL CHECK (status IN ('draft', 'open', 'paid', 'void', 'uncollectible')),
    reason           text NOT NULL CHECK (reason IN ('order', 'renewal', 'upgrade', 'manual')),
    service_id       text REFERENCES services (id),
    period_start     timestamptz,
    period_end       timestamptz,
    currency         text NOT NULL,
    subtotal         bigint NOT NULL,
    discount         bigint NOT NULL DEFAULT 0,
    tax              bigint NOT NULL DEFAULT 0,
    total            bigint NOT NULL CHECK (total >= 0),
    amount_paid      bigint NOT NULL DEFAULT 0 CHECK (amount_paid >= 0),
    tax_country      text NOT NULL DEFAULT '',
    tax_rate_ppm     integer NOT NULL DEFAULT 0,
    tax_exempt       boolean NOT NULL DEFAULT false,
    memo             text NOT NULL DEFAULT '',
    due_at           timestamptz NOT NULL,
    issued_at        timestamptz,
    paid_at          timestamptz,
    voided_at        timestamptz,
    void_reason      text NOT NULL DEFAULT '',
    charge_attempts  integer NOT NULL DEFAULT 0,
    last_charge_at   timestamptz,
    -- Notices sent by the remind step: the issue notice, then overdue ones.
    notified_at      timestamptz,
    reminders_sent   integer NOT NULL DEFAULT 0,
    last_reminder_at timestamptz,
    created_at       timestamptz NOT NULL,
    updated_at       timestamptz NOT NULL,
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
    id           text PRIMARY KEY,
    invoice_id   text NOT NULL REFERENCES invoices (id),
    position     integer NOT NULL,
    kind         text NOT NULL CHECK (kind IN ('plan', 'addon', 'discount', 'proration', 'custom')),
    description  text NOT NULL,
    service_id   text,
    quantity     integer NOT NULL DEFAULT 1,
    unit_amount  bigint NOT NULL,
    -- quantity × unit_amount; negative for discounts and credits.
    amount       bigint NOT NULL,
    -- Tax of this line, rounded once.
    tax          bigint NOT NULL DEFAULT 0,
    period_start timestamptz,
    period_end   timestamptz,
    UNIQUE (invoice_id, position)
);
