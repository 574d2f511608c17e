-- Open live notification streams, one row per stream, so that the cap on
-- streams per user (notifications.stream_max_per_user) holds across
-- replicas. The replica serving a stream renews its rows' lease while it
-- runs; the rows of a replica that died stop counting when the lease ends.
CREATE TABLE notification_streams (
    id         TEXT PRIMARY KEY,
    user_id    TEXT NOT NULL,
    replica    TEXT NOT NULL,
    opened_at  TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL
);
CREATE INDEX notification_streams_user_idx ON notification_streams (user_id, expires_at);
CREATE INDEX notification_streams_replica_idx ON notification_streams (replica);
CREATE INDEX notification_streams_expires_idx ON notification_streams (expires_at);
