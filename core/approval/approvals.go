package approval

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
	"github.com/uptrace/bun"

	"github.com/ezscale/platform/core/accounts"
	"github.com/ezscale/platform/core/apperr"
	"github.com/ezscale/platform/core/audit"
	"github.com/ezscale/platform/core/database"
	"github.com/ezscale/platform/core/notify"
)

// States of an approval.
const (
	StatePending   = "pending"
	StateApproved  = "approved"
	StateExecuted  = "executed"
	StateFailed    = "failed"
	StateRejected  = "rejected"
	StateExpired   = "expired"
	StateCancelled = "cancelled"
)

// States lists every state, in the order of a life.
var States = []string{StatePending, StateApproved, StateExecuted, StateFailed, StateRejected, StateExpired, StateCancelled}

// Approval is a held request and what became of it.
type Approval struct {
	bun.BaseModel `bun:"table:approvals"`

	ID              string          `bun:"id,pk" json:"id"`
	State           string          `bun:"state" json:"state"`
	Action          string          `bun:"action" json:"action"`
	PolicyID        string          `bun:"policy_id" json:"policy_id"`
	PolicyName      string          `bun:"policy_name" json:"policy_name"`
	Summary         string          `bun:"summary" json:"summary"`
	Method          string          `bun:"method" json:"method"`
	Path            string          `bun:"path" json:"path"`
	Route           string          `bun:"route" json:"route"`
	Body            string          `bun:"body" json:"-"`
	ContentType     string          `bun:"content_type" json:"-"`
	IdempotencyKey  string          `bun:"idempotency_key" json:"-"`
	RequestedBy     string          `bun:"requested_by" json:"requested_by"`
	RequesterRole   string          `bun:"requester_role" json:"requester_role"`
	TokenKind       string          `bun:"token_kind" json:"-"`
	TokenScopes     string          `bun:"token_scopes" json:"-"`
	RequiredRole    string          `bun:"required_role" json:"required_role"`
	AccountID       string          `bun:"account_id" json:"account_id,omitempty"`
	TargetType      string          `bun:"target_type" json:"target_type"`
	TargetID        string          `bun:"target_id" json:"target_id"`
	Facts           string          `bun:"facts" json:"-"`
	DecidedBy       string          `bun:"decided_by" json:"decided_by,omitempty"`
	DecisionReason  string          `bun:"decision_reason" json:"decision_reason,omitempty"`
	RequestEventID  string          `bun:"request_event_id" json:"request_event_id"`
	DecisionEventID string          `bun:"decision_event_id" json:"decision_event_id,omitempty"`
	ResultStatus    int             `bun:"result_status" json:"result_status,omitempty"`
	ResultBody      string          `bun:"result_body" json:"-"`
	CreatedAt       time.Time       `bun:"created_at" json:"created_at"`
	ExpiresAt       time.Time       `bun:"expires_at" json:"expires_at"`
	DecidedAt       *time.Time      `bun:"decided_at" json:"decided_at,omitempty"`
	FinishedAt      *time.Time      `bun:"finished_at" json:"finished_at,omitempty"`
	History         []Transition    `bun:"-" json:"history"`
	FactsView       *Env            `bun:"-" json:"facts"`
	RequestBody     json.RawMessage `bun:"-" json:"body,omitempty"`
	Result          json.RawMessage `bun:"-" json:"result,omitempty"`
}

// Transition is one change of an approval's state.
type Transition struct {
	bun.BaseModel `bun:"table:approval_transitions"`

	ApprovalID string    `bun:"approval_id,pk" json:"-"`
	Seq        int       `bun:"seq,pk" json:"seq"`
	From       string    `bun:"from_state" json:"from"`
	To         string    `bun:"to_state" json:"to"`
	ActorID    string    `bun:"actor_id" json:"actor_id,omitempty"`
	Reason     string    `bun:"reason" json:"reason,omitempty"`
	At         time.Time `bun:"at" json:"at"`
}

