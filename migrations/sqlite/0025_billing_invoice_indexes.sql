-- Invoice listings are newest first by id (UUIDv7, so time-ordered) within
-- an account; the status index served no query and cost every insert.
DROP INDEX invoices_status_idx;
DROP INDEX invoices_account_idx;
CREATE INDEX invoices_account_idx ON invoices (account_id, id);
