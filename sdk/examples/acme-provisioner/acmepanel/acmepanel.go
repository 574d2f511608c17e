// Package acmepanel is a fake of "Acme Panel", the hosting panel the
// acme-provisioner example provisions on. It is the kind of API that makes
// a plugin author's life hard, on purpose:
//
//   - no idempotency keys: POST /servers twice makes two servers;
//   - state changes answer 204 with no body;
//   - a new server installs for a while ("installing") before it runs;
//   - an unknown server is a 404 with {"error": "…"}.
//
// API (JSON, "Authorization: Bearer <key>" on every request, else 401):
//
//	POST   /servers                  {"name","plan","owner","hostname"} → 201 server
//	GET    /servers?name=NAME        → 200 [server…] (exact name match)
//	GET    /servers/{id}             → 200 server | 404
//	POST   /servers/{id}/suspend     → 204 | 404
//	POST   /servers/{id}/unsuspend   → 204 | 404
//	DELETE /servers/{id}             → 204 | 404
//
// A server is {"id","name","plan","owner","hostname","status"} with status
// installing, running or suspended.
package acmepanel

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"sync"
)

// Server is one server of the panel.
type Server struct {
	ID       string `json:"id"`
	Name     string `json:"name"`
	Plan     string `json:"plan"`
	Owner    string `json:"owner"`
	Hostname string `json:"hostname,omitempty"`
	Status   string `json:"status"`
}

// Statuses.
const (
	StatusInstalling = "installing"
	StatusRunning    = "running"
	StatusSuspended  = "suspended"
)

// Panel is the fake. Use New; it is an http.Handler.
type Panel struct {
	key string
	// installReads is how many reads of a new server still see it
	// installing.
	installReads int

	mu      sync.Mutex
	next    int
	servers map[string]*Server
	reads   map[string]int
	creates int
}

// New returns a panel that accepts the API key key. A new server reads as
// installing for installReads reads after its creation, then running.
func New(key string, installReads int) *Panel {
	return &Panel{key: key, installReads: installReads, servers: map[string]*Server{}, reads: map[string]int{}}
}

// Named returns the servers named name, for tests.
func (p *Panel) Named(name string) []Server {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []Server
	for _, s := range p.servers {
		if s.Name == name {
			out = append(out, *s)
		}
	}
	return out
}

// Creates counts POST /servers that made a server.
func (p *Panel) Creates() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.creates
}

func (p *Panel) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Header.Get("Authorization") != "Bearer "+p.key {
		writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "invalid API key"})
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	path := strings.Trim(r.URL.Path, "/")
	parts := strings.Split(path, "/")
	switch {
	case path == "servers" && r.Method == http.MethodPost:
		var s Server
		if err := json.NewDecoder(r.Body).Decode(&s); err != nil || s.Name == "" || s.Plan == "" || s.Owner == "" {
			writeJSON(w, http.StatusUnprocessableEntity, map[string]string{"error": "name, plan and owner are required"})
			return
		}
		if s.Plan != "small" && s.Plan != "medium" && s.Plan != "large" {
			writeJSON(w, http.StatusUnprocessableEntity, map[string]string{"error": "no such plan: " + s.Plan})
			return
		}
		p.next++
		p.creates++
		s.ID, s.Status = strconv.Itoa(p.next), StatusInstalling
		p.servers[s.ID] = &s
		writeJSON(w, http.StatusCreated, s)
	case path == "servers" && r.Method == http.MethodGet:
		out := []Server{}
		for _, s := range p.servers {
			if s.Name == r.URL.Query().Get("name") {
				out = append(out, *p.read(s))
			}
		}
		writeJSON(w, http.StatusOK, out)
	case len(parts) >= 2 && parts[0] == "servers":
		s, ok := p.servers[parts[1]]
		if !ok {
			writeJSON(w, http.StatusNotFound, map[string]string{"error": "server not found"})
			return
		}
		switch {
		case len(parts) == 2 && r.Method == http.MethodGet:
			writeJSON(w, http.StatusOK, p.read(s))
		case len(parts) == 2 && r.Method == http.MethodDelete:
			delete(p.servers, s.ID)
			w.WriteHeader(http.StatusNoContent)
		case len(parts) == 3 && parts[2] == "suspend" && r.Method == http.MethodPost:
			s.Status = StatusSuspended
			w.WriteHeader(http.StatusNoContent)
		case len(parts) == 3 && parts[2] == "unsuspend" && r.Method == http.MethodPost:
			s.Status = StatusRunning
			w.WriteHeader(http.StatusNoContent)
		default:
			writeJSON(w, http.StatusNotFound, map[string]string{"error": "no such endpoint"})
		}
	default:
		writeJSON(w, http.StatusNotFound, map[string]string{"error": "no such endpoint"})
	}
}

// read is one read of s: installing ends after installReads reads.
func (p *Panel) read(s *Server) *Server {
	if s.Status == StatusInstalling {
		p.reads[s.ID]++
		if p.reads[s.ID] > p.installReads {
			s.Status = StatusRunning
		}
	}
	c := *s
	return &c
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}
