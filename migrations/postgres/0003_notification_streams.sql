-- Open live notification streams, one row per stream, so that the cap on
-- streams per user (notifications.stream_max_per_user) holds across
-- replicas. The replica serving a stream renews its rows' lease while it
-- runs; the rows of a replica that died stop counting when the lease ends.
CREATE TABLE notification_streams (
    id         text PRIMARY KEY,
    user_id    text NOT NULL,
    replica    text NOT NULL,
    opened_at  timestamptz NOT NULL,
    expires_at timestamptz NOT NULL
);
CREATE INDEX notification_streams_user_idx ON notification_streams (user_id, expires_at);
CREATE INDEX notification_streams_replica_idx ON notification_streams (replica);
CREATE INDEX notification_streams_expires_idx ON notification_streams (expires_at);
