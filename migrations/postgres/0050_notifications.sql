-- Notification center: in-app notifications, per-user preferences and
-- settings, event keys (notify once), unsubscribe signing key, and the
-- change feed that live streams poll.

-- One row per notified event: what its recipients' notifications show,
-- stored once however many recipients there are.
CREATE TABLE notification_events (
    id         text PRIMARY KEY,
    account_id text REFERENCES accounts (id),
    type       text NOT NULL,
    category   text NOT NULL CHECK (category IN ('billing', 'support', 'system', 'services')),
    title      text NOT NULL,
    message    text NOT NULL,
    link       text NOT NULL DEFAULT '',
    data       text NOT NULL DEFAULT '{}',
    created_at timestamptz NOT NULL
);

-- One row per recipient: the read state. Rows are written only by
-- INSERT … SELECT from users and the event in the same transaction, so
-- user_id and event_id carry no foreign keys: a key check per row would
-- double the cost of an announcement to every user.
-- seq orders a user's notifications; txid (the inserting transaction) lets
-- every replica's stream poller read rows in commit-safe order: it only
-- reads rows of transactions older than the oldest still running.
CREATE TABLE notifications (
    id         text PRIMARY KEY,
    seq        bigint GENERATED ALWAYS AS IDENTITY,
    user_id    text NOT NULL,
    event_id   text NOT NULL,
    category   text NOT NULL,
    read_at    timestamptz,
    created_at timestamptz NOT NULL,
    txid       bigint NOT NULL DEFAULT (pg_current_xact_id()::text::bigint)
);
CREATE INDEX notifications_user_idx ON notifications (user_id, seq);
CREATE INDEX notifications_unread_idx ON notifications (user_id, category) WHERE read_at IS NULL;
CREATE INDEX notifications_feed_idx ON notifications (txid, seq);

-- Read-state changes, so that every replica's streams update the unread
-- count; pruned after a day.
CREATE TABLE notification_signals (
    seq        bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id    text NOT NULL,
    created_at timestamptz NOT NULL,
    txid       bigint NOT NULL DEFAULT (pg_current_xact_id()::text::bigint)
);
CREATE INDEX notification_signals_feed_idx ON notification_signals (txid, seq);

-- Only the choices users made; the defaults live in code.
CREATE TABLE notification_preferences (
    user_id    text NOT NULL REFERENCES users (id),
    type       text NOT NULL,
    channel    text NOT NULL CHECK (channel IN ('in_app', 'email', 'discord')),
    enabled    boolean NOT NULL,
    updated_at timestamptz NOT NULL,
    PRIMARY KEY (user_id, type, channel)
);

CREATE TABLE notification_settings (
    user_id             text PRIMARY KEY REFERENCES users (id),
    discord_webhook_url text NOT NULL DEFAULT '',
    updated_at          timestamptz NOT NULL
);

-- Event.Key: an event with a key already here is not notified again.
CREATE TABLE notification_keys (
    key        text PRIMARY KEY,
    created_at timestamptz NOT NULL
);

-- Signing keys generated on first use (unsubscribe tokens), shared by
-- every replica.
CREATE TABLE notification_secrets (
    name       text PRIMARY KEY,
    value      text NOT NULL,
    created_at timestamptz NOT NULL
);

-- Discord community: a user's linked Discord account and signup invite.
CREATE TABLE discord_links (
    user_id         text PRIMARY KEY REFERENCES users (id),
    discord_user_id text NOT NULL UNIQUE,
    display_name    text NOT NULL DEFAULT '',
    roles           text NOT NULL DEFAULT '',
    synced_at       timestamptz,
    linked_at       timestamptz NOT NULL
);

CREATE TABLE discord_invites (
    user_id    text PRIMARY KEY REFERENCES users (id),
    account_id text REFERENCES accounts (id),
    code       text NOT NULL,
    url        text NOT NULL,
    expires_at timestamptz NOT NULL,
    created_at timestamptz NOT NULL
);
