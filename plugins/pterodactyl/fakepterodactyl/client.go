package fakepterodactyl

import (
	"net/http"
	"slices"
	"strings"

	pt "github.com/ezscale/platform/plugins/pterodactyl/pterodactylapi"
)

// stateConflict is the panel's Server::validateCurrentState: every Client
// API server route except the server view answers 409 while the server is
// suspended, its node is in maintenance, or it is (re)installing or
// restoring a backup.
func (f *Fake) stateConflict(w http.ResponseWriter, s *serverState) bool {
	var detail string
	switch {
	case s.Suspended:
		detail = "This server is currently suspended and the functionality requested is unavailable."
	case f.nodeByID(s.Node) != nil && f.nodeByID(s.Node).MaintenanceMode:
		detail = "The node of this server is currently under maintenance and the functionality requested is unavailable."
	case s.StatusString() == pt.StatusInstalling || s.StatusString() == pt.StatusInstallFailed || s.StatusString() == pt.StatusReinstallFailed:
		detail = "This server has not yet completed its installation process, please try again later."
	case s.StatusString() == pt.StatusRestoringBackup:
		detail = "This server is currently restoring from a backup, please try again later."
	default:
		return false
	}
	writeConflict(w, detail)
	return true
}

func (f *Fake) clientServer(w http.ResponseWriter, _ *http.Request, s *serverState) {
	var out pt.ClientServer
	out.ServerOwner = true
	out.Identifier, out.InternalID, out.UUID, out.Name, out.Description = s.Identifier, s.ID, s.UUID, s.Name, s.Description
	if n := f.nodeByID(s.Node); n != nil {
		out.Node = n.Name
		out.SFTPDetails.IP, out.SFTPDetails.Port = n.FQDN, n.DaemonSFTP
	}
	out.Limits, out.FeatureLimits = s.Limits, s.FeatureLimits
	out.Invocation, out.DockerImage = s.Container.StartupCommand, s.Container.Image
	out.Status, out.IsSuspended = s.Status, s.Suspended
	out.IsInstalling = s.StatusString() == pt.StatusInstalling
	body := item("server", out)
	body["meta"] = map[string]any{"is_server_owner": true, "user_permissions": []string{"*"}}
	writeJSON(w, http.StatusOK, body)
}

func (f *Fake) power(w http.ResponseWriter, r *http.Request, s *serverState) {
	var req struct {
		Signal string `json:"signal"`
	}
	if !decodeBody(w, r, &req) {
		return
	}
	valid := []string{string(pt.SignalStart), string(pt.SignalStop), string(pt.SignalRestart), string(pt.SignalKill)}
	if !slices.Contains(valid, req.Signal) {
		writeValidation(w, []fieldError{{"signal", "in", "The selected signal is invalid."}})
		return
	}
	if f.stateConflict(w, s) {
		return
	}
	switch pt.Signal(req.Signal) {
	case pt.SignalStart, pt.SignalRestart:
		if s.power != pt.StateRunning || req.Signal == string(pt.SignalRestart) {
			s.startedAt = f.now()
		}
		s.power = pt.StateRunning
	default:
		s.power = pt.StateOffline
	}
	writeJSON(w, http.StatusNoContent, nil)
}

func (f *Fake) resources(w http.ResponseWriter, _ *http.Request, s *serverState) {
	if f.stateConflict(w, s) {
		return
	}
	var out pt.Stats
	if s.stats != nil {
		out = *s.stats
	} else if s.power == pt.StateRunning {
		// A plausible idle game server: a quarter of its memory, a little
		// CPU, and traffic growing with uptime.
		up := f.now().Sub(s.startedAt).Milliseconds()
		out.Resources.MemoryBytes = s.Limits.Memory << 20 / 4
		out.Resources.CPUAbsolute = 5.0
		out.Resources.NetworkRxBytes, out.Resources.NetworkTxBytes = up*10, up*5
		out.Resources.Uptime = up
	}
	out.Resources.DiskBytes = max(out.Resources.DiskBytes, 128<<20)
	out.CurrentState, out.IsSuspended = s.power, s.Suspended
	writeJSON(w, http.StatusOK, item("stats", out))
}

func (f *Fake) command(w http.ResponseWriter, r *http.Request, s *serverState) {
	var req struct {
		Command string `json:"command"`
	}
	if !decodeBody(w, r, &req) {
		return
	}
	if strings.TrimSpace(req.Command) == "" {
		writeValidation(w, []fieldError{{"command", "required", "The command field is required."}})
		return
	}
	if f.stateConflict(w, s) {
		return
	}
	if s.power != pt.StateRunning {
		writeError(w, http.StatusBadGateway, "HttpException", "Server must be online in order to send commands.")
		return
	}
	s.commands = append(s.commands, req.Command)
	writeJSON(w, http.StatusNoContent, nil)
}
