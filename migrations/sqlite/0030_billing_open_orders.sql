-- An order counts an account's unpaid orders (billing.max_open_orders):
-- the index holds only open order invoices, so the count reads a few rows
-- whatever the account's history.
CREATE INDEX invoices_open_orders_idx ON invoices (account_id) WHERE status = 'open' AND reason = 'order';
