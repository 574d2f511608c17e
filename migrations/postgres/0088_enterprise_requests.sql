-- Enterprise requests (core/enterprise owns this table; no other package
-- reads it): a customer's request for a sales-led setup, staff's quote and
-- the customer's answer, kept in the account as its documents.

CREATE TABLE enterprise_requests (
    id                text PRIMARY KEY,
    account_id        text NOT NULL REFERENCES accounts (id),
    status            text NOT NULL CHECK (status IN ('submitted', 'quoted', 'accepted', 'declined', 'withdrawn', 'expired')),
    -- The request, as the customer submitted it.
    nodes             integer NOT NULL CHECK (nodes BETWEEN 1 AND 1000),
    load_balancer     boolean NOT NULL DEFAULT false,
    failover          boolean NOT NULL DEFAULT false,
    region            text NOT NULL,
    notes             text NOT NULL DEFAULT '',
    submitted_by      text NOT NULL DEFAULT '',
    -- The quote: staff's terms (a base plan whose provisioner and service
    -- type the custom plan keeps, the monthly price, a one-off setup fee).
    base_plan_id      text REFERENCES plans (id),
    currency          text NOT NULL DEFAULT '',
    monthly_price     bigint NOT NULL DEFAULT 0 CHECK (monthly_price >= 0),
    setup_fee         bigint NOT NULL DEFAULT 0 CHECK (setup_fee >= 0),
    terms             text NOT NULL DEFAULT '',
    quoted_by         text NOT NULL DEFAULT '',
    quoted_at         timestamptz,
    quote_expires_at  timestamptz,
    -- The answer: who accepted or declined, when; on acceptance the custom
    -- plan and the setup fee's invoice.
    answered_by       text NOT NULL DEFAULT '',
    answered_at       timestamptz,
    decline_reason    text NOT NULL DEFAULT '',
    plan_id           text REFERENCES plans (id),
    setup_invoice_id  text NOT NULL DEFAULT '',
    created_at        timestamptz NOT NULL,
    updated_at        timestamptz NOT NULL
);
CREATE INDEX enterprise_requests_account_idx ON enterprise_requests (account_id, id);
CREATE INDEX enterprise_requests_status_idx ON enterprise_requests (status, id);
