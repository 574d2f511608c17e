// Package approval is the one gate of high-risk staff actions: policies
// (expr rules of the kind high_risk) decide, per action about to happen,
// nothing, an alert to the owners, or a second staff member's approval.
//
// It owns the high_risk_policies, high_risk_policy_version, approvals and
// approval_transitions tables; no other package reads them.
//
// The HTTP layer calls Evaluate for every gated route after authorization
// and before Idempotency-Key storage (core/httpapi, Route.HighRisk). When
// the outcome is ApprovalRequired the request is not executed: Hold stores
// it (method, path, sealed body, the actor and their role) as a pending
// approval. A different staff member with at least the route's role
// approves it (Approve moves it from pending to approved with a conditional
// update, so two approvers racing get one execution) and the HTTP layer
// executes the held request as the original actor, then records the
// outcome with Finish; or rejects it (Reject), or the requester cancels it
// (Cancel), or it expires after Options.TTL (the approval_expire job).
//
// States:
//
//	pending ──approve──▶ approved ──finish──▶ executed | failed
//	   │
//	   ├──reject──▶ rejected
//	   ├──cancel──▶ cancelled
//	   └──expire──▶ expired
//
// Every transition writes an audit event in its transaction; the executed
// action's own audit events carry approval_id, approval_event_id and
// approved_by (audit.Meta.Approval).
//
// Evaluate costs one primary-key read when the policies have not changed
// since this process compiled them (high_risk_policy_version), whatever
// their number; a change bumps the version in its transaction.
package approval
