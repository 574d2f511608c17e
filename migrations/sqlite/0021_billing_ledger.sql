-- Billing: the account credit ledger. Entries are append-only (triggers
-- refuse UPDATE and DELETE); a balance is the sum of its entries.
--
-- credit_balances holds each account's running balance. Every posting
-- locks that row (UPDATE … WHERE balance + amount >= 0), which serialises
-- postings per account across replicas, numbers them (seq) and refuses to
-- go negative; the CHECKs are the last line of defence.

CREATE TABLE credit_balances (
    account_id TEXT PRIMARY KEY REFERENCES accounts (id),
    currency   TEXT NOT NULL,
    balance    INTEGER NOT NULL CHECK (balance >= 0),
    last_seq   INTEGER NOT NULL DEFAULT 0,
    updated_at TIMESTAMP NOT NULL
);

CREATE TABLE credit_entries (
    id              TEXT PRIMARY KEY,
    account_id      TEXT NOT NULL REFERENCES accounts (id),
    seq             INTEGER NOT NULL,
    kind            TEXT NOT NULL,
    amount          INTEGER NOT NULL CHECK (amount <> 0),
    currency        TEXT NOT NULL,
    balance_after   INTEGER NOT NULL CHECK (balance_after >= 0),
    invoice_id      TEXT,
    reference       TEXT NOT NULL DEFAULT '',
    idempotency_key TEXT,
    description     TEXT NOT NULL DEFAULT '',
    actor_type      TEXT NOT NULL DEFAULT '',
    actor_id        TEXT NOT NULL DEFAULT '',
    created_at      TIMESTAMP NOT NULL,
    UNIQUE (account_id, seq),
    UNIQUE (account_id, idempotency_key)
);
CREATE INDEX credit_entries_invoice_idx ON credit_entries (invoice_id) WHERE invoice_id IS NOT NULL;

CREATE TRIGGER credit_entries_no_update BEFORE UPDATE ON credit_entries
BEGIN
    SELECT RAISE(ABORT, 'credit_entries is append-only: UPDATE is not allowed');
END;
CREATE TRIGGER credit_entries_no_delete BEFORE DELETE ON credit_entries
BEGIN
    SELECT RAISE(ABORT, 'credit_entries is append-only: DELETE is not allowed');
END;