// Request is a gated request to hold.
type Request struct {
	Method, Path, Route string
	Body                []byte
	ContentType         string
	IdempotencyKey      string
	// Principal is who sent it; RequiredRole the route's staff role.
	Principal    *accounts.Principal
	RequiredRole string
	AccountID    string
	Action       Action
	Policy       *Policy
}

// Hold stores a gated request as a pending approval, audited, and tells
// the staff who may approve it. A retried request (same requester, same
// Idempotency-Key) returns the approval it made (created false).
func (s *Service) Hold(ctx context.Context, req Request) (*Approval, bool, error) {
	p := req.Principal
	if req.IdempotencyKey != "" {
		if a, err := s.byKey(ctx, p.UserID, req.IdempotencyKey); err != nil || a != nil {
			if err != nil {
				return nil, false, err
			}
			return a, false, s.sameRequest(a, req)
		}
	}
	facts, err := json.Marshal(req.Action)
	if err != nil {
		return nil, false, fmt.Errorf("approval: encoding facts: %w", err)
	}
	now := s.now()
	a := &Approval{
		ID: uuid.Must(uuid.NewV7()).String(), State: StatePending, Action: req.Action.Action,
		PolicyID: req.Policy.ID, PolicyName: req.Policy.Name, Summary: summary(req.Action),
		Method: req.Method, Path: req.Path, Route: req.Route, ContentType: req.ContentType, IdempotencyKey: req.IdempotencyKey,
		RequestedBy: p.UserID, RequesterRole: p.StaffRole, TokenKind: p.TokenKind, TokenScopes: strings.Join(p.Scopes, " "),
		RequiredRole: req.RequiredRole, AccountID: req.AccountID, TargetType: req.Action.TargetType, TargetID: req.Action.TargetID,
		Facts: string(facts), CreatedAt: now, ExpiresAt: now.Add(s.opts.TTL),
	}
	a.Body = s.seal(a.ID, req.Body)
	err = s.db.Tx(ctx, func(ctx context.Context, tx bun.Tx) error {
		if _, err := tx.NewInsert().Model(a).Exec(ctx); err != nil {
			return fmt.Errorf("approval: holding request: %w", err)
		}
		if err := s.transition(ctx, tx, a, "", StatePending, p.UserID, ""); err != nil {
			return err
		}
		if err := s.tell(ctx, tx, a, notify.ApprovalRequested, nil); err != nil {
			return err
		}
		rec, err := audit.Append(ctx, tx, audit.Event{Action: "approval.request", AccountID: a.AccountID, TargetType: "approval", TargetID: a.ID,
			Changes: map[string]any{"action": a.Action, "policy": a.PolicyName, "method": a.Method, "path": a.Path,
				"target_type": a.TargetType, "target_id": a.TargetID, "expires_at": a.ExpiresAt.Format(time.RFC3339)}})
		if err != nil {
			return err
		}
		a.RequestEventID = rec.ID
		_, err = tx.NewUpdate().Model(a).Column("request_event_id").WherePK().Exec(ctx)
		return err
	})
	if err != nil {
		if database.IsUniqueViolation(err) && req.IdempotencyKey != "" {
			a, kerr := s.byKey(ctx, p.UserID, req.IdempotencyKey)
			if kerr == nil && a != nil {
				return a, false, s.sameRequest(a, req)
			}
		}
		return nil, false, err
	}
	return a, true, nil
}

// sameRequest refuses a key reused for another request, as the
// Idempotency-Key contract says (422 idempotency_key_reused).
func (s *Service) sameRequest(a *Approval, req Request) error {
	body, err := s.Body(a)
	if err != nil {
		return err
	}
	if a.Method != req.Method || a.Path != req.Path || string(body) != string(req.Body) {
		return apperr.New(apperr.Unprocessable, "this Idempotency-Key was used with a different request").WithReason("idempotency_key_reused")
	}
	return nil
}

func (s *Service) byKey(ctx context.Context, userID, key string) (*Approval, error) {
	a := &Approval{}
	err := s.db.NewSelect().Model(a).Where("requested_by = ?", userID).Where("idempotency_key = ?", key).Scan(ctx)
	if database.IsNoRows(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("approval: loading by key: %w", err)
	}
	return a, nil
}

