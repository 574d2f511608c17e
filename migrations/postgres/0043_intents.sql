-- Backend actions (core/intent): the record that an action with an
-- idempotency key was started, written and committed before the plugin is
-- called, and its outcome, written after. A retry that finds an action
-- started without an outcome reconciles it with the backend or records it
-- unknown; it never calls again blindly.
CREATE TABLE intents (
    -- The idempotency key sent with the call (a task run's, a service's).
    idem_key    text PRIMARY KEY,
    -- The action type (power_restart, backup, run_script, create, …): its
    -- row in intent's policy table says whether it may be repeated.
    action      text NOT NULL,
    plugin      text NOT NULL,
    service_id  text NOT NULL,
    -- What asked for it: task_run:ID, service:ID.
    subject     text NOT NULL DEFAULT '',
    -- started: called, no outcome yet; not_done: the call was refused
    -- before anything happened (it may start again with the same key);
    -- succeeded, failed: the backend's answer; unknown: nobody can tell.
    state       text NOT NULL CHECK (state IN ('started', 'not_done', 'succeeded', 'failed', 'unknown')),
    -- How many times it was started (again after not_done, or repeated
    -- where the policy says that is safe).
    starts      integer NOT NULL DEFAULT 1,
    started_at  timestamptz NOT NULL,
    finished_at timestamptz,
    -- The outcome's summary, or how it was reconciled.
    detail      text NOT NULL DEFAULT ''
);
CREATE INDEX intents_open_idx ON intents (started_at) WHERE state = 'started';
CREATE INDEX intents_finished_idx ON intents (finished_at) WHERE finished_at IS NOT NULL;
