// Package fakevirtfusion is an in-memory VirtFusion API v1 that behaves like
// the real panel as far as the reference describes it: Bearer-token auth with
// Laravel's 401 body, users by extRelationId, packages, hypervisor groups with
// Laravel pagination, servers that are "allocated" when created and "queued"
// once built, suspend/unsuspend/delete with {"msg":"server not found"} for a
// missing server, 422 {"errors":[…]} validation, 423 for a server locked by a
// task, power actions answering a queue id, traffic and backups, every list
// paginated (20 per page by default, GET /servers/user/{id} included), SSO
// endpoints relative to the panel's origin, and a live remoteState whose only
// running flag is its state.
//
// Tests make it misbehave through Go methods (FailNext, LoseNext, SetLatency,
// SetRateLimit, LockServer); a fake started as a process can be driven the
// same way over /__fake/ (see package fault).
package fakevirtfusion

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/ezscale/platform/plugins/internal/fault"
	vf "github.com/ezscale/platform/plugins/virtfusion/virtfusionapi"
)

// BasePath is where the API is mounted, as on a real panel.
const BasePath = "/api/v1"

// Options configure a Fake.
type Options struct {
	// Token is the only API token accepted. Default "vf-test-token".
	Token string
	// NowFunc is the fake's clock. Default time.Now.
	NowFunc func() time.Time
	// HypervisorScale multiplies the seeded hypervisors' capacity (servers,
	// cores, memory, storage), for load tests; default 1 (1,000 servers per
	// hypervisor of group 1).
	HypervisorScale int
}

// Fake is an http.Handler serving the VirtFusion API from memory. It is safe
// for concurrent use.
type Fake struct {
	token   string
	now     func() time.Time
	mux     *http.ServeMux
	faults  fault.Injector
	limiter *fault.Limiter

	mu           sync.Mutex
	users        map[int64]*vf.User // by id
	byExt        map[int64]int64    // extRelationId → id
	packages     map[int64]*vf.Package
	groups       []*vf.HypervisorGroup
	hypervisors  []*vf.Hypervisor
	servers      map[int64]*serverState
	templates    map[int64]string
	nextUser     int64
	nextServer   int64
	nextQueue    int64
	nextBackup   int64
	nextIP       int
	pendingTasks map[int64]bool
	storagePerHV int64 // GB
}

type serverState struct {
	vf.Server
	power       string
	backups     []vf.Backup
	rx, tx      int64
	cpuPercent  float64
	memUsedMB   int64
	diskUsedGB  int64
	deleteAfter *time.Time
}

// New returns a Fake seeded with packages 1–4 (4 disabled), hypervisor groups 1 and 2
// (three hypervisors) and OS templates 1–3.
func New(opts Options) *Fake {
	if opts.Token == "" {
		opts.Token = "vf-test-token"
	}
	if opts.NowFunc == nil {
		opts.NowFunc = time.Now
	}
	f := &Fake{
		token:        opts.Token,
		now:          opts.NowFunc,
		limiter:      fault.NewLimiter(0, time.Minute),
		users:        map[int64]*vf.User{},
		byExt:        map[int64]int64{},
		packages:     map[int64]*vf.Package{},
		servers:      map[int64]*serverState{},
		pendingTasks: map[int64]bool{},
		templates:    map[int64]string{1: "Ubuntu 24.04", 2: "Debian 12", 3: "AlmaLinux 9"},
		nextUser:     1,
		nextServer:   1,
		nextQueue:    1000,
		nextBackup:   1,
	}
	f.seed(int64(max(1, opts.HypervisorScale)))
	f.routes()
	return f
}

