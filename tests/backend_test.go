package tests

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"
)

// backendCall is one action or create that reached the fake backend.
type backendCall struct {
	Key       string `json:"key"`
	Action    string `json:"action"`
	ServiceID string `json:"service_id"`
	Name      string `json:"name"`
	Script    string `json:"script"`
	PID       int    `json:"pid"`
	PPID      int    `json:"ppid"`
}

type backupJSON struct {
	ID     string `json:"id"`
	Name   string `json:"name"`
	Type   string `json:"type"`
	Status string `json:"status"`
}

// fakeBackend is the backend behind the recprov plugin processes, served
// by the test process: it records every action and create that reaches
// it, keeps what a real backend would (when each server last restarted,
// the backups and snapshots made, the servers created) and answers the
// plugins' reads from it. While held, a call takes effect and then waits
// at the gate until the test releases it, so a test can kill a replica or
// cut the database while calls are in flight. Its time is the replicas'
// (now), as a real backend's agrees with the core's.
type fakeBackend struct {
	url string
	now func() time.Time

	mu        sync.Mutex
	calls     []backendCall
	restarted map[string]time.Time
	backups   map[string][]backupJSON
	servers   map[string]string
	reads     int
	gate      chan struct{} // nil: calls answer at once
	changed   chan struct{} // closed and replaced on every call
}

func newFakeBackend(t testing.TB, now func() time.Time) *fakeBackend {
	t.Helper()
	f := &fakeBackend{now: now, restarted: map[string]time.Time{}, backups: map[string][]backupJSON{}, servers: map[string]string{},
		changed: make(chan struct{})}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /act", f.act)
	mux.HandleFunc("GET /info", f.info)
	mux.HandleFunc("GET /backups", f.listBackups)
	mux.HandleFunc("GET /servers", f.findServer)
	mux.HandleFunc("POST /servers", f.createServer)
	srv := httptest.NewServer(mux)
	t.Cleanup(func() {
		f.release()
		srv.Close()
	})
	f.url = srv.URL
	return f
}

// hold makes the next calls wait at a gate after taking effect.
func (f *fakeBackend) hold() {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.gate == nil {
		f.gate = make(chan struct{})
	}
}

// release opens the gate: held calls answer, later ones do not wait.
func (f *fakeBackend) release() {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.gate != nil {
		close(f.gate)
		f.gate = nil
	}
}

// record notes a call (under f.mu) and returns the gate to wait at.
func (f *fakeBackend) record(c backendCall) chan struct{} {
	f.calls = append(f.calls, c)
	f.notify()
	return f.gate
}

// notify wakes the waiters (under f.mu).
func (f *fakeBackend) notify() {
	close(f.changed)
	f.changed = make(chan struct{})
}

// read counts a read (under f.mu).
func (f *fakeBackend) read() {
	f.reads++
	f.notify()
}

// await blocks a held call until the gate opens or its caller is gone.
func await(r *http.Request, gate chan struct{}) {
	if gate == nil {
		return
	}
	select {
	case <-gate:
	case <-r.Context().Done():
	}
}

func (f *fakeBackend) act(w http.ResponseWriter, r *http.Request) {
	var c backendCall
	if err := json.NewDecoder(r.Body).Decode(&c); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	res := map[string]any{"id": "obj-" + c.Key, "output": c.Action + " done", "exit": 0}
	f.mu.Lock()
	switch c.Action {
	case "power_restart", "power_boot":
		f.restarted[c.ServiceID] = f.now()
	case "snapshot", "backup":
		f.backups[c.ServiceID] = append(f.backups[c.ServiceID], backupJSON{ID: "obj-" + c.Key, Name: c.Name, Type: c.Action, Status: "completed"})
	case "run_script":
		if c.Script == "fail" {
			res["output"], res["exit"] = "something went wrong", 1
		}
	}
	gate := f.record(c)
	f.mu.Unlock()
	await(r, gate)
	writeBackendJSON(w, res)
}

func (f *fakeBackend) info(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	f.read()
	at, ok := f.restarted[r.URL.Query().Get("service_id")]
	f.mu.Unlock()
	out := map[string]string{"power_state": "running"}
	if ok {
		out["power_changed_at"] = at.Format(time.RFC3339Nano)
	}
	writeBackendJSON(w, out)
}

func (f *fakeBackend) listBackups(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	f.read()
	list := append([]backupJSON{}, f.backups[r.URL.Query().Get("service_id")]...)
	f.mu.Unlock()
	writeBackendJSON(w, list)
}

func (f *fakeBackend) findServer(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	f.read()
	ext, ok := f.servers[r.URL.Query().Get("service_id")]
	f.mu.Unlock()
	if !ok {
		http.Error(w, "no such server", http.StatusNotFound)
		return
	}
	writeBackendJSON(w, map[string]string{"external_id": ext})
}

// createServer creates a server, as a real backend would even when the
// service already has one: a second create is a second server.
func (f *fakeBackend) createServer(w http.ResponseWriter, r *http.Request) {
	var c backendCall
	if err := json.NewDecoder(r.Body).Decode(&c); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	c.Action = "create"
	f.mu.Lock()
	ext := fmt.Sprintf("srv-%d", len(f.calls)+1)
	f.servers[c.ServiceID] = ext
	gate := f.record(c)
	f.mu.Unlock()
	await(r, gate)
	writeBackendJSON(w, map[string]string{"external_id": ext})
}

func writeBackendJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}

// snapshot returns the calls so far and the number of reads.
func (f *fakeBackend) snapshot() ([]backendCall, int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]backendCall(nil), f.calls...), f.reads
}

// waitCalls waits until cond holds of the calls received, woken by each
// new call rather than polling; the bound is generous (slow machines).
func (f *fakeBackend) waitCalls(t testing.TB, what string, cond func([]backendCall) bool) []backendCall {
	t.Helper()
	return f.waitState(t, what, func(calls []backendCall, _ int) bool { return cond(calls) })
}

// waitState is waitCalls with the number of reads too.
func (f *fakeBackend) waitState(t testing.TB, what string, cond func(calls []backendCall, reads int) bool) []backendCall {
	t.Helper()
	deadline := time.NewTimer(10 * time.Minute)
	defer deadline.Stop()
	for {
		f.mu.Lock()
		calls := append([]backendCall(nil), f.calls...)
		reads, changed := f.reads, f.changed
		f.mu.Unlock()
		if cond(calls, reads) {
			return calls
		}
		select {
		case <-changed:
		case <-deadline.C:
			t.Fatalf("timed out waiting for %s at the backend (%d calls)", what, len(calls))
		}
	}
}

// perKey counts the calls per idempotency key.
func perKey(calls []backendCall) map[string]int {
	m := map[string]int{}
	for _, c := range calls {
		m[c.Key]++
	}
	return m
}
