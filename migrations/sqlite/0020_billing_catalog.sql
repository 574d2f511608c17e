-- Billing: catalog (plans, add-ons, coupons), tax rates and billing profiles.
-- Money is bigint minor units with a currency code; never a float.

CREATE TABLE plans (
    id                    TEXT PRIMARY KEY,
    slug                  TEXT NOT NULL UNIQUE,
    name                  TEXT NOT NULL,
    description           TEXT NOT NULL DEFAULT '',
    service_type          TEXT NOT NULL CHECK (service_type IN ('vps', 'dedicated', 'hosting', 'game', 'kasm')),
    tier                  TEXT NOT NULL DEFAULT '',
    specs                 TEXT NOT NULL DEFAULT '{}',
    currency              TEXT NOT NULL,
    monthly_price         INTEGER NOT NULL CHECK (monthly_price >= 0),
    -- Overrides of the derived cycle prices; NULL = derived from monthly.
    quarterly_price       INTEGER CHECK (quarterly_price >= 0),
    annual_price          INTEGER CHECK (annual_price >= 0),
    biennial_price        INTEGER CHECK (biennial_price >= 0),
    cycles                TEXT NOT NULL DEFAULT 'monthly,quarterly,annual,biennial',
    free_tier             BOOLEAN NOT NULL DEFAULT 0,
    -- How many services of a free plan one account may hold (0 = no limit).
    free_tier_per_account INTEGER NOT NULL DEFAULT 1 CHECK (free_tier_per_account >= 0),
    plugin                TEXT NOT NULL,
    plugin_options        TEXT NOT NULL DEFAULT '{}',
    active                BOOLEAN NOT NULL DEFAULT 1,
    sort_order            INTEGER NOT NULL DEFAULT 0,
    created_at            TIMESTAMP NOT NULL,
    updated_at            TIMESTAMP NOT NULL,
    CHECK (NOT free_tier OR (monthly_price = 0 AND COALESCE(quarterly_price, 0) = 0
        AND COALESCE(annual_price, 0) = 0 AND COALESCE(biennial_price, 0) = 0))
);
CREATE INDEX plans_listing_idx ON plans (active, sort_order, id);

CREATE TABLE addons (
    id             TEXT PRIMARY KEY,
    slug           TEXT NOT NULL UNIQUE,
    name           TEXT NOT NULL,
    description    TEXT NOT NULL DEFAULT '',
    currency       TEXT NOT NULL,
    monthly_price  INTEGER NOT NULL CHECK (monthly_price >= 0),
    -- JSON array of plan ids the add-on is offered with; [] = every plan.
    plan_ids       TEXT NOT NULL DEFAULT '[]',
    max_quantity   INTEGER NOT NULL DEFAULT 1 CHECK (max_quantity >= 1),
    plugin_options TEXT NOT NULL DEFAULT '{}',
    active         BOOLEAN NOT NULL DEFAULT 1,
    created_at     TIMESTAMP NOT NULL,
    updated_at     TIMESTAMP NOT NULL
);

CREATE TABLE coupons (
    id                TEXT PRIMARY KEY,
    code              TEXT NOT NULL UNIQUE,
    description       TEXT NOT NULL DEFAULT '',
    kind              TEXT NOT NULL CHECK (kind IN ('percent', 'fixed')),
    percent_bp        INTEGER NOT NULL DEFAULT 0 CHECK (percent_bp BETWEEN 0 AND 10000),
    amount            INTEGER NOT NULL DEFAULT 0 CHECK (amount >= 0),
    currency          TEXT NOT NULL DEFAULT '',
    -- Cycles the discount lasts; NULL = every cycle.
    cycles            INTEGER CHECK (cycles >= 1),
    max_uses          INTEGER CHECK (max_uses >= 0),
    uses              INTEGER NOT NULL DEFAULT 0,
    per_account_limit INTEGER CHECK (per_account_limit >= 1),
    plan_ids          TEXT NOT NULL DEFAULT '[]',
    expires_at        TIMESTAMP,
    active            BOOLEAN NOT NULL DEFAULT 1,
    created_at        TIMESTAMP NOT NULL,
    updated_at        TIMESTAMP NOT NULL,
    -- The last line of defence of max uses: redemption is a conditional
    -- UPDATE (uses < max_uses), and this check refuses anything else.
    CHECK (max_uses IS NULL OR uses <= max_uses)
);

-- Redemptions per account, for per_account_limit (a conditional upsert).
CREATE TABLE coupon_account_uses (
    coupon_id  TEXT NOT NULL REFERENCES coupons (id),
    account_id TEXT NOT NULL REFERENCES accounts (id),
    uses       INTEGER NOT NULL,
    PRIMARY KEY (coupon_id, account_id)
);

CREATE TABLE tax_rates (
    country    TEXT PRIMARY KEY,
    name       TEXT NOT NULL DEFAULT '',
    -- Parts per million: 19 % = 190000, 8.875 % = 88750.
    rate_ppm   INTEGER NOT NULL CHECK (rate_ppm BETWEEN 0 AND 1000000),
    updated_at TIMESTAMP NOT NULL
);

CREATE TABLE billing_profiles (
    account_id                TEXT PRIMARY KEY REFERENCES accounts (id),
    currency                  TEXT NOT NULL,
    country                   TEXT NOT NULL DEFAULT '',
    tax_exempt                BOOLEAN NOT NULL DEFAULT 0,
    tax_id                    TEXT NOT NULL DEFAULT '',
    gateway                   TEXT NOT NULL DEFAULT '',
    gateway_customer_id       TEXT NOT NULL DEFAULT '',
    default_payment_method_id TEXT,
    created_at                TIMESTAMP NOT NULL,
    updated_at                TIMESTAMP NOT NULL
);

-- Gap-free counters (invoice numbers): a row updated in the issuing
-- transaction, so a rolled-back issue consumes no number.
CREATE TABLE billing_counters (
    name  TEXT PRIMARY KEY,
    value INTEGER NOT NULL
);
INSERT INTO billing_counters (name, value) VALUES ('invoice', 0);
