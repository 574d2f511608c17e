-- Notification center: in-app notifications, per-user preferences and
-- settings, event keys (notify once), unsubscribe signing key, and the
-- change feed that live streams poll.

-- One row per notified event: what its recipients' notifications show,
-- stored once however many recipients there are.
CREATE TABLE notification_events (
    id         TEXT PRIMARY KEY,
    account_id TEXT REFERENCES accounts (id),
    type       TEXT NOT NULL,
    category   TEXT NOT NULL CHECK (category IN ('billing', 'support', 'system', 'services')),
    title      TEXT NOT NULL,
    message    TEXT NOT NULL,
    link       TEXT NOT NULL DEFAULT '',
    data       TEXT NOT NULL DEFAULT '{}',
    created_at TIMESTAMP NOT NULL
);

-- One row per recipient: the read state. Rows are written only by
-- INSERT … SELECT from users and the event in the same transaction, so
-- user_id and event_id carry no foreign keys (as on PostgreSQL, where a key
-- check per row would double the cost of an announcement to every user).
-- seq orders a user's notifications and is the stream pollers' cursor:
-- SQLite has one writer, so rows commit in seq order.
CREATE TABLE notifications (
    seq        INTEGER PRIMARY KEY AUTOINCREMENT,
    id         TEXT NOT NULL UNIQUE,
    user_id    TEXT NOT NULL,
    event_id   TEXT NOT NULL,
    category   TEXT NOT NULL,
    read_at    TIMESTAMP,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX notifications_user_idx ON notifications (user_id, seq);
CREATE INDEX notifications_unread_idx ON notifications (user_id, category) WHERE read_at IS NULL;

-- Read-state changes, so that every replica's streams update the unread
-- count; pruned after a day.
CREATE TABLE notification_signals (
    seq        INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id    TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL
);

-- Only the choices users made; the defaults live in code.
CREATE TABLE notification_preferences (
    user_id    TEXT NOT NULL REFERENCES users (id),
    type       TEXT NOT NULL,
    channel    TEXT NOT NULL CHECK (channel IN ('in_app', 'email', 'discord')),
    enabled    BOOLEAN NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    PRIMARY KEY (user_id, type, channel)
);

CREATE TABLE notification_settings (
    user_id             TEXT PRIMARY KEY REFERENCES users (id),
    discord_webhook_url TEXT NOT NULL DEFAULT '',
    updated_at          TIMESTAMP NOT NULL
);

-- Event.Key: an event with a key already here is not notified again.
CREATE TABLE notification_keys (
    key        TEXT PRIMARY KEY,
    created_at TIMESTAMP NOT NULL
);

-- Signing keys generated on first use (unsubscribe tokens), shared by
-- every replica.
CREATE TABLE notification_secrets (
    name       TEXT PRIMARY KEY,
    value      TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL
);

-- Discord community: a user's linked Discord account and signup invite.
CREATE TABLE discord_links (
    user_id         TEXT PRIMARY KEY REFERENCES users (id),
    discord_user_id TEXT NOT NULL UNIQUE,
    display_name    TEXT NOT NULL DEFAULT '',
    roles           TEXT NOT NULL DEFAULT '',
    synced_at       TIMESTAMP,
    linked_at       TIMESTAMP NOT NULL
);

CREATE TABLE discord_invites (
    user_id    TEXT PRIMARY KEY REFERENCES users (id),
    account_id TEXT REFERENCES accounts (id),
    code       TEXT NOT NULL,
    url        TEXT NOT NULL,
    expires_at TIMESTAMP NOT NULL,
    created_at TIMESTAMP NOT NULL
);
