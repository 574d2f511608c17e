-- Enterprise requests (core/enterprise owns this table; no other package
-- reads it): a customer's request for a sales-led setup, staff's quote and
-- the customer's answer, kept in the account as its documents.

CREATE TABLE enterprise_requests (
    id                TEXT PRIMARY KEY,
    account_id        TEXT NOT NULL REFERENCES accounts (id),
    status            TEXT NOT NULL CHECK (status IN ('submitted', 'quoted', 'accepted', 'declined', 'withdrawn', 'expired')),
    -- The request, as the customer submitted it.
    nodes             INTEGER NOT NULL CHECK (nodes BETWEEN 1 AND 1000),
    load_balancer     BOOLEAN NOT NULL DEFAULT 0,
    failover          BOOLEAN NOT NULL DEFAULT 0,
    region            TEXT NOT NULL,
    notes             TEXT NOT NULL DEFAULT '',
    submitted_by      TEXT NOT NULL DEFAULT '',
    -- The quote: staff's terms (a base plan whose provisioner and service
    -- type the custom plan keeps, the monthly price, a one-off setup fee).
    base_plan_id      TEXT REFERENCES plans (id),
    currency          TEXT NOT NULL DEFAULT '',
    monthly_price     INTEGER NOT NULL DEFAULT 0 CHECK (monthly_price >= 0),
    setup_fee         INTEGER NOT NULL DEFAULT 0 CHECK (setup_fee >= 0),
    terms             TEXT NOT NULL DEFAULT '',
    quoted_by         TEXT NOT NULL DEFAULT '',
    quoted_at         TIMESTAMP,
    quote_expires_at  TIMESTAMP,
    -- The answer: who accepted or declined, when; on acceptance the custom
    -- plan and the setup fee's invoice.
    answered_by       TEXT NOT NULL DEFAULT '',
    answered_at       TIMESTAMP,
    decline_reason    TEXT NOT NULL DEFAULT '',
    plan_id           TEXT REFERENCES plans (id),
    setup_invoice_id  TEXT NOT NULL DEFAULT '',
    created_at        TIMESTAMP NOT NULL,
    updated_at        TIMESTAMP NOT NULL
);
CREATE INDEX enterprise_requests_account_idx ON enterprise_requests (account_id, id);
CREATE INDEX enterprise_requests_status_idx ON enterprise_requests (status, id);
