package approval

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
	"github.com/uptrace/bun"

	"github.com/ezscale/platform/core/apperr"
	"github.com/ezscale/platform/core/audit"
	"github.com/ezscale/platform/core/database"
	"github.com/ezscale/platform/core/policy"
)

// Outcomes of a policy.
const (
	OutcomeAlert           = "alert"
	OutcomeRequireApproval = "require_approval"
)

// Policy is one stored high_risk rule.
type Policy struct {
	bun.BaseModel `bun:"table:high_risk_policies"`

	ID          string    `bun:"id,pk" json:"id"`
	Name        string    `bun:"name" json:"name"`
	Description string    `bun:"description" json:"description"`
	Actions     string    `bun:"actions" json:"-"`
	Rule        string    `bun:"rule" json:"rule"`
	Outcome     string    `bun:"outcome" json:"outcome"`
	Enabled     bool      `bun:"enabled" json:"enabled"`
	CreatedAt   time.Time `bun:"created_at" json:"created_at"`
	UpdatedAt   time.Time `bun:"updated_at" json:"updated_at"`
	UpdatedBy   string    `bun:"updated_by" json:"updated_by"`
}

// ActionList returns the actions the policy applies to.
func (p *Policy) ActionList() []string { return strings.Fields(p.Actions) }

// PolicyInput creates a policy or, with nil fields left alone, changes one.
type PolicyInput struct {
	Name        *string   `json:"name"`
	Description *string   `json:"description"`
	Actions     *[]string `json:"actions"`
	Rule        *string   `json:"rule"`
	Outcome     *string   `json:"outcome"`
	Enabled     *bool     `json:"enabled"`
}

type policyVersion struct {
	bun.BaseModel `bun:"table:high_risk_policy_version"`

	ID      int   `bun:"id,pk"`
	Version int64 `bun:"version"`
}

var actionName = regexp.MustCompile(`^[a-z][a-z0-9_]*(\.[a-z0-9_]+)+$`)

// validate checks in (all fields required when create) and returns 400 for
// shapes, 422 with the rule's position for a rule that does not compile.
func (in *PolicyInput) validate(create bool) error {
	var errs apperr.Fields
	if in.Name != nil || create {
		if in.Name == nil || strings.TrimSpace(*in.Name) == "" || utf8.RuneCountInString(*in.Name) > 100 {
			errs.Add("name", "must be 1 to 100 characters")
		}
	}
	if in.Description != nil && utf8.RuneCountInString(*in.Description) > 500 {
		errs.Add("description", "must be at most 500 characters")
	}
	if in.Actions != nil || create {
		if in.Actions == nil || len(*in.Actions) == 0 || len(*in.Actions) > 50 {
			errs.Add("actions", "must list 1 to 50 action names")
		} else {
			for _, a := range *in.Actions {
				if !actionName.MatchString(a) || len(a) > 100 {
					errs.Add("actions", "%q is not an action name (such as credit.adjust)", a)
					break
				}
			}
		}
	}
	if in.Outcome != nil || create {
		if in.Outcome == nil || (*in.Outcome != OutcomeAlert && *in.Outcome != OutcomeRequireApproval) {
			errs.Add("outcome", "must be alert or require_approval")
		}
	}
	if create && in.Rule == nil {
		errs.Add("rule", "is required")
	}
	if err := errs.Err(); err != nil {
		return err
	}
	if in.Rule != nil {
		if _, err := Rules.Compile(*in.Rule); err != nil {
			perr, ok := err.(*policy.Error)
			if !ok {
				return fmt.Errorf("approval: compiling rule: %w", err)
			}
			return &apperr.Error{Code: apperr.Unprocessable, Reason: "invalid_rule", Message: "the rule does not compile",
				Fields: []apperr.FieldError{{Field: "rule", Message: perr.Error(), Line: perr.Line, Column: perr.Column, Snippet: perr.Snippet}}}
		}
	}
	return nil
}

// Policies lists every policy by name.
func (s *Service) Policies(ctx context.Context) ([]Policy, error) {
	var out []Policy
	if err := s.db.Read.NewSelect().Model(&out).Order("name ASC", "id ASC").Scan(ctx); err != nil {
		return nil, fmt.Errorf("approval: listing policies: %w", err)
	}
	return out, nil
}

// Policy loads one policy. Errors: NotFound.
func (s *Service) Policy(ctx context.Context, id string) (*Policy, error) {
	p := &Policy{}
	err := s.db.Read.NewSelect().Model(p).Where("id = ?", id).Scan(ctx)
	if database.IsNoRows(err) {
		return nil, apperr.NotFoundf("no such policy")
	}
	if err != nil {
		return nil, fmt.Errorf("approval: loading policy: %w", err)
	}
	return p, nil
}