func summary(a Action) string {
	s := a.Action
	if a.TargetType != "" {
		s += " on " + a.TargetType + " " + a.TargetID
	}
	if a.Amount != 0 {
		s += strings.TrimSpace(fmt.Sprintf(" (amount %d %s", a.Amount, a.Currency)) + ")"
	}
	return s
}

func (s *Service) seal(id string, body []byte) string {
	if s.sealer == nil || len(body) == 0 {
		return string(body)
	}
	return s.sealer.Seal(string(body), "approval:"+id)
}

// Body returns the held request's body in clear.
func (s *Service) Body(a *Approval) ([]byte, error) {
	if s.sealer == nil || a.Body == "" || !strings.HasPrefix(a.Body, "ezs1:") {
		return []byte(a.Body), nil
	}
	b, err := s.sealer.Open(a.Body, "approval:"+a.ID)
	if err != nil {
		return nil, fmt.Errorf("approval: opening held body: %w", err)
	}
	return []byte(b), nil
}

// Filter selects approvals.
type Filter struct {
	State string
	// After is the cursor (an approval id); Limit the page size.
	After string
	Limit int
}

// List returns approvals, pending first, then newest first.
func (s *Service) List(ctx context.Context, f Filter) ([]Approval, error) {
	if f.State != "" && !validState(f.State) {
		return nil, apperr.Field("state", "must be one of %s", strings.Join(States, ", "))
	}
	var out []Approval
	q := s.db.Read.NewSelect().Model(&out)
	if f.State != "" {
		q = q.Where("state = ?", f.State)
	}
	// Order: pending first, then by id descending (ids are time-ordered).
	q = q.OrderExpr("CASE WHEN state = 'pending' THEN 0 ELSE 1 END ASC, id DESC")
	if f.After != "" {
		cur := &Approval{}
		if err := s.db.Read.NewSelect().Model(cur).Column("id", "state").Where("id = ?", f.After).Scan(ctx); err != nil {
			if database.IsNoRows(err) {
				return nil, apperr.Field("cursor", "is not a cursor of this list")
			}
			return nil, fmt.Errorf("approval: reading cursor: %w", err)
		}
		rank := 1
		if cur.State == StatePending {
			rank = 0
		}
		q = q.Where("(CASE WHEN state = 'pending' THEN 0 ELSE 1 END > ?) OR (CASE WHEN state = 'pending' THEN 0 ELSE 1 END = ? AND id < ?)", rank, rank, cur.ID)
	}
	if f.Limit > 0 {
		q = q.Limit(int64(f.Limit))
	}
	if err := q.Scan(ctx); err != nil {
		return nil, fmt.Errorf("approval: listing: %w", err)
	}
	for i := range out {
		s.fill(&out[i], false)
	}
	return out, nil
}

func validState(st string) bool {
	for _, s := range States {
		if s == st {
			return true
		}
	}
	return false
}

// Get loads an approval with its history and held body. Errors: NotFound.
func (s *Service) Get(ctx context.Context, id string) (*Approval, error) {
	a := &Approval{}
	err := s.db.NewSelect().Model(a).Where("id = ?", id).Scan(ctx)
	if database.IsNoRows(err) {
		return nil, apperr.NotFoundf("no such approval")
	}
	if err != nil {
		return nil, fmt.Errorf("approval: loading: %w", err)
	}
	if err := s.db.NewSelect().Model(&a.History).Where("approval_id = ?", id).Order("seq ASC").Scan(ctx); err != nil {
		return nil, fmt.Errorf("approval: loading history: %w", err)
	}
	s.fill(a, true)
	return a, nil
}

// fill sets the derived views: facts, and with body the held body and the
// result as JSON when they are JSON.
func (s *Service) fill(a *Approval, body bool) {
	var env Env
	if json.Unmarshal([]byte(a.Facts), &env) == nil {
		a.FactsView = &env
	}
	if a.History == nil {
		a.History = []Transition{}
	}
	if !body {
		return
	}
	if b, err := s.Body(a); err == nil && len(b) > 0 && json.Valid(b) {
		a.RequestBody = b
	}
	if a.ResultBody != "" && json.Valid([]byte(a.ResultBody)) {
		a.Result = json.RawMessage(a.ResultBody)
	}
}

