package httpapi

import (
	"context"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/gorilla/mux"

	"github.com/ezscale/platform/core/accounts"
	"github.com/ezscale/platform/core/apperr"
	"github.com/ezscale/platform/core/audit"
	"github.com/ezscale/platform/core/ratelimit"
)

// HandlerFunc handles a request; a returned error becomes problem+json.
type HandlerFunc func(w http.ResponseWriter, r *http.Request) error

// Auth says who may call a route.
type Auth int

const (
	// Public routes need no token.
	Public Auth = iota
	// User routes need a valid token.
	User
	// Staff routes need a token of a user with at least the route's
	// StaffRole.
	Staff
)

// Route is one API operation.
type Route struct {
	Method string
	// Path is a gorilla/mux template, e.g. /api/v1/me/tokens/{id}.
	Path string
	Auth Auth
	// StaffRole is the lowest staff role that may call the route. On Staff
	// routes every caller needs it; on an account's routes (User routes
	// whose path has {account_id}) it is what a staff user who is not a
	// member of that account needs. Empty: no staff role may (a Staff route
	// without one serves no one).
	StaffRole string
	// Members are the customer roles (accounts.Role*) in the path's account
	// that may call an account's route; nil: none. Auth, StaffRole and
	// Members are the route's row of the role × route matrix (docs/api.md),
	// enforced before the handler runs and before Idempotency-Key is looked
	// at; handlers do not check roles again.
	Members []string
	// Scope is the token scope the route needs ("" = any).
	Scope string
	// Session routes refuse personal API tokens (403 session_required):
	// credential management (password, two-factor, new tokens) needs a
	// login session, so a leaked API token cannot take over the login.
	Session bool
	// Idempotent routes honour Idempotency-Key: the handler's effects and
	// the stored response commit in one transaction.
	Idempotent bool
	// RateLimit, when set, counts every call per client IP.
	RateLimit *ratelimit.Rule
	// RateBucket names the limit's bucket (default: the path).
	RateBucket string
	// BodyLimit, when set, replaces the server's body limit for this
	// route (file uploads); the handler streams the body.
	BodyLimit int64
	// HighRisk, when set, passes the route through the high-risk gate
	// (core/approval) after authorization and before Idempotency-Key: the
	// policies may alert the owners or hold the request for a second staff
	// member's approval (202 with the approval). See approvals.go.
	HighRisk *HighRisk
	Handler  HandlerFunc
}

// Handle registers a route with its middleware.
func (s *Server) Handle(rt Route) {
	s.routes = append(s.routes, rt)
	if rt.HighRisk != nil {
		s.holdable(rt)
	}
	s.router.Handle(rt.Path, s.adapt(rt.Path, s.chain(rt))).Methods(rt.Method)
}

// chain wraps the route's handler in its middleware, outermost first: the
// rate limit; authentication (token, staff role, scope, session); the
// path's account and the caller's role in it; service activity; the
// high-risk gate; and Idempotency-Key. Everything that decides who may call the route runs
// before a stored response can be replayed or a new one stored.
func (s *Server) chain(rt Route) HandlerFunc {
	h := rt.Handler
	if rt.Idempotent {
		h = s.idempotent(rt, h)
	}
	if rt.HighRisk != nil {
		h = s.gate(rt, h)
	}
	if rt.Auth == User && accountRoute(rt) && strings.Contains(rt.Path, "{service_id}") {
		h = s.serviceActivity(h)
	}
	if rt.Auth != Public && accountRoute(rt) {
		h = s.admitAccount(rt, h)
	}
	h = s.authorize(rt, h)
	if rt.BodyLimit > 0 {
		h = bodyLimit(rt.BodyLimit, h)
	}
	if rt.RateLimit != nil {
		h = s.rateLimited(rt, h)
	}
	return h
}

// bodyLimit gives the route its own body limit in place of the server's.
func bodyLimit(limit int64, next HandlerFunc) HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		if raw, ok := r.Context().Value(rawBodyKey{}).(io.ReadCloser); ok {
			r.Body = http.MaxBytesReader(w, raw, limit)
		}
		return next(w, r)
	}
}

// serviceActivity reports a customer's successful request on one of their
// services to Deps.ServiceActivity, once the handler (and the transaction
// of an idempotent route) is done. Staff acting on a customer's account do
// not count as the customer using the service.
func (s *Server) serviceActivity(next HandlerFunc) HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		err := next(w, r)
		if err != nil || s.ServiceActivity == nil {
			return err
		}
		if p := PrincipalFrom(r.Context()); p == nil || p.StaffRole != "" {
			return nil
		}
		vars := mux.Vars(r)
		if aerr := s.ServiceActivity(r.Context(), vars["account_id"], vars["service_id"]); aerr != nil && s.Logger != nil {
			s.Logger.Warn("recording service activity", "service_id", vars["service_id"], "error", aerr)
		}
		return nil
	}
}

// adapt turns a HandlerFunc into an http.Handler that renders errors.
func (s *Server) adapt(path string, h HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if holder, ok := r.Context().Value(routeKey{}).(*string); ok {
			*holder = path
		}
		// A path parameter that cannot be stored cannot name an object.
		for _, v := range mux.Vars(r) {
			if !validText(v) {
				s.writeError(w, r, apperr.NotFoundf("no such object"))
				return
			}
		}
		if err := h(w, r); err != nil {
			s.writeError(w, r, err)
		}
	})
}

type principalKey struct{}

// PrincipalFrom returns the authenticated principal (nil on public routes).
func PrincipalFrom(ctx context.Context) *accounts.Principal {
	p, _ := ctx.Value(principalKey{}).(*accounts.Principal)
	return p
}

