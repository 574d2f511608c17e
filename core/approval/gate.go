package approval

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/uptrace/bun"

	"github.com/ezscale/platform/core/audit"
	"github.com/ezscale/platform/core/notify"
	"github.com/ezscale/platform/core/policy"
)

// Action is a staff action about to happen, as the gate sees it.
type Action = Env

// Decision is what the policies say about an action.
type Decision struct {
	// Approval is the require_approval policy that holds the action, or
	// nil: the action runs.
	Approval *Policy
	// Alerts are the alert policies that matched (the owners are told when
	// the action runs; see Alert).
	Alerts []*Policy
}

// compiled is one enabled policy ready to evaluate.
type compiled struct {
	policy  Policy
	program *policy.Program[Env, bool]
}

// compiledSet is every enabled policy of one version, by action.
type compiledSet struct {
	version  int64
	byAction map[string][]*compiled
}

// Evaluate decides an action. It reads the policies' version (one
// primary-key read) and recompiles only when it changed. A rule that fails
// on the action's data counts as matching: a high-risk gate fails closed.
func (s *Service) Evaluate(ctx context.Context, a Action) (Decision, error) {
	set, err := s.policies(ctx)
	if err != nil {
		return Decision{}, err
	}
	var d Decision
	for _, c := range set.byAction[a.Action] {
		ok, err := c.program.Eval(a)
		if err != nil {
			ok = true
		}
		if !ok {
			continue
		}
		switch c.policy.Outcome {
		case OutcomeRequireApproval:
			if d.Approval == nil {
				p := c.policy
				d.Approval = &p
			}
		default:
			p := c.policy
			d.Alerts = append(d.Alerts, &p)
		}
	}
	return d, nil
}

func (s *Service) policies(ctx context.Context) (*compiledSet, error) {
	var version int64
	if err := s.db.Read.NewSelect().Model((*policyVersion)(nil)).Column("version").Where("id = 1").Scan(ctx, &version); err != nil {
		return nil, fmt.Errorf("approval: reading policy version: %w", err)
	}
	s.mu.RLock()
	set := s.cache
	s.mu.RUnlock()
	if set != nil && set.version == version {
		return set, nil
	}
	var rows []Policy
	if err := s.db.Read.NewSelect().Model(&rows).Where("enabled").Order("name ASC", "id ASC").Scan(ctx); err != nil {
		return nil, fmt.Errorf("approval: loading policies: %w", err)
	}
	set = &compiledSet{version: version, byAction: map[string][]*compiled{}}
	for _, p := range rows {
		prog, err := Rules.Compile(p.Rule)
		if err != nil {
			// Stored rules were compiled when saved; one that no longer
			// compiles (a newer limit) fails closed: it always matches.
			prog, _ = Rules.Compile("true")
		}
		c := &compiled{policy: p, program: prog}
		for _, a := range p.ActionList() {
			set.byAction[a] = append(set.byAction[a], c)
		}
	}
	s.mu.Lock()
	if s.cache == nil || s.cache.version <= version {
		s.cache = set
	}
	s.mu.Unlock()
	return set, nil
}

// Alert tells the owners (in-app and their channels, and the operators'
// Discord webhook) that an action matching alert policies ran, and audits
// it, in tx: the action's own transaction when it has one.
func (s *Service) Alert(ctx context.Context, tx bun.Tx, a Action, policies []*Policy) error {
	names := make([]string, len(policies))
	for i, p := range policies {
		names[i] = p.Name
	}
	slices.Sort(names)
	data := map[string]any{
		"action": a.Action, "actor_id": a.ActorID, "actor_role": a.ActorRole, "target_type": a.TargetType, "target_id": a.TargetID,
		"policies": strings.Join(names, ", "), "amount": a.Amount, "currency": a.Currency,
		"services_affected": a.ServicesAffected, "customers_affected": a.CustomersAffected,
	}
	if s.notify != nil {
		owners, err := s.staff.StaffIDs(ctx, "owner")
		if err != nil {
			return err
		}
		if len(owners) > 0 {
			if err := s.notify.Notify(ctx, tx, notify.Event{Type: notify.HighRiskAlert, UserIDs: owners, Data: data, Link: "/staff/audit"}); err != nil {
				return err
			}
		}
		if err := s.notify.Notify(ctx, tx, notify.Event{Type: notify.AdminAlert, Data: map[string]any{
			"title":   "High-risk action: " + a.Action,
			"message": fmt.Sprintf("%s (%s) ran %s on %s %s; policies: %s", a.ActorID, a.ActorRole, a.Action, a.TargetType, a.TargetID, strings.Join(names, ", ")),
		}}); err != nil {
			return err
		}
	}
	_, err := audit.Append(ctx, tx, audit.Event{Action: "approval.alert", TargetType: a.TargetType, TargetID: a.TargetID,
		Changes: map[string]any{"action": a.Action, "policies": names}})
	return err
}
