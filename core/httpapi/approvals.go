package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/gorilla/mux"
	"github.com/uptrace/bun"

	"github.com/ezscale/platform/core/accounts"
	"github.com/ezscale/platform/core/apperr"
	"github.com/ezscale/platform/core/approval"
	"github.com/ezscale/platform/core/audit"
	"github.com/ezscale/platform/core/database"
)

// HighRisk names the action a gated route performs and how its facts are
// computed from the request (docs/approvals.md lists every gated route).
type HighRisk struct {
	// Action is the action's name in policies, e.g. "credit.adjust".
	Action string
	// TargetType is what the action changes; TargetVar the path variable
	// holding its id.
	TargetType, TargetVar string
	// FactsFunc, when set, fills the counts the core computes (amount,
	// services and customers affected) from the request and its body. A
	// body it cannot read leaves them zero: the handler refuses it.
	FactsFunc func(r *http.Request, body []byte, a *approval.Action) error
}

// heldRoute is what executes an approved request of one gated route.
type heldRoute struct {
	rt   Route
	exec HandlerFunc
}

// holdable records how an approved request of rt runs: the route's own
// account admission and handler, without authentication (the requester is
// re-checked instead) and without the gate.
func (s *Server) holdable(rt Route) {
	if s.held == nil {
		s.held = map[string]heldRoute{}
	}
	h := rt.Handler
	if rt.Auth != Public && accountRoute(rt) {
		h = s.admitAccount(rt, h)
	}
	s.held[rt.Method+" "+rt.Path] = heldRoute{rt: rt, exec: h}
}

// maxChanges bounds the request fields handed to rules.
const (
	maxChanges     = 64
	maxChangeValue = 1024
)

// gate evaluates the high-risk policies for a staff caller: a match of a
// require_approval policy holds the request (202 and the approval, with
// Location); alert policies let it run and tell the owners once it
// succeeded.
func (s *Server) gate(rt Route, next HandlerFunc) HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		p := PrincipalFrom(r.Context())
		if s.Approvals == nil || p == nil || p.StaffRole == "" {
			return next(w, r)
		}
		if acc := AccountFrom(r.Context()); acc != nil && !acc.Staff && rt.Auth == User {
			// A member acting on their own account is not a staff action.
			return next(w, r)
		}
		body, err := io.ReadAll(r.Body)
		if err != nil {
			var mbe *http.MaxBytesError
			if errors.As(err, &mbe) {
				return errBodyTooLarge
			}
			return apperr.New(apperr.Invalid, "could not read the request body").WithReason("bad_body")
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		a := s.actionOf(rt, r, p, body)
		d, err := s.Approvals.Evaluate(r.Context(), a)
		if err != nil {
			return err
		}
		if d.Approval != nil {
			held, _, err := s.Approvals.Hold(r.Context(), approval.Request{
				Method: r.Method, Path: r.URL.Path, Route: rt.Path, Body: body, ContentType: r.Header.Get("Content-Type"),
				IdempotencyKey: r.Header.Get(idempotencyField), Principal: p, RequiredRole: rt.StaffRole,
				AccountID: mux.Vars(r)["account_id"], Action: a, Policy: d.Approval,
			})
			if err != nil {
				return err
			}
			out, err := s.Approvals.Get(r.Context(), held.ID)
			if err != nil {
				return err
			}
			w.Header().Set("Location", "/api/v1/admin/approvals/"+held.ID)
			return writeJSON(w, http.StatusAccepted, out)
		}
		if len(d.Alerts) == 0 {
			return next(w, r)
		}
		sw := &statusWriter{ResponseWriter: w}
		if err := next(sw, r); err != nil {
			return err
		}
		if sw.status >= 400 {
			return nil
		}
		// The action committed; the alert follows in its own transaction.
		if err := s.DB.Tx(r.Context(), func(ctx context.Context, tx bun.Tx) error {
			return s.Approvals.Alert(ctx, tx, a, d.Alerts)
		}); err != nil {
			s.Logger.Error("alerting owners of a high-risk action", "action", a.Action, "error", err)
		}
		return nil
	}
}

