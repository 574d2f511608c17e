package httpapi

import (
	"context"
	"encoding/base64"
	"net/http"

	"github.com/gorilla/mux"

	"github.com/ezscale/platform/core/accounts"
	"github.com/ezscale/platform/core/monitoring"
)

// MonitoringAPI is game-server monitoring: a service's players, rank,
// uptime and player chart from the public listings, its monitor settings,
// and the staff list of monitored servers.
type MonitoringAPI struct {
	Monitoring *monitoring.Service
}

// Routes registers monitoring's routes.
func (m *MonitoringAPI) Routes(s *Server) {
	svc := acct + "/services/{service_id}/monitoring"
	s.Handle(Route{Method: "GET", Path: svc, Auth: User, Members: anyMember, StaffRole: accounts.StaffSupport, Scope: "services:read",
		Handler: m.summary()})
	s.Handle(Route{Method: "GET", Path: svc + "/settings", Auth: User, Members: anyMember, StaffRole: accounts.StaffSupport,
		Scope: "services:read", Handler: m.settings()})
	s.Handle(Route{Method: "PUT", Path: svc + "/settings", Auth: User, Members: operators, StaffRole: accounts.StaffAdmin,
		Scope: "services:write", Handler: m.setSettings()})
	s.Handle(Route{Method: "GET", Path: "/api/v1/admin/monitoring/servers", Auth: Staff, StaffRole: accounts.StaffSupport,
		Scope: "admin:read", Handler: m.listServers})
}

func (m *MonitoringAPI) summary() HandlerFunc {
	return with(func(ctx context.Context, w http.ResponseWriter, r *http.Request, account string) error {
		sum, err := m.Monitoring.Summary(ctx, account, mux.Vars(r)["service_id"], r.URL.Query().Get("range"))
		if err != nil {
			return err
		}
		return writeJSON(w, http.StatusOK, sum)
	})
}

func (m *MonitoringAPI) settings() HandlerFunc {
	return with(func(ctx context.Context, w http.ResponseWriter, r *http.Request, account string) error {
		st, err := m.Monitoring.Settings(ctx, account, mux.Vars(r)["service_id"])
		if err != nil {
			return err
		}
		return writeJSON(w, http.StatusOK, st)
	})
}

func (m *MonitoringAPI) setSettings() HandlerFunc {
	return with(func(ctx context.Context, w http.ResponseWriter, r *http.Request, account string) error {
		var in monitoring.SettingsInput
		if err := Decode(r, &in); err != nil {
			return err
		}
		st, err := m.Monitoring.SetSettings(ctx, account, mux.Vars(r)["service_id"], in)
		if err != nil {
			return err
		}
		return writeJSON(w, http.StatusOK, st)
	})
}

func (m *MonitoringAPI) listServers(w http.ResponseWriter, r *http.Request) error {
	limit, after, err := PageParams(r)
	if err != nil {
		return err
	}
	page, err := m.Monitoring.ListServers(r.Context(), after, limit)
	if err != nil {
		return err
	}
	out := List[monitoring.Monitor]{Data: page.Data}
	if page.NextCursor != "" {
		out.NextCursor = base64.RawURLEncoding.EncodeToString([]byte(page.NextCursor))
	}
	return writeJSON(w, http.StatusOK, out)
}