// Approver is the staff member deciding.
type Approver struct {
	UserID, StaffRole string
}

// Approve moves a pending approval to approved for a different staff
// member with at least its route's role, audited, and returns it for the
// caller to execute (then Finish). Two approvers racing: one wins, the
// other gets Conflict. Errors: NotFound; Forbidden (self_approval,
// role); Conflict (approval_not_pending, approval_expired).
func (s *Service) Approve(ctx context.Context, by Approver, id, reason string) (*Approval, error) {
	return s.decide(ctx, by, id, reason, StateApproved)
}

// Reject refuses a pending approval with a reason; the requester is told.
// Errors as Approve; Invalid without a reason.
func (s *Service) Reject(ctx context.Context, by Approver, id, reason string) (*Approval, error) {
	return s.decide(ctx, by, id, reason, StateRejected)
}

func (s *Service) decide(ctx context.Context, by Approver, id, reason, to string) (*Approval, error) {
	reason = strings.TrimSpace(reason)
	if to == StateRejected && reason == "" {
		return nil, apperr.Field("reason", "is required to reject")
	}
	if utf8.RuneCountInString(reason) > 1000 {
		return nil, apperr.Field("reason", "must be at most 1000 characters")
	}
	var out *Approval
	var refusal error
	err := s.db.Tx(ctx, func(ctx context.Context, tx bun.Tx) error {
		a, err := s.lock(ctx, tx, id)
		if err != nil {
			return err
		}
		if a.RequestedBy == by.UserID {
			return apperr.New(apperr.Forbidden, "the staff member who made a request cannot approve or reject it; another must").WithReason("self_approval")
		}
		if !accounts.StaffAtLeast(by.StaffRole, a.RequiredRole) {
			return apperr.New(apperr.Forbidden, "deciding this approval needs the staff role %q", a.RequiredRole).WithReason("approver_role")
		}
		now := s.now()
		if a.State == StatePending && !now.Before(a.ExpiresAt) {
			// Too late: it is expired now, and never executed.
			if err := s.expireTx(ctx, tx, a, now); err != nil {
				return err
			}
			refusal = apperr.New(apperr.Conflict, "this approval expired at %s and can no longer be decided", a.ExpiresAt.Format(time.RFC3339)).WithReason("approval_expired")
			return nil
		}
		if a.State != StatePending {
			return apperr.New(apperr.Conflict, "this approval is %s, not pending", a.State).WithReason("approval_not_pending")
		}
		res, err := tx.NewUpdate().Model((*Approval)(nil)).Set("state = ?", to).Set("decided_by = ?", by.UserID).
			Set("decision_reason = ?", reason).Set("decided_at = ?", now).
			Where("id = ?", a.ID).Where("state = ?", StatePending).Where("expires_at > ?", now).Exec(ctx)
		if err != nil {
			return fmt.Errorf("approval: deciding: %w", err)
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return apperr.New(apperr.Conflict, "this approval was decided by someone else").WithReason("approval_not_pending")
		}
		a.State, a.DecidedBy, a.DecisionReason, a.DecidedAt = to, by.UserID, reason, &now
		if err := s.transition(ctx, tx, a, StatePending, to, by.UserID, reason); err != nil {
			return err
		}
		if to == StateRejected {
			if err := s.tell(ctx, tx, a, notify.ApprovalRejected, []string{a.RequestedBy}); err != nil {
				return err
			}
		}
		action := "approval.approve"
		if to == StateRejected {
			action = "approval.reject"
		}
		rec, err := audit.Append(ctx, tx, audit.Event{Action: action, AccountID: a.AccountID, TargetType: "approval", TargetID: a.ID,
			Changes: map[string]any{"action": a.Action, "requested_by": a.RequestedBy, "reason": reason, "request_event_id": a.RequestEventID}})
		if err != nil {
			return err
		}
		a.DecisionEventID = rec.ID
		if _, err := tx.NewUpdate().Model(a).Column("decision_event_id").WherePK().Exec(ctx); err != nil {
			return fmt.Errorf("approval: recording decision event: %w", err)
		}
		out = a
		return nil
	})
	if err != nil {
		return nil, err
	}
	if refusal != nil {
		return nil, refusal
	}
	return out, nil
}

