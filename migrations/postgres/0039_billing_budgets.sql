-- Billing: budget caps. A budget is an account's monthly spending limit
-- with alert thresholds, an optional hard stop and optional rules (expr
-- expressions, core/policy). Spend is counted from the credit ledger.

CREATE TABLE budgets (
    account_id    text PRIMARY KEY REFERENCES accounts (id),
    currency      text NOT NULL,
    monthly_limit bigint NOT NULL CHECK (monthly_limit > 0),
    -- JSON array of whole percentages, ascending: [50, 75, 90].
    thresholds    text NOT NULL DEFAULT '[50,75,90]',
    hard_stop     boolean NOT NULL DEFAULT false,
    -- The day of the month the budget resets (clamped to short months).
    reset_day     integer NOT NULL CHECK (reset_day BETWEEN 1 AND 31),
    -- Rules: an extra alert, and which services the hard stop suspends
    -- (empty = spend_percent >= 100). Compiled when saved.
    alert_rule    text NOT NULL DEFAULT '',
    stop_rule     text NOT NULL DEFAULT '',
    -- The last failure evaluating a rule (shown to the account), or ''.
    rule_error    text NOT NULL DEFAULT '',
    created_at    timestamptz NOT NULL,
    updated_at    timestamptz NOT NULL
);

-- One row per account and period: what the last check saw, and whether the
-- hard stop fired or was overridden by a payment.
CREATE TABLE budget_periods (
    account_id        text NOT NULL REFERENCES accounts (id),
    period_start      timestamptz NOT NULL,
    period_end        timestamptz NOT NULL,
    spend             bigint NOT NULL DEFAULT 0,
    -- The ledger sequence number the last check covered: a check queued for
    -- an older entry has nothing left to do.
    checked_seq       bigint NOT NULL DEFAULT 0,
    checked_at        timestamptz NOT NULL,
    stopped_at        timestamptz,
    overridden_at     timestamptz,
    override_entry_id text NOT NULL DEFAULT '',
    override_amount   bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (account_id, period_start)
);

-- Each alert is sent once per period: the primary key makes it so.
-- key: a threshold ("50"), "limit" (100 %), "rule", "stop" or "override".
CREATE TABLE budget_alerts (
    account_id   text NOT NULL REFERENCES accounts (id),
    period_start timestamptz NOT NULL,
    key          text NOT NULL,
    spend        bigint NOT NULL,
    percent      bigint NOT NULL,
    created_at   timestamptz NOT NULL,
    PRIMARY KEY (account_id, period_start, key)
);

-- Services the hard stop never suspends.
CREATE TABLE budget_exclusions (
    service_id text PRIMARY KEY REFERENCES services (id),
    account_id text NOT NULL REFERENCES accounts (id),
    created_at timestamptz NOT NULL
);
CREATE INDEX budget_exclusions_account_idx ON budget_exclusions (account_id);

-- Spend is summed per account over a period of entries.
CREATE INDEX credit_entries_account_time_idx ON credit_entries (account_id, created_at);