// actionOf describes the request to the policies.
func (s *Server) actionOf(rt Route, r *http.Request, p *accounts.Principal, body []byte) approval.Action {
	hr := rt.HighRisk
	a := approval.Action{Action: hr.Action, ActorID: p.UserID, ActorRole: p.StaffRole, TargetType: hr.TargetType, Changes: map[string]string{}}
	if hr.TargetVar != "" {
		a.TargetID = mux.Vars(r)[hr.TargetVar]
	}
	var fields map[string]json.RawMessage
	if len(body) > 0 && json.Unmarshal(body, &fields) == nil {
		for k, v := range fields {
			if len(a.Changes) >= maxChanges {
				break
			}
			var str string
			if json.Unmarshal(v, &str) != nil {
				str = string(v)
			}
			a.Changes[database.Text(k, 100)] = database.Text(str, maxChangeValue)
		}
	}
	if hr.FactsFunc != nil {
		if err := hr.FactsFunc(r, body, &a); err != nil && s.Logger != nil {
			s.Logger.Warn("computing high-risk facts", "action", a.Action, "error", err)
		}
	}
	if a.Currency == "" && a.Amount != 0 {
		// The request's own currency, else the account's: the amount is
		// in the account's currency (its ledger and invoices are).
		if c := strings.ToUpper(a.Changes["currency"]); isCurrencyCode(c) {
			a.Currency = c
		} else if id := mux.Vars(r)["account_id"]; id != "" {
			a.Currency = s.accountCurrency(r.Context(), id)
		}
	}
	return a
}

// accountCurrency is the account's currency for the high-risk facts; ""
// when unknown (a lookup that fails is logged: a rule on currency then
// sees "").
func (s *Server) accountCurrency(ctx context.Context, accountID string) string {
	if s.AccountCurrency == nil || accountID == "" {
		return ""
	}
	c, err := s.AccountCurrency(ctx, accountID)
	if err != nil {
		s.Logger.Warn("reading the account's currency for high-risk facts", "account_id", accountID, "error", err)
		return ""
	}
	return c
}

// isCurrencyCode reports whether c looks like an ISO 4217 code.
func isCurrencyCode(c string) bool {
	if len(c) != 3 {
		return false
	}
	for _, r := range c {
		if r < 'A' || r > 'Z' {
			return false
		}
	}
	return true
}

// executeHeld runs an approved request as its requester, "approved by" the
// approver, and records the outcome (Finish) — with the effect in one
// transaction when the route is Idempotent. It returns the response.
func (s *Server) executeHeld(ctx context.Context, a *approval.Approval) *recorder {
	rec := newRecorder()
	fail := func(err error) *recorder {
		req, _ := http.NewRequestWithContext(ctx, a.Method, a.Path, http.NoBody)
		s.writeError(rec, req, err)
		if ferr := s.Approvals.Finish(ctx, a.ID, rec.status, rec.body.Bytes()); ferr != nil {
			s.Logger.Error("recording a held request's failure", "approval_id", a.ID, "error", ferr)
		}
		return rec
	}
	hr, ok := s.held[a.Method+" "+a.Route]
	if !ok {
		return fail(apperr.New(apperr.Conflict, "the held request's operation no longer exists").WithReason("approval_route_gone"))
	}
	u, err := s.Accounts.User(ctx, a.RequestedBy)
	if err != nil {
		return fail(err)
	}
	role := ""
	if u.StaffRole != nil {
		role = *u.StaffRole
	}
	if u.DisabledAt != nil || !accounts.StaffAtLeast(role, hr.rt.StaffRole) {
		return fail(apperr.New(apperr.Forbidden, "the requester no longer holds the staff role %q", hr.rt.StaffRole).WithReason("requester_role"))
	}
	p := &accounts.Principal{UserID: u.ID, Email: u.Email, TokenKind: a.TokenKind, StaffRole: role, TOTPEnabled: u.TOTPEnabled}
	if a.TokenScopes != "" {
		p.Scopes = strings.Fields(a.TokenScopes)
	}
	body, err := s.Approvals.Body(a)
	if err != nil {
		return fail(err)
	}
	meta := audit.MetaFrom(ctx)
	meta.ActorType, meta.ActorID = audit.ActorStaff, u.ID
	if a.TokenKind == accounts.KindPersonal {
		meta.ActorType = audit.ActorAPIToken
	}
	meta.Approval = &audit.ApprovalRef{ID: a.ID, EventID: a.DecisionEventID, ApprovedBy: a.DecidedBy}
	ctx = audit.WithMeta(context.WithValue(ctx, principalKey{}, p), meta)
	req, err := http.NewRequestWithContext(ctx, a.Method, a.Path, bytes.NewReader(body))
	if err != nil {
		return fail(err)
	}
	if a.ContentType != "" {
		req.Header.Set("Content-Type", a.ContentType)
	}
	if a.IdempotencyKey != "" {
		req.Header.Set(idempotencyField, a.IdempotencyKey)
	}
	var match mux.RouteMatch
	if !s.router.Match(req, &match) {
		return fail(apperr.New(apperr.Conflict, "the held request's path no longer matches its operation").WithReason("approval_route_gone"))
	}
	req = mux.SetURLVars(req, match.Vars)
	if !hr.rt.Idempotent {
		if herr := hr.exec(rec, req); herr != nil {
			s.writeError(rec, req, herr)
		}
		if err := s.Approvals.Finish(ctx, a.ID, statusOr200(rec.status), rec.body.Bytes()); err != nil {
			s.Logger.Error("recording a held request's outcome", "approval_id", a.ID, "error", err)
		}
		return rec
	}
	var handlerErr error
	txErr := s.DB.Tx(req.Context(), func(ctx context.Context, tx bun.Tx) error {
		handlerErr = hr.exec(rec, req.WithContext(ctx))
		if handlerErr != nil || rec.status >= 400 {
			return errRollback
		}
		return s.Approvals.Finish(ctx, a.ID, statusOr200(rec.status), rec.body.Bytes())
	})
	if txErr == nil {
		return rec
	}
	if !errors.Is(txErr, errRollback) {
		handlerErr = txErr
	}
	failed := newRecorder()
	if handlerErr != nil {
		s.writeError(failed, req, handlerErr)
	} else {
		failed = rec
	}
	if err := s.Approvals.Finish(ctx, a.ID, statusOr200(failed.status), failed.body.Bytes()); err != nil {
		s.Logger.Error("recording a held request's failure", "approval_id", a.ID, "error", err)
	}
	return failed
}

