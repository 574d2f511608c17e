-- Billing: catalog (plans, add-ons, coupons), tax rates and billing profiles.
-- Money is bigint minor units with a currency code; never a float.

CREATE TABLE plans (
    id                    text PRIMARY KEY,
    slug                  text NOT NULL UNIQUE,
    name                  text NOT NULL,
    description           text NOT NULL DEFAULT '',
    service_type          text NOT NULL CHECK (service_type IN ('vps', 'dedicated', 'hosting', 'game', 'kasm')),
    tier                  text NOT NULL DEFAULT '',
    specs                 text NOT NULL DEFAULT '{}',
    currency              text NOT NULL,
    monthly_price         bigint NOT NULL CHECK (monthly_price >= 0),
    -- Overrides of the derived cycle prices; NULL = derived from monthly.
    quarterly_price       bigint CHECK (quarterly_price >= 0),
    annual_price          bigint CHECK (annual_price >= 0),
    biennial_price        bigint CHECK (biennial_price >= 0),
    cycles                text NOT NULL DEFAULT 'monthly,quarterly,annual,biennial',
    free_tier             boolean NOT NULL DEFAULT false,
    -- How many services of a free plan one account may hold (0 = no limit).
    free_tier_per_account integer NOT NULL DEFAULT 1 CHECK (free_tier_per_account >= 0),
    plugin                text NOT NULL,
    plugin_options        text NOT NULL DEFAULT '{}',
    active                boolean NOT NULL DEFAULT true,
    sort_order            integer NOT NULL DEFAULT 0,
    created_at            timestamptz NOT NULL,
    updated_at            timestamptz NOT NULL,
    CHECK (NOT free_tier OR (monthly_price = 0 AND COALESCE(quarterly_price, 0) = 0
        AND COALESCE(annual_price, 0) = 0 AND COALESCE(biennial_price, 0) = 0))
);
CREATE INDEX plans_listing_idx ON plans (active, sort_order, id);

CREATE TABLE addons (
    id             text PRIMARY KEY,
    slug           text NOT NULL UNIQUE,
    name           text NOT NULL,
    description    text NOT NULL DEFAULT '',
    currency       text NOT NULL,
    monthly_price  bigint NOT NULL CHECK (monthly_price >= 0),
    -- JSON array of plan ids the add-on is offered with; [] = every plan.
    plan_ids       text NOT NULL DEFAULT '[]',
    max_quantity   integer NOT NULL DEFAULT 1 CHECK (max_quantity >= 1),
    plugin_options text NOT NULL DEFAULT '{}',
    active         boolean NOT NULL DEFAULT true,
    created_at     timestamptz NOT NULL,
    updated_at     timestamptz NOT NULL
);

CREATE TABLE coupons (
    id                text PRIMARY KEY,
    code              text NOT NULL UNIQUE,
    description       text NOT NULL DEFAULT '',
    kind              text NOT NULL CHECK (kind IN ('percent', 'fixed')),
    percent_bp        integer NOT NULL DEFAULT 0 CHECK (percent_bp BETWEEN 0 AND 10000),
    amount            bigint NOT NULL DEFAULT 0 CHECK (amount >= 0),
    currency          text NOT NULL DEFAULT '',
    -- Cycles the discount lasts; NULL = every cycle.
    cycles            integer CHECK (cycles >= 1),
    max_uses          integer CHECK (max_uses >= 0),
    uses              integer NOT NULL DEFAULT 0,
    per_account_limit integer CHECK (per_account_limit >= 1),
    plan_ids          text NOT NULL DEFAULT '[]',
    expires_at        timestamptz,
    active            boolean NOT NULL DEFAULT true,
    created_at        timestamptz NOT NULL,
    updated_at        timestamptz NOT NULL,
    -- The last line of defence of max uses: redemption is a conditional
    -- UPDATE (uses < max_uses), and this check refuses anything else.
    CHECK (max_uses IS NULL OR uses <= max_uses)
);

-- Redemptions per account, for per_account_limit (a conditional upsert).
CREATE TABLE coupon_account_uses (
    coupon_id  text NOT NULL REFERENCES coupons (id),
    account_id text NOT NULL REFERENCES accounts (id),
    uses       integer NOT NULL,
    PRIMARY KEY (coupon_id, account_id)
);

CREATE TABLE tax_rates (
    country    text PRIMARY KEY,
    name       text NOT NULL DEFAULT '',
    -- Parts per million: 19 % = 190000, 8.875 % = 88750.
    rate_ppm   integer NOT NULL CHECK (rate_ppm BETWEEN 0 AND 1000000),
    updated_at timestamptz NOT NULL
);

CREATE TABLE billing_profiles (
    account_id                text PRIMARY KEY REFERENCES accounts (id),
    currency                  text NOT NULL,
    country                   text NOT NULL DEFAULT '',
    tax_exempt                boolean NOT NULL DEFAULT false,
    tax_id                    text NOT NULL DEFAULT '',
    gateway                   text NOT NULL DEFAULT '',
    gateway_customer_id       text NOT NULL DEFAULT '',
    default_payment_method_id text,
    created_at                timestamptz NOT NULL,
    updated_at                timestamptz NOT NULL
);

-- Gap-free counters (invoice numbers): a row updated in the issuing
-- transaction, so a rolled-back issue consumes no number.
CREATE TABLE billing_counters (
    name  text PRIMARY KEY,
    value bigint NOT NULL
);
INSERT INTO billing_counters (name, value) VALUES ('invoice', 0);
