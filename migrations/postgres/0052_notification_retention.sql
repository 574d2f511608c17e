-- Retention (notifications.retention, notifications.read_retention): the
-- hourly prune job finds notifications by age and by when they were read,
-- and events by age. created_at grows with time, so its index is appended
-- to, not rebalanced, by an announcement to every user.
CREATE INDEX notifications_created_idx ON notifications (created_at);
CREATE INDEX notifications_read_at_idx ON notifications (read_at) WHERE read_at IS NOT NULL;
CREATE INDEX notification_events_created_idx ON notification_events (created_at);
