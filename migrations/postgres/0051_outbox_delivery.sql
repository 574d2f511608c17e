-- Bodies shared by many outbox messages (an announcement rendered once),
-- stored once instead of once per recipient. body_id has no foreign key for
-- the same reason as notifications.event_id: it is set only by the
-- statement that stores the body's messages.
CREATE TABLE outbox_bodies (
    id         text PRIMARY KEY,
    body_text  text NOT NULL,
    body_html  text NOT NULL DEFAULT '',
    created_at timestamptz NOT NULL
);
ALTER TABLE outbox_messages ADD COLUMN body_id text;

-- A delivery attempt leases its message until locked_until, so that two
-- jobs (a batch and a swept retry) never send the same message at once.
ALTER TABLE outbox_messages ADD COLUMN locked_until timestamptz;
