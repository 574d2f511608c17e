-- Billing: private plans. A plan with an account is that account's alone
-- (an enterprise quote's custom plan, core/enterprise): left out of the
-- public catalog, and only that account's services may be ordered on it or
-- moved to it. NULL: a public plan.
ALTER TABLE plans ADD COLUMN account_id text REFERENCES accounts (id);
CREATE INDEX plans_account_idx ON plans (account_id) WHERE account_id IS NOT NULL;
