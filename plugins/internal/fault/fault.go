// Package fault lets the API fakes in this module misbehave on purpose:
// fail the next N calls of a route with a chosen status, act on a call but
// lose its answer (the connection drops after the backend acted), answer
// slowly, and count calls so tests can prove that a plugin did (or did not)
// call an endpoint. Routes are named by their net/http ServeMux pattern, e.g.
// "POST /api/v1/servers"; "*" matches every route.
package fault

import (
	"context"
	"encoding/json"
	"net/http"
	"sync"
	"time"
)

// Any matches every route.
const Any = "*"

// Failure is an error the fake returns instead of handling a request.
type Failure struct {
	// Status is the HTTP status to answer with. A fake whose API reports
	// errors inside HTTP 200 (Kasm) accepts 200 here.
	Status int
	// Times is how many consecutive calls fail; 0 means 1.
	Times int
	// RetryAfter, when positive, is sent as a Retry-After header (whole
	// seconds, rounded up).
	RetryAfter time.Duration
	// Message replaces the fake's default error message for Status.
	Message string
	// Skip lets that many calls of the route through before the failure
	// applies, to fail a later call of a sequence (the second listing, say).
	Skip int
}

// Injector holds the failures, latencies and call counts of one fake. Its
// zero value is ready to use and it is safe for concurrent use.
type Injector struct {
	mu       sync.Mutex
	failures map[string][]*Failure
	lost     map[string]int
	latency  map[string]time.Duration
	calls    map[string]int
}

// FailNext makes the next f.Times calls of route fail with f.
func (in *Injector) FailNext(route string, f Failure) {
	if f.Times <= 0 {
		f.Times = 1
	}
	in.mu.Lock()
	defer in.mu.Unlock()
	if in.failures == nil {
		in.failures = map[string][]*Failure{}
	}
	in.failures[route] = append(in.failures[route], &f)
}

// LoseNext makes the next times calls of route (0 means 1) lose their
// answer: the fake acts on the call, then drops the connection without
// answering, as when a proxy or the network fails after the backend has
// committed. The client sees a transport error. Meant for non-idempotent
// routes (POST): Go's HTTP client may resend a GET whose connection dropped.
func (in *Injector) LoseNext(route string, times int) {
	in.mu.Lock()
	defer in.mu.Unlock()
	if in.lost == nil {
		in.lost = map[string]int{}
	}
	in.lost[route] += max(1, times)
}

// Lost reports whether this call of route must lose its answer, and uses
// one of the losses LoseNext set up. A fake calls it after Before.
func (in *Injector) Lost(route string) bool {
	in.mu.Lock()
	defer in.mu.Unlock()
	if in.lost[route] <= 0 {
		return false
	}
	in.lost[route]--
	return true
}

// ServeLost runs h as usual but discards its answer, then aborts the
// connection (http.ErrAbortHandler), so the client gets no answer at all
// for a call the fake acted on.
func ServeLost(w http.ResponseWriter, r *http.Request, h http.HandlerFunc) {
	h(discard{header: http.Header{}}, r)
	panic(http.ErrAbortHandler)
}

// Losing wraps a fake's handler of route so that the losses LoseNext set up
// for it apply: the handler runs, its answer is dropped (ServeLost).
func (in *Injector) Losing(route string, h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if in.Lost(route) {
			ServeLost(w, r, h)
			return
		}
		h(w, r)
	}
}

// discard is a ResponseWriter that keeps nothing.
type discard struct{ header http.Header }

func (d discard) Header() http.Header       { return d.header }
func (discard) Write(b []byte) (int, error) { return len(b), nil }
func (discard) WriteHeader(int)             {}

// SetLatency delays every call of route by d before it is handled; 0 removes
// the delay.
func (in *Injector) SetLatency(route string, d time.Duration) {
	in.mu.Lock()
	defer in.mu.Unlock()
	if in.latency == nil {
		in.latency = map[string]time.Duration{}
	}
	if d <= 0 {
		delete(in.latency, route)
		return
	}
	in.latency[route] = d
}

// Reset removes every pending failure and latency (call counts stay).
func (in *Injector) Reset() {
	in.mu.Lock()
	defer in.mu.Unlock()
	in.failures, in.latency, in.lost = nil, nil, nil
}

// Calls returns how many requests matched route (Any: all routes), including
// failed ones.
func (in *Injector) Calls(route string) int {
	in.mu.Lock()
	defer in.mu.Unlock()
	if route == Any {
		n := 0
		for _, c := range in.calls {
			n += c
		}
		return n
	}
	return in.calls[route]
}

// Before is called by a fake for each request once its route is known. It
// counts the call, waits for the configured latency (or until ctx ends) and
// returns the failure to answer with, if any.
func (in *Injector) Before(ctx context.Context, route string) (Failure, bool) {
	in.mu.Lock()
	if in.calls == nil {
		in.calls = map[string]int{}
	}
	in.calls[route]++
	delay := in.latency[route] + in.latency[Any]
	f, ok := in.pop(route)
	if !ok {
		f, ok = in.pop(Any)
	}
	in.mu.Unlock()
	if delay > 0 {
		t := time.NewTimer(delay)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
		}
	}
	return f, ok
}

