package httpapi

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/gorilla/mux"
	"github.com/uptrace/bun"

	"github.com/ezscale/platform/core/accounts"
	"github.com/ezscale/platform/core/apperr"
	"github.com/ezscale/platform/core/audit"
	"github.com/ezscale/platform/core/pluginhost"
)

// PluginsAPI is the admin view of the plugin host: list the configured
// plugins with their state, and restart one (which also closes an open
// crash-loop breaker or re-enables a disabled plugin).
type PluginsAPI struct {
	Host *pluginhost.Host
	// RestartWait bounds how long a restart request waits for the plugin to
	// run or fail before answering with its current state. [30s]
	RestartWait time.Duration
}

// Routes implements Module.
func (m *PluginsAPI) Routes(s *Server) {
	s.Handle(Route{Method: "GET", Path: "/api/v1/admin/plugins", Auth: Staff, StaffRole: accounts.StaffAdmin, Scope: "admin:read",
		Handler: m.list})
	s.Handle(Route{Method: "POST", Path: "/api/v1/admin/plugins/{name}/restart", Auth: Staff, StaffRole: accounts.StaffAdmin, Scope: "admin:write",
		HighRisk: &HighRisk{Action: "plugins.restart", TargetType: "plugin", TargetVar: "name"}, Handler: func(w http.ResponseWriter, r *http.Request) error { return m.restart(s, w, r) }})
}

// PluginView is the API shape of a plugin's status.
type PluginView struct {
	Name         string   `json:"name"`
	Version      string   `json:"version"`
	Kinds        []string `json:"kinds"`
	Capabilities []string `json:"capabilities"`
	// State is starting, running, restarting, failed or disabled.
	State     string `json:"state"`
	Restarts  int    `json:"restarts"`
	LastError string `json:"last_error"`
	// PID and StartedAt are null while no process runs.
	PID       *int       `json:"pid"`
	StartedAt *time.Time `json:"started_at"`
	Health    HealthView `json:"health"`
}

// HealthView is the supervisor's latest health round of a plugin: the
// plugin's own health check and, for a provisioner, its backend's.
type HealthView struct {
	// Status is unknown (no round yet for this process), healthy or
	// unhealthy.
	Status  string `json:"status"`
	Message string `json:"message"`
	// CheckedAt and LatencyMS are null before the first round.
	CheckedAt *time.Time `json:"checked_at"`
	LatencyMS *float64   `json:"latency_ms"`
	// Failures counts consecutive unhealthy rounds.
	Failures int `json:"failures"`
}

func pluginView(in pluginhost.Info) PluginView {
	v := PluginView{
		Name: in.Name, Version: in.Version, Kinds: in.Kinds, Capabilities: in.Capabilities,
		State: string(in.State), Restarts: in.Restarts, LastError: in.LastError,
	}
	if in.PID > 0 {
		pid, at := in.PID, in.StartedAt.UTC()
		v.PID, v.StartedAt = &pid, &at
	}
	h := in.Health
	v.Health = HealthView{Status: string(h.Status), Message: h.Message, Failures: h.Failures}
	if v.Health.Status == "" {
		v.Health.Status = string(pluginhost.HealthUnknown)
	}
	if !h.CheckedAt.IsZero() {
		at, ms := h.CheckedAt.UTC(), float64(h.Latency.Microseconds())/1000
		v.Health.CheckedAt, v.Health.LatencyMS = &at, &ms
	}
	return v
}

// list answers every configured plugin, sorted by name. The set is bounded
// by the config file, so there is one page and next_cursor is always empty.
func (m *PluginsAPI) list(w http.ResponseWriter, _ *http.Request) error {
	all := m.Host.List()
	out := List[PluginView]{Data: make([]PluginView, 0, len(all))}
	for _, in := range all {
		out.Data = append(out.Data, pluginView(in))
	}
	return writeJSON(w, http.StatusOK, out)
}

// restart restarts the plugin and answers its state once it runs, has
// failed again, or RestartWait has passed (it then keeps starting in the
// background). The restart is audited with its outcome.
func (m *PluginsAPI) restart(s *Server, w http.ResponseWriter, r *http.Request) error {
	name := mux.Vars(r)["name"]
	before, err := m.Host.Get(name)
	if errors.Is(err, pluginhost.ErrUnknownPlugin) {
		return apperr.New(apperr.NotFound, "no plugin named %q is configured", name)
	}
	if err != nil {
		return err
	}
	wait := m.RestartWait
	if wait <= 0 {
		wait = 30 * time.Second
	}
	ctx, cancel := context.WithTimeout(r.Context(), wait)
	restartErr := m.Host.Restart(ctx, name)
	cancel()
	after, err := m.Host.Get(name)
	if err != nil {
		return err
	}
	if restartErr != nil && after.State == pluginhost.StateDisabled {
		// The host is shutting down: nothing was restarted.
		return apperr.New(apperr.Unavailable, "the plugin host is shutting down; retry on another replica")
	}
	ev := audit.Event{
		Action: "plugin.restart", TargetType: "plugin", TargetID: name,
		Changes: map[string]any{"state_before": string(before.State), "state": string(after.State), "restarts": after.Restarts},
	}
	if after.State != pluginhost.StateRunning {
		ev.Result = audit.Failure
		ev.Changes["error"] = after.LastError
	}
	// The plugin call is over: the audit transaction holds no lock across it.
	if err := s.DB.Tx(r.Context(), func(ctx context.Context, tx bun.Tx) error {
		_, err := audit.Append(ctx, tx, ev)
		return err
	}); err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, pluginView(after))
}