func statusOr200(st int) int {
	if st == 0 {
		return http.StatusOK
	}
	return st
}

// ApprovalsAPI is the staff side of the high-risk gate: the approvals
// queue and its decisions, and the policies (owners change them).
type ApprovalsAPI struct {
	Approvals *approval.Service
}

// Routes registers the approvals and policies routes.
func (m *ApprovalsAPI) Routes(s *Server) {
	support, owner := accounts.StaffSupport, accounts.StaffOwner
	base := "/api/v1/admin/approvals"
	pol := "/api/v1/admin/high-risk-policies"
	s.Handle(Route{Method: "GET", Path: base, Auth: Staff, StaffRole: support, Scope: "admin:read", Handler: m.list})
	s.Handle(Route{Method: "GET", Path: base + "/{approval_id}", Auth: Staff, StaffRole: support, Scope: "admin:read", Handler: m.get})
	// Deciding needs at least the held route's own role: the service
	// checks it against the approval (403 approver_role).
	s.Handle(Route{Method: "POST", Path: base + "/{approval_id}/approve", Auth: Staff, StaffRole: support, Scope: "admin:write", Handler: m.approve(s)})
	s.Handle(Route{Method: "POST", Path: base + "/{approval_id}/reject", Auth: Staff, StaffRole: support, Scope: "admin:write", Handler: m.reject})
	s.Handle(Route{Method: "POST", Path: base + "/{approval_id}/cancel", Auth: Staff, StaffRole: support, Scope: "admin:write", Handler: m.cancel})
	s.Handle(Route{Method: "GET", Path: pol, Auth: Staff, StaffRole: support, Scope: "admin:read", Handler: m.listPolicies})
	s.Handle(Route{Method: "GET", Path: pol + "/{policy_id}", Auth: Staff, StaffRole: support, Scope: "admin:read", Handler: m.getPolicy})
	s.Handle(Route{Method: "POST", Path: pol, Auth: Staff, StaffRole: owner, Scope: "admin:write", Handler: m.createPolicy})
	s.Handle(Route{Method: "PATCH", Path: pol + "/{policy_id}", Auth: Staff, StaffRole: owner, Scope: "admin:write", Handler: m.updatePolicy})
}

func (m *ApprovalsAPI) list(w http.ResponseWriter, r *http.Request) error {
	state := r.URL.Query().Get("state")
	return writePage(w, r, func(after string, limit int) ([]approval.Approval, error) {
		return m.Approvals.List(r.Context(), approval.Filter{State: state, After: after, Limit: limit})
	}, func(a *approval.Approval) *approval.Approval { return a }, func(a *approval.Approval) string { return a.ID })
}

func (m *ApprovalsAPI) get(w http.ResponseWriter, r *http.Request) error {
	a, err := m.Approvals.Get(r.Context(), mux.Vars(r)["approval_id"])
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, a)
}

