-- Billing: budget caps. A budget is an account's monthly spending limit
-- with alert thresholds, an optional hard stop and optional rules (expr
-- expressions, core/policy). Spend is counted from the credit ledger.

CREATE TABLE budgets (
    account_id    TEXT PRIMARY KEY REFERENCES accounts (id),
    currency      TEXT NOT NULL,
    monthly_limit INTEGER NOT NULL CHECK (monthly_limit > 0),
    -- JSON array of whole percentages, ascending: [50, 75, 90].
    thresholds    TEXT NOT NULL DEFAULT '[50,75,90]',
    hard_stop     BOOLEAN NOT NULL DEFAULT 0,
    -- The day of the month the budget resets (clamped to short months).
    reset_day     INTEGER NOT NULL CHECK (reset_day BETWEEN 1 AND 31),
    -- Rules: an extra alert, and which services the hard stop suspends
    -- (empty = spend_percent >= 100). Compiled when saved.
    alert_rule    TEXT NOT NULL DEFAULT '',
    stop_rule     TEXT NOT NULL DEFAULT '',
    -- The last failure evaluating a rule (shown to the account), or ''.
    rule_error    TEXT NOT NULL DEFAULT '',
    created_at    TIMESTAMP NOT NULL,
    updated_at    TIMESTAMP NOT NULL
);

-- One row per account and period: what the last check saw, and whether the
-- hard stop fired or was overridden by a payment.
CREATE TABLE budget_periods (
    account_id        TEXT NOT NULL REFERENCES accounts (id),
    period_start      TIMESTAMP NOT NULL,
    period_end        TIMESTAMP NOT NULL,
    spend             INTEGER NOT NULL DEFAULT 0,
    -- The ledger sequence number the last check covered: a check queued for
    -- an older entry has nothing left to do.
    checked_seq       INTEGER NOT NULL DEFAULT 0,
    checked_at        TIMESTAMP NOT NULL,
    stopped_at        TIMESTAMP,
    overridden_at     TIMESTAMP,
    override_entry_id TEXT NOT NULL DEFAULT '',
    override_amount   INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (account_id, period_start)
);

-- Each alert is sent once per period: the primary key makes it so.
-- key: a threshold ("50"), "limit" (100 %), "rule", "stop" or "override".
CREATE TABLE budget_alerts (
    account_id   TEXT NOT NULL REFERENCES accounts (id),
    period_start TIMESTAMP NOT NULL,
    key          TEXT NOT NULL,
    spend        INTEGER NOT NULL,
    percent      INTEGER NOT NULL,
    created_at   TIMESTAMP NOT NULL,
    PRIMARY KEY (account_id, period_start, key)
);

-- Services the hard stop never suspends.
CREATE TABLE budget_exclusions (
    service_id TEXT PRIMARY KEY REFERENCES services (id),
    account_id TEXT NOT NULL REFERENCES accounts (id),
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX budget_exclusions_account_idx ON budget_exclusions (account_id);

-- Spend is summed per account over a period of entries.
CREATE INDEX credit_entries_account_time_idx ON credit_entries (account_id, created_at);