func (f *Fake) seed(scale int64) {
	created := f.stamp()
	for _, p := range []vf.Package{
		{ID: 1, Name: "VPS Micro", Enabled: true, Memory: 1024, PrimaryStorage: 10, Traffic: 200, CPUCores: 1},
		{ID: 2, Name: "VPS Small", Enabled: true, Memory: 2048, PrimaryStorage: 40, Traffic: 1000, CPUCores: 2},
		{ID: 3, Name: "VPS Medium", Enabled: true, Memory: 4096, PrimaryStorage: 80, Traffic: 2000, CPUCores: 4},
		{ID: 4, Name: "Retired", Enabled: false, Memory: 512, PrimaryStorage: 5, Traffic: 100, CPUCores: 1},
	} {
		p.PrimaryDiskType, p.PrimaryStorageProfile, p.Created = "inherit", 1, created
		f.packages[p.ID] = &p
	}
	desc := "Default group"
	f.groups = []*vf.HypervisorGroup{
		{ID: 1, Name: "Default", Description: &desc, Enabled: true, Default: true, Created: created, Updated: created},
		{ID: 2, Name: "NVMe", Enabled: true, Created: created, Updated: created},
	}
	f.hypervisors = []*vf.Hypervisor{
		{ID: 14, Name: "hv-1", IP: "192.0.2.14", GroupID: 1, Enabled: true, MaxServers: 1000 * scale, MaxCPU: 1024 * scale, MaxMemory: 2 << 20 * scale},
		{ID: 15, Name: "hv-2", IP: "192.0.2.15", GroupID: 1, Enabled: true, MaxServers: 1000 * scale, MaxCPU: 1024 * scale, MaxMemory: 2 << 20 * scale},
		{ID: 16, Name: "hv-nvme-1", IP: "192.0.2.16", GroupID: 2, Enabled: true, MaxServers: 50 * scale, MaxCPU: 32 * scale, MaxMemory: 65536 * scale},
	}
	f.storagePerHV = 100000 * scale
}

// ServeHTTP implements http.Handler.
func (f *Fake) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if strings.HasPrefix(r.URL.Path, fault.ControlPrefix) {
		f.faults.ControlHandler().ServeHTTP(w, r)
		return
	}
	f.mux.ServeHTTP(w, r)
}

// handle registers h behind the fake's middleware under its own pattern.
func (f *Fake) handle(pattern string, h http.HandlerFunc) {
	f.mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) { f.serve(pattern, w, r, h) })
}

// serve runs the fake's middleware for route, then h: latency and injected
// failures, rate limiting, then the token check.
func (f *Fake) serve(route string, w http.ResponseWriter, r *http.Request, h http.HandlerFunc) {
	w.Header().Set("Content-Type", "application/json")
	if fl, ok := f.faults.Before(r.Context(), route); ok {
		f.writeFailure(w, fl)
		return
	}
	// A lost call is acted on; its answer never arrives.
	f.faults.Losing(route, func(w http.ResponseWriter, r *http.Request) { f.serveAuthorized(w, r, h) })(w, r)
}

// serveAuthorized runs the rate limit and the token check, then h.
func (f *Fake) serveAuthorized(w http.ResponseWriter, r *http.Request, h http.HandlerFunc) {
	if ok, limit, remaining, reset := f.limiter.Allow(f.now()); limit > 0 {
		w.Header().Set("X-RateLimit-Limit", strconv.Itoa(limit))
		w.Header().Set("X-RateLimit-Remaining", strconv.Itoa(remaining))
		if !ok {
			w.Header().Set("Retry-After", strconv.Itoa(fault.RetryAfterSeconds(reset)))
			writeJSON(w, http.StatusTooManyRequests, map[string]string{"message": "Too Many Attempts."})
			return
		}
	}
	if r.Header.Get("Authorization") != "Bearer "+f.token {
		writeJSON(w, http.StatusUnauthorized, map[string]string{"message": "Unauthenticated."})
		return
	}
	h(w, r)
}

// writeFailure answers an injected failure with the body VirtFusion uses for
// that status.
func (f *Fake) writeFailure(w http.ResponseWriter, fl fault.Failure) {
	if fl.RetryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(fault.RetryAfterSeconds(fl.RetryAfter)))
	}
	msg := func(def string) string {
		if fl.Message != "" {
			return fl.Message
		}
		return def
	}
	switch {
	case fl.Status == http.StatusUnauthorized:
		writeJSON(w, fl.Status, map[string]string{"message": msg("Unauthenticated.")})
	case fl.Status == http.StatusNotFound:
		writeJSON(w, fl.Status, map[string]string{"msg": msg("server not found")})
	case fl.Status == http.StatusUnprocessableEntity:
		writeJSON(w, fl.Status, map[string][]string{"errors": {msg("The given data was invalid.")}})
	case fl.Status == http.StatusLocked:
		writeJSON(w, fl.Status, map[string]string{"msg": msg("server is locked by a running task")})
	case fl.Status == http.StatusTooManyRequests:
		if fl.RetryAfter <= 0 {
			w.Header().Set("Retry-After", "60")
		}
		writeJSON(w, fl.Status, map[string]string{"message": msg("Too Many Attempts.")})
	case fl.Status >= 500:
		writeJSON(w, fl.Status, map[string]string{"message": msg("Server Error")})
	default:
		writeJSON(w, fl.Status, map[string]string{"msg": msg(http.StatusText(fl.Status))})
	}
}

