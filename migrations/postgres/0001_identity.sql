-- Identity: users (logins) are separate from accounts (the billing entity).
CREATE TABLE users (
    id                text PRIMARY KEY,
    email             text NOT NULL UNIQUE,
    password_hash     text NOT NULL,
    email_verified_at timestamptz,
    totp_secret       text,
    totp_enabled      boolean NOT NULL DEFAULT false,
    totp_last_step    bigint NOT NULL DEFAULT 0,
    staff_role        text CHECK (staff_role IN ('support', 'admin', 'owner')),
    disabled_at       timestamptz,
    created_at        timestamptz NOT NULL,
    updated_at        timestamptz NOT NULL
);

CREATE TABLE accounts (
    id         text PRIMARY KEY,
    name       text NOT NULL,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL
);

CREATE TABLE memberships (
    account_id text NOT NULL REFERENCES accounts (id),
    user_id    text NOT NULL REFERENCES users (id),
    role       text NOT NULL CHECK (role IN ('owner', 'admin', 'billing', 'technical', 'read_only')),
    created_at timestamptz NOT NULL,
    PRIMARY KEY (account_id, user_id)
);
CREATE INDEX memberships_user_idx ON memberships (user_id);

-- Session and personal API tokens; only the SHA-256 of a token is stored.
CREATE TABLE api_tokens (
    id           text PRIMARY KEY,
    user_id      text NOT NULL REFERENCES users (id),
    kind         text NOT NULL CHECK (kind IN ('session', 'personal')),
    name         text NOT NULL DEFAULT '',
    token_hash   text NOT NULL UNIQUE,
    prefix       text NOT NULL,
    scopes       text NOT NULL DEFAULT '',
    created_at   timestamptz NOT NULL,
    last_used_at timestamptz,
    expires_at   timestamptz,
    revoked_at   timestamptz,
    ip           text NOT NULL DEFAULT '',
    user_agent   text NOT NULL DEFAULT ''
);
CREATE INDEX api_tokens_user_idx ON api_tokens (user_id, kind);

CREATE TABLE recovery_codes (
    id        text PRIMARY KEY,
    user_id   text NOT NULL REFERENCES users (id),
    code_hash text NOT NULL,
    used_at   timestamptz
);
CREATE INDEX recovery_codes_user_idx ON recovery_codes (user_id);

-- Single-use links: email verification and password reset.
CREATE TABLE one_time_tokens (
    id         text PRIMARY KEY,
    user_id    text NOT NULL REFERENCES users (id),
    purpose    text NOT NULL CHECK (purpose IN ('verify_email', 'reset_password')),
    token_hash text NOT NULL UNIQUE,
    created_at timestamptz NOT NULL,
    expires_at timestamptz NOT NULL,
    used_at    timestamptz
);
CREATE INDEX one_time_tokens_user_idx ON one_time_tokens (user_id, purpose);

-- Messages waiting for a notifier plugin to deliver them.
CREATE TABLE outbox_messages (
    id          text PRIMARY KEY,
    user_id     text REFERENCES users (id),
    channel     text NOT NULL,
    recipient   text NOT NULL,
    template    text NOT NULL,
    category    text NOT NULL,
    subject     text NOT NULL,
    body_text   text NOT NULL,
    body_html   text NOT NULL DEFAULT '',
    status      text NOT NULL CHECK (status IN ('pending', 'sent', 'failed')),
    attempts    integer NOT NULL DEFAULT 0,
    last_error  text NOT NULL DEFAULT '',
    created_at  timestamptz NOT NULL,
    sent_at     timestamptz
);
CREATE INDEX outbox_messages_pending_idx ON outbox_messages (status, created_at);

-- Fixed-window counters shared by every replica.
CREATE TABLE rate_limits (
    bucket       text NOT NULL,
    window_start bigint NOT NULL,
    count        integer NOT NULL,
    PRIMARY KEY (bucket, window_start)
);

-- Idempotency-Key records, scoped to the caller's account (or user).
CREATE TABLE idempotency_keys (
    scope          text NOT NULL,
    key            text NOT NULL,
    method         text NOT NULL,
    path           text NOT NULL,
    request_hash   text NOT NULL,
    status         integer,
    content_type   text NOT NULL DEFAULT '',
    response_body  bytea,
    created_at     timestamptz NOT NULL,
    expires_at     timestamptz NOT NULL,
    PRIMARY KEY (scope, key)
);
CREATE INDEX idempotency_keys_expires_idx ON idempotency_keys (expires_at);
