package approval

import (
	"github.com/ezscale/platform/core/policy"
)

// Env is what high_risk rules see: the action about to happen and the
// counts the core computes for it.
type Env struct {
	Action     string `expr:"action" json:"action" doc:"the action's name, e.g. credit.adjust (docs/approvals.md lists them)"`
	ActorID    string `expr:"actor_id" json:"actor_id" doc:"the staff user acting"`
	ActorRole  string `expr:"actor_role" json:"actor_role" doc:"their staff role: support, admin or owner"`
	TargetType string `expr:"target_type" json:"target_type" doc:"what the action changes: account, service, plan, user, invoice, plugin…"`
	TargetID   string `expr:"target_id" json:"target_id" doc:"its id"`
	// Changes holds the request's top-level fields as text (bounded).
	Changes           map[string]string `expr:"changes" json:"changes" doc:"the request's fields, as text (numbers in minor units)"`
	ServicesAffected  int64             `expr:"services_affected" json:"services_affected" doc:"services the action changes"`
	CustomersAffected int64             `expr:"customers_affected" json:"customers_affected" doc:"customer accounts the action reaches"`
	Amount            int64             `expr:"amount" json:"amount" doc:"money moved, in minor units (signed for adjustments)"`
	Currency          string            `expr:"currency" json:"currency" doc:"ISO 4217 currency of amount, when known"`
}

// maxChanges bounds Env.Changes (fields and text length).
const (
	maxChanges     = 64
	maxChangeValue = 1024
)

// Rules is the "high_risk" rule kind.
var Rules = policy.Register[Env, bool](policy.KindHighRisk,
	"High-risk staff actions: a policy whose rule holds for the action about to happen either alerts the owners "+
		"or holds the request for a second staff member's approval (docs/approvals.md).",
	policy.WithLimits(policy.Limits{MaxMapLen: maxChanges, MaxStringLen: maxChangeValue}))
