-- Provisioning: the free tier. A free-tier service is a development
-- sandbox: one live per account (the partial unique index below is the
-- rule, whatever the plans' free_tier_per_account says), terminated after
-- a period without activity, with a warning first.

ALTER TABLE services ADD COLUMN environment text NOT NULL DEFAULT 'production';

CREATE TABLE free_tier_services (
    service_id       text PRIMARY KEY REFERENCES services (id),
    account_id       text NOT NULL REFERENCES accounts (id),
    plan_id          text NOT NULL REFERENCES plans (id),
    -- The customer's last use of the service (API calls on it, power
    -- actions, SSO logins); the inactivity clock starts here.
    last_activity_at TIMESTAMP NOT NULL,
    -- The inactivity warning for the current idle stretch: a warning older
    -- than last_activity_at no longer counts.
    warned_at        TIMESTAMP,
    -- Set when the service ended (terminated, cancelled, failed); an ended
    -- row no longer holds the account's free slot.
    ended_at         TIMESTAMP,
    end_reason       text NOT NULL DEFAULT '',
    created_at       TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX free_tier_services_one_per_account ON free_tier_services (account_id) WHERE ended_at IS NULL;
CREATE INDEX free_tier_services_idle_idx ON free_tier_services (last_activity_at) WHERE ended_at IS NULL;