// Cancel withdraws a pending approval; only its requester may. Errors:
// NotFound, Forbidden (not_requester), Conflict (approval_not_pending).
func (s *Service) Cancel(ctx context.Context, userID, id string) (*Approval, error) {
	var out *Approval
	err := s.db.Tx(ctx, func(ctx context.Context, tx bun.Tx) error {
		a, err := s.lock(ctx, tx, id)
		if err != nil {
			return err
		}
		if a.RequestedBy != userID {
			return apperr.New(apperr.Forbidden, "only the staff member who made the request can cancel it").WithReason("not_requester")
		}
		if a.State != StatePending {
			return apperr.New(apperr.Conflict, "this approval is %s, not pending", a.State).WithReason("approval_not_pending")
		}
		if err := s.move(ctx, tx, a, StatePending, StateCancelled, userID, "", "approval.cancel"); err != nil {
			return err
		}
		out = a
		return nil
	})
	return out, err
}

// Finish records what executing an approved request did: executed when
// status < 400, failed otherwise. It is a no-op error (Conflict) unless
// the approval is approved. Call it in the execution's transaction when
// the route has one, so the effect and the outcome commit together.
func (s *Service) Finish(ctx context.Context, id string, status int, body []byte) error {
	return s.db.Tx(ctx, func(ctx context.Context, tx bun.Tx) error {
		a, err := s.lock(ctx, tx, id)
		if err != nil {
			return err
		}
		if a.State != StateApproved {
			return apperr.New(apperr.Conflict, "this approval is %s, not approved", a.State).WithReason("approval_not_approved")
		}
		to := StateExecuted
		if status >= 400 {
			to = StateFailed
		}
		// The outcome is the approver's event, not the executed request's.
		meta := audit.MetaFrom(ctx)
		meta.ActorType, meta.ActorID, meta.Approval = audit.ActorStaff, a.DecidedBy, nil
		ctx = audit.WithMeta(ctx, meta)
		a.ResultStatus, a.ResultBody = status, string(body)
		if len(a.ResultBody) > 64<<10 {
			a.ResultBody = ""
		}
		if _, err := tx.NewUpdate().Model(a).Column("result_status", "result_body").WherePK().Exec(ctx); err != nil {
			return fmt.Errorf("approval: recording result: %w", err)
		}
		return s.move(ctx, tx, a, StateApproved, to, a.DecidedBy, fmt.Sprintf("HTTP %d", status), "approval.finish")
	})
}

// move changes state from → to with a conditional update, records the
// transition and audits it.
func (s *Service) move(ctx context.Context, tx bun.Tx, a *Approval, from, to, actor, reason, action string) error {
	now := s.now()
	q := tx.NewUpdate().Model((*Approval)(nil)).Set("state = ?", to).Where("id = ?", a.ID).Where("state = ?", from)
	if to != StateApproved && to != StateRejected && from == StatePending {
		q = q.Set("decided_at = ?", now)
	} else {
		q = q.Set("finished_at = ?", now)
	}
	res, err := q.Exec(ctx)
	if err != nil {
		return fmt.Errorf("approval: moving to %s: %w", to, err)
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return apperr.New(apperr.Conflict, "this approval is no longer %s", from).WithReason("approval_not_pending")
	}
	a.State = to
	if err := s.transition(ctx, tx, a, from, to, actor, reason); err != nil {
		return err
	}
	changes := map[string]any{"action": a.Action, "from": from, "to": to}
	if a.ResultStatus != 0 {
		changes["result_status"] = a.ResultStatus
	}
	_, err = audit.Append(ctx, tx, audit.Event{Action: action, AccountID: a.AccountID, TargetType: "approval", TargetID: a.ID, Changes: changes})
	return err
}

