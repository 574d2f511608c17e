-- Billing: the account credit ledger. Entries are append-only (triggers
-- refuse UPDATE, DELETE and TRUNCATE); a balance is the sum of its entries.
--
-- credit_balances holds each account's running balance. Every posting
-- locks that row (UPDATE … WHERE balance + amount >= 0), which serialises
-- postings per account across replicas, numbers them (seq) and refuses to
-- go negative; the CHECKs are the last line of defence.

CREATE TABLE credit_balances (
    account_id text PRIMARY KEY REFERENCES accounts (id),
    currency   text NOT NULL,
    balance    bigint NOT NULL CHECK (balance >= 0),
    last_seq   bigint NOT NULL DEFAULT 0,
    updated_at timestamptz NOT NULL
);

CREATE TABLE credit_entries (
    id              text PRIMARY KEY,
    account_id      text NOT NULL REFERENCES accounts (id),
    seq             bigint NOT NULL,
    kind            text NOT NULL,
    amount          bigint NOT NULL CHECK (amount <> 0),
    currency        text NOT NULL,
    balance_after   bigint NOT NULL CHECK (balance_after >= 0),
    invoice_id      text,
    reference       text NOT NULL DEFAULT '',
    idempotency_key text,
    description     text NOT NULL DEFAULT '',
    actor_type      text NOT NULL DEFAULT '',
    actor_id        text NOT NULL DEFAULT '',
    created_at      timestamptz NOT NULL,
    UNIQUE (account_id, seq),
    UNIQUE (account_id, idempotency_key)
);
CREATE INDEX credit_entries_invoice_idx ON credit_entries (invoice_id) WHERE invoice_id IS NOT NULL;

CREATE FUNCTION credit_entries_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'credit_entries is append-only: % is not allowed', TG_OP;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER credit_entries_no_update BEFORE UPDATE OR DELETE ON credit_entries
    FOR EACH ROW EXECUTE FUNCTION credit_entries_append_only();
CREATE TRIGGER credit_entries_no_truncate BEFORE TRUNCATE ON credit_entries
    FOR EACH STATEMENT EXECUTE FUNCTION credit_entries_append_only();