// authorize resolves the bearer token (or the browser's session cookie,
// see browser.go) and checks the route's requirements.
func (s *Server) authorize(rt Route, next HandlerFunc) HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		token, hasToken, viaCookie := credential(r, rt)
		if rt.Auth == Public && !hasToken {
			return next(w, r)
		}
		if !hasToken {
			return apperr.New(apperr.Unauthenticated, "this operation needs a bearer token").WithReason("missing_token")
		}
		p, err := s.Accounts.Authenticate(r.Context(), token)
		if err != nil {
			if apperr.CodeOf(err) != apperr.Unauthenticated {
				return err
			}
			if viaCookie {
				s.clearSessionCookies(w)
			}
			limited, lerr := s.invalidToken(r)
			if lerr != nil {
				return lerr
			}
			if rt.Auth == Public {
				// A stale token on a public route is ignored, not refused.
				return next(w, r)
			}
			if limited != nil {
				return limited
			}
			return err
		}
		if viaCookie {
			if err := s.checkCookieRequest(r, p, token); err != nil {
				return err
			}
		}
		ctx := context.WithValue(r.Context(), principalKey{}, p)
		meta := audit.MetaFrom(ctx)
		meta.ActorType, meta.ActorID = audit.ActorUser, p.UserID
		if p.StaffRole != "" {
			meta.ActorType = audit.ActorStaff
		}
		if p.TokenKind == accounts.KindPersonal {
			meta.ActorType = audit.ActorAPIToken
			meta.ActorID = p.UserID + "/" + p.TokenID
		}
		ctx = audit.WithMeta(ctx, meta)
		r = r.WithContext(ctx)
		if rt.Auth == Staff && (rt.StaffRole == "" || !p.IsStaff(rt.StaffRole)) {
			s.auditDenied(r, "staff_role_required")
			if rt.StaffRole == "" {
				return apperr.New(apperr.Forbidden, "this operation is open to no staff role")
			}
			return apperr.New(apperr.Forbidden, "this operation needs the staff role %q", rt.StaffRole)
		}
		if rt.Scope != "" && !p.HasScope(rt.Scope) {
			s.auditDenied(r, "scope_missing")
			return apperr.New(apperr.Forbidden, "the token lacks the scope %q", rt.Scope).WithReason("insufficient_scope")
		}
		if rt.Session && p.TokenKind != accounts.KindSession {
			s.auditDenied(r, "session_required")
			return apperr.New(apperr.Forbidden, "this operation needs a login session, not an API token").WithReason("session_required")
		}
		return next(w, r)
	}
}

// invalidToken counts a refused bearer token against the client's address
// and audits it. Beyond the invalid-token rule the client is answered 429
// and only the crossing is audited, so a client cycling through guessed
// tokens can neither guess at line rate nor flood the audit log.
func (s *Server) invalidToken(r *http.Request) (*apperr.Error, error) {
	rule := ratelimit.Rule{Limit: s.opts.InvalidTokenLimit, Window: s.opts.SensitiveWindow}
	n, retry, err := s.Limiter.Count(r.Context(), "auth:invalid_token:"+clientIP(r.Context()), rule)
	if err != nil {
		return nil, err
	}
	switch {
	case n <= rule.Limit:
		s.auditAuthFailure(r, "invalid_token")
		return nil, nil
	case n == rule.Limit+1:
		s.auditAuthFailure(r, "invalid_token_limit")
	}
	return &apperr.Error{Code: apperr.RateLimited, Message: "too many invalid tokens from this address; retry later", RetryAfter: retry}, nil
}

func (s *Server) auditAuthFailure(r *http.Request, reason string) {
	_ = audit.LogDetached(r.Context(), s.DB, audit.Event{
		Action: "auth.token", Result: audit.Failure, ActorType: audit.ActorAnonymous,
		Changes: map[string]any{"reason": reason, "method": r.Method, "path": r.URL.Path},
	}, s.reportAsync)
}

func (s *Server) auditDenied(r *http.Request, reason string) {
	_ = audit.LogDetached(r.Context(), s.DB, audit.Event{
		Action: "auth.denied", Result: audit.Denied,
		Changes: map[string]any{"reason": reason, "method": r.Method, "path": r.URL.Path},
	}, s.reportAsync)
}

func (s *Server) reportAsync(err error) {
	s.Logger.Error("writing audit event after the request", "error", err)
}

// rateLimited counts calls per client IP and answers 429 with Retry-After
// beyond the rule.
func (s *Server) rateLimited(rt Route, next HandlerFunc) HandlerFunc {
	bucket := rt.RateBucket
	if bucket == "" {
		bucket = rt.Method + " " + rt.Path
	}
	return func(w http.ResponseWriter, r *http.Request) error {
		ok, retry, err := s.Limiter.Hit(r.Context(), "http:"+bucket+":"+clientIP(r.Context()), *rt.RateLimit)
		if err != nil {
			return err
		}
		if !ok {
			return &apperr.Error{Code: apperr.RateLimited, Message: "too many requests; retry later", RetryAfter: retry}
		}
		return next(w, r)
	}
}

// sensitive is the rule for unauthenticated flows that send mail or check
// secrets.
func (s *Server) sensitive() *ratelimit.Rule {
	return &ratelimit.Rule{Limit: s.opts.SensitiveLimit, Window: s.opts.SensitiveWindow}
}

func bearerToken(r *http.Request) (string, bool) {
	h := r.Header.Get("Authorization")
	const prefix = "Bearer "
	if len(h) > len(prefix) && (h[:len(prefix)] == prefix || h[:len(prefix)] == "bearer ") {
		return h[len(prefix):], true
	}
	return "", false
}

// timeNow is replaced in tests that need a fixed clock.
var timeNow = func() time.Time { return time.Now().UTC() }