// CreatePolicy stores a new policy, audited. Owners only (the route says
// so). Errors: Invalid, Unprocessable (invalid_rule), Conflict (name taken).
func (s *Service) CreatePolicy(ctx context.Context, in PolicyInput) (*Policy, error) {
	if err := in.validate(true); err != nil {
		return nil, err
	}
	now := s.now()
	p := &Policy{
		ID: "hrp_" + uuid.Must(uuid.NewV7()).String(), Name: strings.TrimSpace(*in.Name), Actions: joinActions(*in.Actions),
		Rule: *in.Rule, Outcome: *in.Outcome, Enabled: true, CreatedAt: now, UpdatedAt: now, UpdatedBy: audit.MetaFrom(ctx).ActorID,
	}
	if in.Description != nil {
		p.Description = *in.Description
	}
	if in.Enabled != nil {
		p.Enabled = *in.Enabled
	}
	err := s.db.Tx(ctx, func(ctx context.Context, tx bun.Tx) error {
		if err := s.nameFree(ctx, tx, p.Name, ""); err != nil {
			return err
		}
		if _, err := tx.NewInsert().Model(p).Exec(ctx); err != nil {
			return fmt.Errorf("approval: inserting policy: %w", err)
		}
		return s.policyChanged(ctx, tx, "approval.policy.create", p, map[string]any{
			"name": p.Name, "actions": p.ActionList(), "rule": p.Rule, "outcome": p.Outcome, "enabled": p.Enabled,
		})
	})
	if err != nil {
		return nil, err
	}
	return p, nil
}

// UpdatePolicy changes the given fields of a policy, audited with each
// field's old and new value. Errors: NotFound, Invalid, Unprocessable,
// Conflict.
func (s *Service) UpdatePolicy(ctx context.Context, id string, in PolicyInput) (*Policy, error) {
	if err := in.validate(false); err != nil {
		return nil, err
	}
	var out *Policy
	err := s.db.Tx(ctx, func(ctx context.Context, tx bun.Tx) error {
		p := &Policy{}
		q := tx.NewSelect().Model(p).Where("id = ?", id)
		if tx.Dialect().Name().String() == "pg" {
			q = q.For("UPDATE")
		}
		if err := q.Scan(ctx); err != nil {
			if database.IsNoRows(err) {
				return apperr.NotFoundf("no such policy")
			}
			return fmt.Errorf("approval: loading policy: %w", err)
		}
		changes := map[string]any{}
		set := func(field string, old, new any) { changes[field] = map[string]any{"from": old, "to": new} }
		if in.Name != nil && strings.TrimSpace(*in.Name) != p.Name {
			name := strings.TrimSpace(*in.Name)
			if err := s.nameFree(ctx, tx, name, p.ID); err != nil {
				return err
			}
			set("name", p.Name, name)
			p.Name = name
		}
		if in.Description != nil && *in.Description != p.Description {
			set("description", p.Description, *in.Description)
			p.Description = *in.Description
		}
		if in.Actions != nil && joinActions(*in.Actions) != p.Actions {
			set("actions", p.ActionList(), strings.Fields(joinActions(*in.Actions)))
			p.Actions = joinActions(*in.Actions)
		}
		if in.Rule != nil && *in.Rule != p.Rule {
			set("rule", p.Rule, *in.Rule)
			p.Rule = *in.Rule
		}
		if in.Outcome != nil && *in.Outcome != p.Outcome {
			set("outcome", p.Outcome, *in.Outcome)
			p.Outcome = *in.Outcome
		}
		if in.Enabled != nil && *in.Enabled != p.Enabled {
			set("enabled", p.Enabled, *in.Enabled)
			p.Enabled = *in.Enabled
		}
		out = p
		if len(changes) == 0 {
			return nil
		}
		p.UpdatedAt, p.UpdatedBy = s.now(), audit.MetaFrom(ctx).ActorID
		if _, err := tx.NewUpdate().Model(p).WherePK().Exec(ctx); err != nil {
			return fmt.Errorf("approval: updating policy: %w", err)
		}
		return s.policyChanged(ctx, tx, "approval.policy.update", p, changes)
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

func (s *Service) nameFree(ctx context.Context, tx bun.Tx, name, except string) error {
	n, err := tx.NewSelect().Model((*Policy)(nil)).Where("name = ?", name).Where("id <> ?", except).Count(ctx)
	if err != nil {
		return fmt.Errorf("approval: checking policy name: %w", err)
	}
	if n > 0 {
		e := apperr.Field("name", "another policy is called %q", name)
		e.Code, e.Reason = apperr.Conflict, "policy_name_taken"
		return e
	}
	return nil
}

// policyChanged bumps the policies' version (every replica recompiles on
// its next gated request) and audits the change, in tx.
func (s *Service) policyChanged(ctx context.Context, tx bun.Tx, action string, p *Policy, changes map[string]any) error {
	if _, err := tx.NewUpdate().Model((*policyVersion)(nil)).Set("version = version + 1").Where("id = 1").Exec(ctx); err != nil {
		return fmt.Errorf("approval: bumping policy version: %w", err)
	}
	_, err := audit.Append(ctx, tx, audit.Event{Action: action, TargetType: "high_risk_policy", TargetID: p.ID, Changes: changes})
	return err
}

func joinActions(actions []string) string {
	a := slices.Clone(actions)
	slices.Sort(a)
	return strings.Join(slices.Compact(a), " ")
}
