-- Pending Discord role syncs (core/notify). A user is listed when the
-- community roles they hold may have changed: a service of one of their
-- accounts changed status, they linked their Discord account, or the
-- periodic resync came round. Each request also queues a sync job; the job
-- claims the row (DELETE ... RETURNING) before it reads the user's
-- holdings, so a change that commits after the claim leaves a new row for
-- its own job, and none is lost to a job that was already running. (The
-- number is outside 0050-0059 because it was the one free; the table
-- depends only on users.)
CREATE TABLE discord_role_requests (
    user_id      TEXT PRIMARY KEY REFERENCES users (id),
    requested_at TIMESTAMP NOT NULL
);
