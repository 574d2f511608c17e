package discordapi

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// limiter keeps what Discord's rate-limit headers said, so that the client
// waits instead of sending a request that would get a 429.
type limiter struct {
	mu sync.Mutex
	// routes maps a route template to the bucket hash Discord gave it, since
	// several routes can share one bucket.
	routes map[string]string
	// buckets is keyed by bucketKey.
	buckets map[string]*bucket
	// globalUntil pauses every call after a global 429.
	globalUntil time.Time
}

type bucket struct {
	remaining int
	// resetAt is when the current window ends, computed from
	// X-RateLimit-Reset-After on our clock.
	resetAt time.Time
	// window is X-RateLimit-Reset as sent; every response of one window
	// carries the same value, which tells a late response of an old window
	// from the first of a new one.
	window string
}

func newLimiter() *limiter {
	return &limiter{routes: make(map[string]string), buckets: make(map[string]*bucket)}
}

func (l *limiter) bucketKey(route, major string) string {
	if hash, ok := l.routes[route]; ok {
		return "bucket " + hash + " " + major
	}
	return "route " + route + " " + major
}

// reserve counts one request against the bucket and returns zero, or returns
// how long to wait before asking again.
func (l *limiter) reserve(route, major string, now time.Time) (time.Duration, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if now.Before(l.globalUntil) {
		return l.globalUntil.Sub(now), true
	}
	b := l.buckets[l.bucketKey(route, major)]
	if b == nil || !now.Before(b.resetAt) {
		// No live window is known: send, and the answer's headers start one.
		return 0, false
	}
	if b.remaining > 0 {
		b.remaining--
		return 0, false
	}
	return b.resetAt.Sub(now), false
}

// wait blocks until the route's bucket (and the global limit) allows a
// request, within maxWait and the context.
func (l *limiter) wait(ctx context.Context, route, major string, maxWait time.Duration) error {
	for {
		d, global := l.reserve(route, major, time.Now())
		if d <= 0 {
			return nil
		}
		if d > maxWait {
			return &RateLimitError{Route: route, RetryAfter: d, Global: global,
				Message: fmt.Sprintf("wait of %s exceeds the client's limit of %s", d, maxWait)}
		}
		if deadline, ok := ctx.Deadline(); ok && time.Until(deadline) < d {
			return &RateLimitError{Route: route, RetryAfter: d, Global: global,
				Message: "the context's deadline comes before the rate limit resets"}
		}
		t := time.NewTimer(d)
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("discordapi: %s: waiting for rate limit: %w", route, ctx.Err())
		case <-t.C:
		}
	}
}

// update records the X-RateLimit-* headers of any response.
func (l *limiter) update(route, major string, h http.Header) {
	remaining, errRem := strconv.Atoi(h.Get("X-RateLimit-Remaining"))
	resetAfter, errReset := parseSeconds(h.Get("X-RateLimit-Reset-After"))
	hash := h.Get("X-RateLimit-Bucket")
	l.mu.Lock()
	defer l.mu.Unlock()
	if hash != "" {
		l.routes[route] = hash
	}
	if errRem != nil || errReset != nil {
		return
	}
	key := l.bucketKey(route, major)
	window := h.Get("X-RateLimit-Reset")
	resetAt := time.Now().Add(resetAfter)
	b := l.buckets[key]
	if b == nil {
		l.buckets[key] = &bucket{remaining: remaining, resetAt: resetAt, window: window}
		return
	}
	if window != "" && window == b.window {
		// Same window: responses can arrive out of order, and our own count
		// already includes requests still in flight, so keep the lower.
		b.remaining = min(b.remaining, remaining)
		return
	}
	b.remaining, b.resetAt, b.window = remaining, resetAt, window
}

// limited records a 429 so the next attempt waits for it.
func (l *limiter) limited(route, major string, rl *RateLimitError) {
	until := time.Now().Add(rl.RetryAfter)
	l.mu.Lock()
	defer l.mu.Unlock()
	if rl.Global {
		if until.After(l.globalUntil) {
			l.globalUntil = until
		}
		return
	}
	key := l.bucketKey(route, major)
	b := l.buckets[key]
	if b == nil {
		b = &bucket{}
		l.buckets[key] = b
	}
	// retry_after is authoritative for this bucket: it replaces the window
	// end the headers gave, which may be later than Discord asks us to wait.
	b.remaining, b.resetAt = 0, until
}

// defaultRetryAfter is used for a 429 that names no delay, such as one from a
// proxy in front of Discord.
const defaultRetryAfter = time.Second

// parseRateLimit reads a 429: the body's retry_after (fractional seconds) is
// preferred to the Retry-After header (whole seconds).
func parseRateLimit(route string, h http.Header, body []byte) *RateLimitError {
	rl := &RateLimitError{
		Route:   route,
		Global:  strings.EqualFold(h.Get("X-RateLimit-Global"), "true"),
		Scope:   h.Get("X-RateLimit-Scope"),
		Bucket:  h.Get("X-RateLimit-Bucket"),
		Message: "You are being rate limited.",
	}
	var wire struct {
		Message    string   `json:"message"`
		RetryAfter *float64 `json:"retry_after"`
		Global     bool     `json:"global"`
	}
	if json.Unmarshal(body, &wire) == nil {
		if wire.Message != "" {
			rl.Message = wire.Message
		}
		rl.Global = rl.Global || wire.Global
		if wire.RetryAfter != nil && *wire.RetryAfter >= 0 {
			rl.RetryAfter = seconds(*wire.RetryAfter)
		}
	}
	if rl.RetryAfter == 0 {
		if d, err := parseSeconds(h.Get("Retry-After")); err == nil {
			rl.RetryAfter = d
		}
	}
	if rl.RetryAfter == 0 {
		rl.RetryAfter = defaultRetryAfter
	}
	return rl
}

func parseSeconds(s string) (time.Duration, error) {
	f, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	if err != nil {
		return 0, err
	}
	if f < 0 || math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, fmt.Errorf("invalid seconds %q", s)
	}
	return seconds(f), nil
}

// seconds converts Discord's fractional seconds, capped at a day so a bogus
// header cannot overflow a Duration.
func seconds(f float64) time.Duration {
	const maxSeconds = 24 * 60 * 60
	if f > maxSeconds {
		f = maxSeconds
	}
	return time.Duration(math.Ceil(f * float64(time.Second)))
}