func (in *Injector) pop(route string) (Failure, bool) {
	q := in.failures[route]
	if len(q) == 0 {
		return Failure{}, false
	}
	if q[0].Skip > 0 {
		q[0].Skip--
		return Failure{}, false
	}
	f := *q[0]
	q[0].Times--
	if q[0].Times <= 0 {
		in.failures[route] = q[1:]
	}
	return f, true
}

// RetryAfterSeconds renders d as a Retry-After value, rounding up so that a
// client never retries early.
func RetryAfterSeconds(d time.Duration) int {
	return int((d + time.Second - 1) / time.Second)
}

// ControlPrefix is where ControlHandler is mounted by each fake. It lets a
// fake started as a separate process (make demo, end-to-end tests) be told to
// fail; no real API has paths under it.
const ControlPrefix = "/__fake/"

// ControlHandler serves:
//
//	POST /__fake/failures {"route":"POST /api/v1/servers","status":503,"times":2,"retry_after":"5s","message":"…","skip":0}
//	POST /__fake/lose     {"route":"POST /api/v1/servers","times":1}
//	POST /__fake/latency  {"route":"*","latency":"250ms"}
//	POST /__fake/reset
//	GET  /__fake/calls?route=POST%20/api/v1/servers  → {"calls":N}
func (in *Injector) ControlHandler() http.Handler {
	type failureBody struct {
		Route      string `json:"route"`
		Status     int    `json:"status"`
		Times      int    `json:"times"`
		RetryAfter string `json:"retry_after"`
		Message    string `json:"message"`
		Skip       int    `json:"skip"`
	}
	type latencyBody struct {
		Route   string `json:"route"`
		Latency string `json:"latency"`
	}
	bad := func(w http.ResponseWriter, msg string) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusBadRequest)
		_ = json.NewEncoder(w).Encode(map[string]string{"error": msg})
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST "+ControlPrefix+"failures", func(w http.ResponseWriter, r *http.Request) {
		var b failureBody
		if err := json.NewDecoder(r.Body).Decode(&b); err != nil || b.Route == "" || b.Status < 100 || b.Status > 599 {
			bad(w, "want {route, status (100-599), times, retry_after, message}")
			return
		}
		var ra time.Duration
		if b.RetryAfter != "" {
			d, err := time.ParseDuration(b.RetryAfter)
			if err != nil {
				bad(w, "retry_after: "+err.Error())
				return
			}
			ra = d
		}
		in.FailNext(b.Route, Failure{Status: b.Status, Times: b.Times, RetryAfter: ra, Message: b.Message, Skip: max(0, b.Skip)})
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("POST "+ControlPrefix+"lose", func(w http.ResponseWriter, r *http.Request) {
		var b struct {
			Route string `json:"route"`
			Times int    `json:"times"`
		}
		if err := json.NewDecoder(r.Body).Decode(&b); err != nil || b.Route == "" {
			bad(w, "want {route, times}")
			return
		}
		in.LoseNext(b.Route, b.Times)
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("POST "+ControlPrefix+"latency", func(w http.ResponseWriter, r *http.Request) {
		var b latencyBody
		if err := json.NewDecoder(r.Body).Decode(&b); err != nil || b.Route == "" {
			bad(w, "want {route, latency}")
			return
		}
		d, err := time.ParseDuration(b.Latency)
		if err != nil {
			bad(w, "latency: "+err.Error())
			return
		}
		in.SetLatency(b.Route, d)
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("POST "+ControlPrefix+"reset", func(w http.ResponseWriter, _ *http.Request) {
		in.Reset()
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("GET "+ControlPrefix+"calls", func(w http.ResponseWriter, r *http.Request) {
		route := r.URL.Query().Get("route")
		if route == "" {
			route = Any
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]int{"calls": in.Calls(route)})
	})
	return mux
}

// Limiter is a fixed-window request limiter like Laravel's throttle
// middleware: Limit requests per Window, then 429 until the window ends.
// A Limit of 0 disables it.
type Limiter struct {
	mu     sync.Mutex
	limit  int
	window time.Duration
	start  time.Time
	used   int
}

// NewLimiter returns a Limiter allowing limit requests per window.
func NewLimiter(limit int, window time.Duration) *Limiter {
	return &Limiter{limit: limit, window: window}
}

// Set changes the limit and starts a new window.
func (l *Limiter) Set(limit int, window time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.limit, l.window, l.used, l.start = limit, window, 0, time.Time{}
}

// Allow takes one request from the window at now. It returns whether the
// request may proceed, the limit, how many remain, and how long until the
// window resets.
func (l *Limiter) Allow(now time.Time) (ok bool, limit, remaining int, reset time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.limit <= 0 {
		return true, 0, 0, 0
	}
	if l.start.IsZero() || now.Sub(l.start) >= l.window {
		l.start, l.used = now, 0
	}
	reset = l.start.Add(l.window).Sub(now)
	if l.used >= l.limit {
		return false, l.limit, 0, reset
	}
	l.used++
	return true, l.limit, l.limit - l.used, reset
}
