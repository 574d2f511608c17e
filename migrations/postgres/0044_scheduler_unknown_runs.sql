-- A run whose backend action was started but whose outcome nobody can tell
-- (the replica died mid-call and the backend cannot say) ends unknown: it
-- is not repeated, and the customer is told.
ALTER TABLE task_runs DROP CONSTRAINT task_runs_status_check;
ALTER TABLE task_runs ADD CONSTRAINT task_runs_status_check
    CHECK (status IN ('waiting', 'queued', 'running', 'retrying', 'succeeded', 'failed', 'skipped', 'unknown'));
