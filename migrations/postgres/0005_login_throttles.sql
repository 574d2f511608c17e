-- Failed logins per address, for the per-account login slowdown: after
-- auth.login_limit failures within auth.login_window, each attempt must wait
-- until next_attempt_at unless it carries the password and a second factor.
CREATE TABLE login_throttles (
    email           text PRIMARY KEY,
    failures        integer NOT NULL DEFAULT 0,
    last_failure_at timestamptz NOT NULL,
    next_attempt_at timestamptz NOT NULL
);
CREATE INDEX login_throttles_last_failure_idx ON login_throttles (last_failure_at);