func (s *Service) expireTx(ctx context.Context, tx bun.Tx, a *Approval, now time.Time) error {
	ctx = audit.WithMeta(ctx, audit.Meta{ActorType: audit.ActorSystem, RequestID: audit.MetaFrom(ctx).RequestID})
	if err := s.move(ctx, tx, a, StatePending, StateExpired, "", "not decided before "+a.ExpiresAt.Format(time.RFC3339), "approval.expire"); err != nil {
		return err
	}
	return s.tell(ctx, tx, a, notify.ApprovalExpired, []string{a.RequestedBy})
}

// ExpireDue expires pending approvals past their TTL (the periodic job)
// and tells each requester. It returns how many it expired.
func (s *Service) ExpireDue(ctx context.Context) (int, error) {
	var ids []string
	now := s.now()
	if err := s.db.NewSelect().Model((*Approval)(nil)).Column("id").Where("state = ?", StatePending).
		Where("expires_at <= ?", now).Order("expires_at ASC").Limit(int64(500)).Scan(ctx, &ids); err != nil {
		return 0, fmt.Errorf("approval: finding expired: %w", err)
	}
	n := 0
	for _, id := range ids {
		err := s.db.Tx(ctx, func(ctx context.Context, tx bun.Tx) error {
			a, err := s.lock(ctx, tx, id)
			if err != nil || a.State != StatePending {
				return err
			}
			n++
			return s.expireTx(ctx, tx, a, now)
		})
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

func (s *Service) lock(ctx context.Context, tx bun.Tx, id string) (*Approval, error) {
	a := &Approval{}
	q := tx.NewSelect().Model(a).Where("id = ?", id)
	if tx.Dialect().Name().String() == "pg" {
		q = q.For("UPDATE")
	}
	if err := q.Scan(ctx); err != nil {
		if database.IsNoRows(err) {
			return nil, apperr.NotFoundf("no such approval")
		}
		return nil, fmt.Errorf("approval: loading: %w", err)
	}
	return a, nil
}

func (s *Service) transition(ctx context.Context, tx bun.Tx, a *Approval, from, to, actor, reason string) error {
	var seq int
	if err := tx.NewSelect().Model((*Transition)(nil)).ColumnExpr("COALESCE(MAX(seq), 0)").Where("approval_id = ?", a.ID).Scan(ctx, &seq); err != nil {
		return fmt.Errorf("approval: reading history: %w", err)
	}
	t := &Transition{ApprovalID: a.ID, Seq: seq + 1, From: from, To: to, ActorID: actor, Reason: reason, At: s.now()}
	if _, err := tx.NewInsert().Model(t).Exec(ctx); err != nil {
		return fmt.Errorf("approval: recording transition: %w", err)
	}
	return nil
}

// tell notifies users (nil: the staff who may decide it, but its
// requester) about an approval.
func (s *Service) tell(ctx context.Context, tx bun.Tx, a *Approval, t notify.Type, users []string) error {
	if s.notify == nil {
		return nil
	}
	if users == nil {
		roles := []string{accounts.StaffOwner}
		if a.RequiredRole != accounts.StaffOwner {
			roles = append(roles, accounts.StaffAdmin)
			if a.RequiredRole == accounts.StaffSupport {
				roles = append(roles, accounts.StaffSupport)
			}
		}
		ids, err := s.staff.StaffIDs(ctx, roles...)
		if err != nil {
			return err
		}
		for _, id := range ids {
			if id != a.RequestedBy {
				users = append(users, id)
			}
		}
		if len(users) == 0 {
			return nil
		}
	}
	return s.notify.Notify(ctx, tx, notify.Event{Type: t, UserIDs: users, Link: "/staff/approvals/" + a.ID, Data: map[string]any{
		"approval_id": a.ID, "action": a.Action, "summary": a.Summary, "policy": a.PolicyName, "reason": a.DecisionReason,
		"expires_at": a.ExpiresAt.Format(time.RFC3339),
	}})
}