// FailNext makes the next f.Times calls of route (a pattern such as
// "POST /api/v1/servers", or "*") fail with f.Status.
func (f *Fake) FailNext(route string, fl fault.Failure) { f.faults.FailNext(route, fl) }

// LoseNext makes the next times calls of route act but lose their answer:
// "POST /api/v1/servers" then leaves an unnamed server in state allocated,
// holding an IP, while the client sees the connection drop.
func (f *Fake) LoseNext(route string, times int) { f.faults.LoseNext(route, times) }

// SetLatency delays every call of route by d.
func (f *Fake) SetLatency(route string, d time.Duration) { f.faults.SetLatency(route, d) }

// Calls returns how many requests matched route ("*" for all).
func (f *Fake) Calls(route string) int { return f.faults.Calls(route) }

// SetRateLimit answers 429 with Retry-After once more than limit requests
// arrive in a window; 0 disables it (the default).
func (f *Fake) SetRateLimit(limit int, window time.Duration) { f.limiter.Set(limit, window) }

// LockServer makes every action on the server answer 423, as while a task
// runs on it, until unlocked.
func (f *Fake) LockServer(serverID int64, locked bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if locked {
		f.pendingTasks[serverID] = true
	} else {
		delete(f.pendingTasks, serverID)
	}
}

// SetUsage sets the traffic counters (bytes) and live usage the fake reports
// for a server.
func (f *Fake) SetUsage(serverID int64, rx, tx int64, cpuPercent float64, memUsedMB, diskUsedGB int64) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	s, ok := f.servers[serverID]
	if !ok {
		return fmt.Errorf("no server %d", serverID)
	}
	s.rx, s.tx, s.cpuPercent, s.memUsedMB, s.diskUsedGB = rx, tx, cpuPercent, memUsedMB, diskUsedGB
	return nil
}

// AddBackup records a completed backup of a server.
func (f *Fake) AddBackup(serverID int64) (vf.Backup, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	s, ok := f.servers[serverID]
	if !ok {
		return vf.Backup{}, fmt.Errorf("no server %d", serverID)
	}
	b := vf.Backup{ID: f.nextBackup, ServerID: serverID, Complete: true, Created: f.stamp(), Updated: f.stamp()}
	b.Storage.ID, b.Storage.Name, b.Storage.Enabled = 1, "Local", true
	f.nextBackup++
	s.backups = append(s.backups, b)
	return b, nil
}

// ServerSnapshot returns a copy of a server as the API would show it, and its
// power state ("running" or "shutoff").
func (f *Fake) ServerSnapshot(serverID int64) (vf.Server, string, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	s, ok := f.servers[serverID]
	if !ok {
		return vf.Server{}, "", false
	}
	return s.Server, s.power, true
}

// ServerCount returns how many servers exist.
func (f *Fake) ServerCount() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.servers)
}

// UserCount returns how many users exist.
func (f *Fake) UserCount() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.users)
}

func (f *Fake) stamp() string { return f.now().UTC().Format("2006-01-02T15:04:05-07:00") }

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	if v != nil {
		_ = json.NewEncoder(w).Encode(v)
	}
}

type data struct {
	Data any `json:"data"`
}

func notFound(w http.ResponseWriter, what string) {
	writeJSON(w, http.StatusNotFound, map[string]string{"msg": what + " not found"})
}

func invalid(w http.ResponseWriter, msgs ...string) {
	writeJSON(w, http.StatusUnprocessableEntity, map[string][]string{"errors": msgs})
}

func locked(w http.ResponseWriter) {
	writeJSON(w, http.StatusLocked, map[string]string{"msg": "server is locked by a running task"})
}

// decode reads a JSON body; an empty body decodes to the zero value as
// Laravel treats a missing body as no input.
func decode(r *http.Request, v any) error {
	if r.ContentLength == 0 {
		return nil
	}
	if err := json.NewDecoder(r.Body).Decode(v); err != nil {
		return fmt.Errorf("the request body is not valid JSON")
	}
	return nil
}

func pathID(r *http.Request, name string) (int64, bool) {
	n, err := strconv.ParseInt(r.PathValue(name), 10, 64)
	return n, err == nil && n > 0
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func newUUID() string {
	h := randomHex(16)
	return h[0:8] + "-" + h[8:12] + "-4" + h[13:16] + "-a" + h[17:20] + "-" + h[20:32]
}

func baseURL(r *http.Request) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}
