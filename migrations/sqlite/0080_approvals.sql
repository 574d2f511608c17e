-- High-risk staff actions (core/approval owns these tables; no other
-- package reads them): the policies that decide, per action, an alert to
-- the owners or a second staff member's approval, and the approvals that
-- hold a gated request until it is approved, rejected, cancelled or
-- expires.

-- One expr rule (kind high_risk) over the actions it names. actions is a
-- space-separated list of action names (docs/approvals.md lists them).
CREATE TABLE high_risk_policies (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE,
    description TEXT NOT NULL DEFAULT '',
    actions     TEXT NOT NULL,
    rule        TEXT NOT NULL,
    outcome     TEXT NOT NULL CHECK (outcome IN ('alert', 'require_approval')),
    enabled     BOOLEAN NOT NULL,
    created_at  TIMESTAMP NOT NULL,
    updated_at  TIMESTAMP NOT NULL,
    updated_by  TEXT NOT NULL DEFAULT ''
);

-- The policies' version: every change bumps it in the change's
-- transaction, so each replica's compiled cache is checked with one
-- primary-key read per gated request.
CREATE TABLE high_risk_policy_version (
    id      INTEGER PRIMARY KEY CHECK (id = 1),
    version BIGINT NOT NULL
);
INSERT INTO high_risk_policy_version (id, version) VALUES (1, 1);

-- A gated request held for a second staff member. body is sealed with the
-- secrets keyring (it may carry settings); the rest is plain.
CREATE TABLE approvals (
    id               TEXT PRIMARY KEY,
    state            TEXT NOT NULL CHECK (state IN ('pending', 'approved', 'executed', 'failed', 'rejected', 'expired', 'cancelled')),
    action           TEXT NOT NULL,
    policy_id        TEXT NOT NULL,
    policy_name      TEXT NOT NULL,
    summary          TEXT NOT NULL DEFAULT '',
    method           TEXT NOT NULL,
    path             TEXT NOT NULL,
    route            TEXT NOT NULL,
    body             TEXT NOT NULL DEFAULT '',
    content_type     TEXT NOT NULL DEFAULT '',
    idempotency_key  TEXT NOT NULL DEFAULT '',
    requested_by     TEXT NOT NULL REFERENCES users (id),
    requester_role   TEXT NOT NULL,
    token_kind       TEXT NOT NULL,
    token_scopes     TEXT NOT NULL DEFAULT '',
    required_role    TEXT NOT NULL,
    account_id       TEXT NOT NULL DEFAULT '',
    target_type      TEXT NOT NULL DEFAULT '',
    target_id        TEXT NOT NULL DEFAULT '',
    facts            TEXT NOT NULL DEFAULT '{}',
    decided_by       TEXT NOT NULL DEFAULT '',
    decision_reason  TEXT NOT NULL DEFAULT '',
    request_event_id TEXT NOT NULL DEFAULT '',
    decision_event_id TEXT NOT NULL DEFAULT '',
    result_status    INTEGER NOT NULL DEFAULT 0,
    result_body      TEXT NOT NULL DEFAULT '',
    created_at       TIMESTAMP NOT NULL,
    expires_at       TIMESTAMP NOT NULL,
    decided_at       TIMESTAMP,
    finished_at      TIMESTAMP
);
-- The queue: pending first, by age; the expiry sweep.
CREATE INDEX approvals_state_idx ON approvals (state, created_at, id);
CREATE INDEX approvals_pending_expiry_idx ON approvals (expires_at) WHERE state = 'pending';
CREATE INDEX approvals_created_idx ON approvals (created_at, id);
-- A retried gated request (same requester, same Idempotency-Key) finds
-- the approval it already made.
CREATE UNIQUE INDEX approvals_idempotency_idx ON approvals (requested_by, idempotency_key) WHERE idempotency_key <> '';

-- Every change of an approval's state, in order.
CREATE TABLE approval_transitions (
    approval_id TEXT NOT NULL REFERENCES approvals (id),
    seq         INTEGER NOT NULL,
    from_state  TEXT NOT NULL,
    to_state    TEXT NOT NULL,
    actor_id    TEXT NOT NULL DEFAULT '',
    reason      TEXT NOT NULL DEFAULT '',
    at          TIMESTAMP NOT NULL,
    PRIMARY KEY (approval_id, seq)
);

-- The shipped policies: owners edit or disable them.
INSERT INTO high_risk_policies (id, name, description, actions, rule, outcome, enabled, created_at, updated_at) VALUES
 ('hrp_bulk_termination', 'Bulk termination', 'Terminating more than 5 services at once', 'services.terminate', 'services_affected > 5', 'require_approval', 1, '2026-01-01 00:00:00+00:00', '2026-01-01 00:00:00+00:00'),
 ('hrp_user_delete', 'Deleting a user', 'Deleting any user', 'users.delete', 'true', 'require_approval', 1, '2026-01-01 00:00:00+00:00', '2026-01-01 00:00:00+00:00'),
 ('hrp_price_change', 'Wide price change', 'A price change reaching more than 100 customers', 'plans.update', 'customers_affected > 100', 'require_approval', 1, '2026-01-01 00:00:00+00:00', '2026-01-01 00:00:00+00:00'),
 ('hrp_staff_change', 'Staff created or deleted', 'Creating or deleting a staff user', 'staff.create staff.delete', 'true', 'require_approval', 1, '2026-01-01 00:00:00+00:00', '2026-01-01 00:00:00+00:00'),
 ('hrp_gateway_settings', 'Payment gateway settings', 'Changing a payment gateway''s settings', 'gateway.settings', 'true', 'require_approval', 1, '2026-01-01 00:00:00+00:00', '2026-01-01 00:00:00+00:00'),
 ('hrp_large_credit', 'Large credit adjustment', 'A credit adjustment or refund of 500.00 or more', 'credit.adjust credit.refund', 'amount >= 50000 || amount <= -50000', 'alert', 1, '2026-01-01 00:00:00+00:00', '2026-01-01 00:00:00+00:00'),
 ('hrp_2fa_disable', 'Two-factor disabled for another user', 'Turning off another user''s two-factor authentication', 'users.2fa_disable', 'true', 'alert', 1, '2026-01-01 00:00:00+00:00', '2026-01-01 00:00:00+00:00');