type decisionInput struct {
	Reason string `json:"reason"`
}

func (m *ApprovalsAPI) decide(r *http.Request) (approval.Approver, string, error) {
	var in decisionInput
	if err := Decode(r, &in); err != nil {
		return approval.Approver{}, "", err
	}
	p := PrincipalFrom(r.Context())
	return approval.Approver{UserID: p.UserID, StaffRole: p.StaffRole}, in.Reason, nil
}

// approve decides and then executes the held request (outside the
// decision's transaction), answering the approval with its result.
func (m *ApprovalsAPI) approve(s *Server) HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		by, reason, err := m.decide(r)
		if err != nil {
			return err
		}
		a, err := m.Approvals.Approve(r.Context(), by, mux.Vars(r)["approval_id"], reason)
		if err != nil {
			return err
		}
		s.executeHeld(r.Context(), a)
		out, err := m.Approvals.Get(r.Context(), a.ID)
		if err != nil {
			return err
		}
		return writeJSON(w, http.StatusOK, out)
	}
}

func (m *ApprovalsAPI) reject(w http.ResponseWriter, r *http.Request) error {
	by, reason, err := m.decide(r)
	if err != nil {
		return err
	}
	a, err := m.Approvals.Reject(r.Context(), by, mux.Vars(r)["approval_id"], reason)
	if err != nil {
		return err
	}
	out, err := m.Approvals.Get(r.Context(), a.ID)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, out)
}

func (m *ApprovalsAPI) cancel(w http.ResponseWriter, r *http.Request) error {
	if r.ContentLength != 0 {
		var in struct{}
		if err := Decode(r, &in); err != nil {
			return err
		}
	}
	a, err := m.Approvals.Cancel(r.Context(), PrincipalFrom(r.Context()).UserID, mux.Vars(r)["approval_id"])
	if err != nil {
		return err
	}
	out, err := m.Approvals.Get(r.Context(), a.ID)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, out)
}

// PolicyView is a high-risk policy as the API shows it.
type PolicyView struct {
	*approval.Policy
	Actions []string `json:"actions"`
}

func policyView(p *approval.Policy) PolicyView { return PolicyView{Policy: p, Actions: p.ActionList()} }

func (m *ApprovalsAPI) listPolicies(w http.ResponseWriter, r *http.Request) error {
	ps, err := m.Approvals.Policies(r.Context())
	if err != nil {
		return err
	}
	out := make([]PolicyView, len(ps))
	for i := range ps {
		out[i] = policyView(&ps[i])
	}
	return writeJSON(w, http.StatusOK, List[PolicyView]{Data: out})
}

func (m *ApprovalsAPI) getPolicy(w http.ResponseWriter, r *http.Request) error {
	p, err := m.Approvals.Policy(r.Context(), mux.Vars(r)["policy_id"])
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, policyView(p))
}

func (m *ApprovalsAPI) createPolicy(w http.ResponseWriter, r *http.Request) error {
	var in approval.PolicyInput
	if err := Decode(r, &in); err != nil {
		return err
	}
	p, err := m.Approvals.CreatePolicy(r.Context(), in)
	if err != nil {
		return err
	}
	w.Header().Set("Location", "/api/v1/admin/high-risk-policies/"+p.ID)
	return writeJSON(w, http.StatusCreated, policyView(p))
}

func (m *ApprovalsAPI) updatePolicy(w http.ResponseWriter, r *http.Request) error {
	var in approval.PolicyInput
	if err := Decode(r, &in); err != nil {
		return err
	}
	p, err := m.Approvals.UpdatePolicy(r.Context(), mux.Vars(r)["policy_id"], in)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, policyView(p))
}

// amountFacts reads {"amount": N} (credit adjustments and refunds).
func amountFacts(_ *http.Request, body []byte, a *approval.Action) error {
	var in struct {
		Amount json.Number `json:"amount"`
	}
	if err := json.Unmarshal(body, &in); err != nil {
		return nil
	}
	n, err := strconv.ParseInt(in.Amount.String(), 10, 64)
	if err != nil {
		return nil
	}
	a.Amount = n
	if a.TargetType == "account" {
		a.CustomersAffected = 1
	}
	return nil
}

// oneService is the facts of an action on one service.
func oneService(_ *http.Request, _ []byte, a *approval.Action) error {
	a.ServicesAffected, a.CustomersAffected = 1, 1
	return nil
}
