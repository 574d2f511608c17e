// Package httpapi is the HTTP adapter over the domain services: routing
// (gorilla/mux), authentication, problem+json errors, request ids, body
// limits, strict JSON decoding, cursor pagination, Idempotency-Key handling,
// rate limits, metrics and the OpenAPI document.
//
// Data flows one way: handler → domain service → storage. Handlers decode and
// validate the shape of a request, call one service method, and encode the
// result; the rules live in the services.
package httpapi

import (
	"context"
	"net/http"
	"net/netip"
	"time"

	"github.com/gorilla/mux"
	"github.com/hashicorp/go-hclog"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/ezscale/platform/core/accounts"
	"github.com/ezscale/platform/core/approval"
	"github.com/ezscale/platform/core/database"
	"github.com/ezscale/platform/core/ratelimit"
)

// Options configure the HTTP layer.
type Options struct {
	BodyLimit      int64
	TrustedProxies []netip.Prefix
	// RequestTimeout bounds a request's context, so a stuck query ends as
	// an error instead of holding a connection forever.
	RequestTimeout time.Duration
	// Auth limits for sensitive unauthenticated flows (reset, verify).
	SensitiveLimit  int
	SensitiveWindow time.Duration
	// InvalidTokenLimit bounds refused bearer tokens per client address
	// per SensitiveWindow (default 30); beyond it the client gets 429s
	// and the audit log one event for the crossing.
	InvalidTokenLimit int
	// PublicURL is where customers reach the platform; browser session
	// cookies are Secure when it is https.
	PublicURL string
}

// Deps are the services the handlers call.
type Deps struct {
	DB       *database.DB
	Accounts *accounts.Service
	Limiter  *ratelimit.Limiter
	Logger   hclog.Logger
	Registry prometheus.Registerer
	// Ready reports whether the process can serve (database reachable,
	// migrations applied); /readyz answers 503 otherwise.
	Ready func(ctx context.Context) error
	// ServiceActivity, when set, is told about every successful customer
	// request on a service (routes under /accounts/{account_id} with a
	// {service_id}), after the handler: the free tier's activity clock.
	// It must be cheap; its errors are logged, never returned.
	ServiceActivity func(ctx context.Context, accountID, serviceID string) error
	// Approvals is the high-risk gate of routes with HighRisk set; nil:
	// those routes run ungated (tests of other layers).
	Approvals *approval.Service
	// AccountCurrency, when set, is an account's currency (ISO 4217, ""
	// when it has none yet): the high-risk `currency` fact of an action
	// that moves an amount in an account (core/billing).
	AccountCurrency func(ctx context.Context, accountID string) (string, error)
}

// Server is the HTTP API.
type Server struct {
	Deps
	opts    Options
	router  *mux.Router
	routes  []Route
	metrics *httpMetrics
	// extra mounts registered by other packages (plugins, billing, …).
	modules []Module
	// held maps "METHOD template" of gated routes to what executes an
	// approved request (approvals.go).
	held map[string]heldRoute
}

// Module lets a domain package add its routes without this package
// importing it: it is given the server and registers with Handle.
type Module interface {
	Routes(s *Server)
}

// New builds the server and registers every route.
func New(deps Deps, opts Options, modules ...Module) *Server {
	if opts.BodyLimit <= 0 {
		opts.BodyLimit = 1 << 20
	}
	if opts.RequestTimeout <= 0 {
		opts.RequestTimeout = 60 * time.Second
	}
	if opts.SensitiveLimit <= 0 {
		opts.SensitiveLimit = 10
	}
	if opts.SensitiveWindow <= 0 {
		opts.SensitiveWindow = 15 * time.Minute
	}
	if opts.InvalidTokenLimit <= 0 {
		opts.InvalidTokenLimit = 30
	}
	if deps.Logger == nil {
		deps.Logger = hclog.NewNullLogger()
	}
	s := &Server{Deps: deps, opts: opts, router: mux.NewRouter(), modules: modules}
	s.metrics = newHTTPMetrics(deps.Registry)
	s.router.NotFoundHandler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.writeProblem(w, r, problemNotFoundRoute())
	})
	s.router.MethodNotAllowedHandler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.writeProblem(w, r, problemMethodNotAllowed())
	})
	s.registerCore()
	for _, m := range modules {
		m.Routes(s)
	}
	return s
}

// Handler returns the root handler with the outer middleware applied.
func (s *Server) Handler() http.Handler {
	return s.outer(s.router)
}

// Routes lists every registered API route (for the OpenAPI coverage test).
func (s *Server) Routes() []Route { return s.routes }

// Limits returns the options, for modules that apply the same limits.
func (s *Server) Limits() Options { return s.opts }
