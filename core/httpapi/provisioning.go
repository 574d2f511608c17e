package httpapi

import (
	"net/http"
	"strings"
	"time"

	"github.com/ezscale/platform/core/services"

	"github.com/gorilla/mux"

	"github.com/ezscale/platform/core/accounts"
	"github.com/ezscale/platform/core/apperr"
	"github.com/ezscale/platform/core/projects"
	"github.com/ezscale/platform/core/provisioning"
	"github.com/ezscale/platform/core/ratelimit"
)

// ProvisioningAPI is the customer's control of running services: power
// actions, single sign-on into the service's panel or session, usage
// samples and free-tier status (documented in openapi/60_provisioning.yaml).
type ProvisioningAPI struct {
	Provisioning *provisioning.Service
	// Projects filters the account's usage by project (?project_id=);
	// nil: no filter.
	Projects *projects.Service
	// ActionLimit bounds power actions and logins per client (default 60
	// a minute): each one is a call to a third-party backend.
	ActionLimit *ratelimit.Rule
	s           *Server
}

// Routes registers the provisioning routes.
func (m *ProvisioningAPI) Routes(s *Server) {
	m.s = s
	limit := m.ActionLimit
	if limit == nil {
		limit = &ratelimit.Rule{Limit: 60, Window: time.Minute}
	}
	svc := acct + "/services/{service_id}"
	// Power and login call the provisioner, which no transaction may wait
	// on, so they are not Idempotent in the request's transaction: the
	// Idempotency-Key goes to the plugin as the call's key instead.
	s.Handle(Route{Method: "POST", Path: svc + "/power", Auth: User, Members: operators, StaffRole: accounts.StaffAdmin, Scope: "services:write", RateLimit: limit, RateBucket: "service-actions", Handler: m.power})
	s.Handle(Route{Method: "POST", Path: svc + "/login-url", Auth: User, Members: operators, StaffRole: accounts.StaffAdmin, Scope: "services:write", RateLimit: limit, RateBucket: "service-actions", Handler: m.loginURL})
	s.Handle(Route{Method: "GET", Path: acct + "/usage", Auth: User, Members: anyMember, StaffRole: accounts.StaffSupport, Scope: "services:read", Handler: m.accountUsage})
	s.Handle(Route{Method: "GET", Path: svc + "/usage", Auth: User, Members: anyMember, StaffRole: accounts.StaffSupport, Scope: "services:read", Handler: m.usage})
	s.Handle(Route{Method: "GET", Path: svc + "/free-tier", Auth: User, Members: anyMember, StaffRole: accounts.StaffSupport, Scope: "services:read", Handler: m.freeTier})
}

type powerRequest struct {
	Action string `json:"action"`
}

func (m *ProvisioningAPI) power(w http.ResponseWriter, r *http.Request) error {
	acc := accountOf(r)
	var in powerRequest
	if err := Decode(r, &in); err != nil {
		return err
	}
	key := strings.TrimSpace(r.Header.Get("Idempotency-Key"))
	if len(key) > 255 || !validText(key) {
		return apperr.Field("Idempotency-Key", "must be at most 255 printable characters")
	}
	res, err := m.Provisioning.Power(r.Context(), acc, mux.Vars(r)["service_id"], in.Action, key)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, res)
}

func (m *ProvisioningAPI) loginURL(w http.ResponseWriter, r *http.Request) error {
	acc := accountOf(r)
	res, err := m.Provisioning.LoginURL(r.Context(), acc, mux.Vars(r)["service_id"])
	if err != nil {
		return err
	}
	w.Header().Set("Cache-Control", "no-store")
	return writeJSON(w, http.StatusOK, res)
}

func (m *ProvisioningAPI) usage(w http.ResponseWriter, r *http.Request) error {
	acc := accountOf(r)
	limit, after, err := PageParams(r)
	if err != nil {
		return err
	}
	q := provisioning.UsageQuery{Limit: limit + 1}
	var errs apperr.Fields
	for _, p := range []struct {
		name string
		dst  *time.Time
	}{{"since", &q.Since}, {"until", &q.Until}} {
		if v := r.URL.Query().Get(p.name); v != "" {
			t, err := time.Parse(time.RFC3339, v)
			if err != nil {
				errs.Add(p.name, "must be an RFC 3339 time such as 2026-03-01T00:00:00Z")
				continue
			}
			*p.dst = t
		}
	}
	if after != "" {
		t, err := time.Parse(time.RFC3339Nano, after)
		if err != nil {
			errs.Add("cursor", "is not a cursor returned by this API")
		}
		q.After = &t
	}
	if err := errs.Err(); err != nil {
		return err
	}
	samples, err := m.Provisioning.Usage(r.Context(), acc, mux.Vars(r)["service_id"], q)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, NewList(samples, limit, func(s provisioning.UsageSample) string {
		return s.SampledAt.UTC().Format(time.RFC3339Nano)
	}))
}

func (m *ProvisioningAPI) freeTier(w http.ResponseWriter, r *http.Request) error {
	acc := accountOf(r)
	st, err := m.Provisioning.FreeTier(r.Context(), acc, mux.Vars(r)["service_id"])
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, st)
}

// accountUsage lists the account's services with their latest usage,
// newest service first; ?project_id=ID narrows it to a project's services
// (none: those in no project), through projects' one check.
func (m *ProvisioningAPI) accountUsage(w http.ResponseWriter, r *http.Request) error {
	limit, after, err := PageParams(r)
	if err != nil {
		return err
	}
	f := services.Filter{AccountID: accountOf(r), After: after, Limit: limit + 1}
	if pid := r.URL.Query().Get("project_id"); pid != "" && m.Projects != nil {
		ids, exclude, err := m.Projects.ServiceScope(r.Context(), actorOf(r), pid)
		if err != nil {
			return err
		}
		f.Among = &services.Set{IDs: ids, Exclude: exclude}
	}
	rows, err := m.Provisioning.AccountUsage(r.Context(), f)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, NewList(rows, limit, func(u provisioning.ServiceUsage) string { return u.ServiceID }))
}
