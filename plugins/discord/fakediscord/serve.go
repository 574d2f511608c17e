package fakediscord

import (
	"encoding/json"
	"fmt"
	"hash/fnv"
	"io"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"
)

type route struct {
	pattern  string
	method   string
	segments []string
	bot      bool
	// major names the path parameter Discord counts separately inside the
	// route's bucket.
	major  string
	handle func(w http.ResponseWriter, r *request)
}

// request is an incoming request with its path parameters and body.
type request struct {
	*http.Request
	params map[string]string
	body   []byte
}

func (rt *route) compile() {
	method, path, _ := strings.Cut(rt.pattern, " ")
	rt.method = method
	rt.segments = strings.Split(strings.Trim(path, "/"), "/")
}

func (rt *route) match(segs []string) (map[string]string, bool) {
	if len(segs) != len(rt.segments) {
		return nil, false
	}
	params := make(map[string]string)
	for i, want := range rt.segments {
		if strings.HasPrefix(want, "{") {
			if segs[i] == "" {
				return nil, false
			}
			params[strings.Trim(want, "{}")] = segs[i]
		} else if segs[i] != want {
			return nil, false
		}
	}
	return params, true
}

// bucketName groups routes into Discord rate-limit buckets; adding and
// removing a member's role share one, as routes sometimes do on Discord.
func bucketName(pattern string) string {
	if pattern == RouteAddMemberRole || pattern == RouteRemoveMemberRole {
		return "member roles"
	}
	return pattern
}

func bucketHash(name string) string {
	h := fnv.New64a()
	h.Write([]byte(name))
	return fmt.Sprintf("%016x", h.Sum64())
}

// apiPath strips /api and an optional /v{n} from an API path and splits it.
func apiPath(p string) ([]string, bool) {
	rest, ok := strings.CutPrefix(p, "/api/")
	if !ok {
		return nil, false
	}
	if v, after, found := strings.Cut(rest, "/"); found && len(v) > 1 && v[0] == 'v' {
		if _, err := strconv.Atoi(v[1:]); err == nil {
			rest = after
		}
	}
	return strings.Split(strings.Trim(rest, "/"), "/"), true
}

type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

// ServeHTTP serves the fake API. Requests are handled one at a time, which
// keeps the in-memory state and rate-limit counts simple and exact.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if strings.HasPrefix(r.URL.Path, "/__fake/") {
		r.Body = http.MaxBytesReader(w, r.Body, 1<<20)
		s.mu.Lock()
		defer s.mu.Unlock()
		s.serveControl(w, r)
		return
	}
	body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	sw := &statusWriter{ResponseWriter: w}
	s.mu.Lock()
	defer s.mu.Unlock()
	rec := Request{Method: r.Method, Path: r.URL.Path, Header: r.Header.Clone()}
	rec.Route = s.serve(sw, r, body)
	rec.Status = sw.status
	if rec.Status == 0 {
		rec.Status = http.StatusOK
	}
	s.requests = append(s.requests, rec)
	s.logf("%s %s -> %d", r.Method, logPath(rec.Route, r.URL.Path), rec.Status)
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request, body []byte) string {
	segs, ok := apiPath(r.URL.Path)
	if !ok {
		writeError(w, http.StatusNotFound, 0, "404: Not Found")
		return ""
	}
	var rt *route
	var params map[string]string
	pathMatched := false
	for i := range s.routes {
		p, ok := s.routes[i].match(segs)
		if !ok {
			continue
		}
		pathMatched = true
		if s.routes[i].method == r.Method {
			rt, params = &s.routes[i], p
			break
		}
	}
	switch {
	case rt == nil && pathMatched:
		writeError(w, http.StatusMethodNotAllowed, 0, "405: Method Not Allowed")
		return ""
	case rt == nil:
		writeError(w, http.StatusNotFound, 0, "404: Not Found")
		return ""
	}

	now := time.Now()
	name := bucketName(rt.pattern)
	hash := bucketHash(name)
	key := name + " " + params[rt.major]
	b := s.buckets[key]
	if b == nil {
		b = &window{}
		s.buckets[key] = b
	}
	allowed, remaining, resetAt := b.take(now, s.opts.BucketWindow, s.opts.BucketLimit)
	h := w.Header()
	h.Set("X-RateLimit-Limit", strconv.Itoa(s.opts.BucketLimit))
	h.Set("X-RateLimit-Remaining", strconv.Itoa(remaining))
	h.Set("X-RateLimit-Reset", fmt.Sprintf("%.3f", float64(resetAt.UnixMilli())/1000))
	h.Set("X-RateLimit-Reset-After", fmt.Sprintf("%.3f", resetAt.Sub(now).Seconds()))
	h.Set("X-RateLimit-Bucket", hash)

	if !validUserAgent(r.UserAgent()) {
		// Discord sits behind Cloudflare, which may block a request without
		// a proper User-Agent; the fake always does, to catch the mistake.
		writeError(w, http.StatusForbidden, 0, "fakediscord: User-Agent must be \"DiscordBot ($url, $versionNumber)\"")
		return rt.pattern
	}

	if rt.bot {
		if r.Header.Get("Authorization") != "Bot "+s.opts.BotToken || s.opts.BotToken == "" {
			writeError(w, http.StatusUnauthorized, 0, "401: Unauthorized")
			return rt.pattern
		}
		if ok, _, globalReset := s.global.take(now, time.Second, s.opts.GlobalLimit); !ok {
			write429(w, globalReset.Sub(now).Seconds(), true)
			return rt.pattern
		}
	}
	if !allowed {
		write429(w, resetAt.Sub(now).Seconds(), false)
		return rt.pattern
	}
	if f := s.popFailure(rt.pattern); f != nil {
		if f.Status == http.StatusTooManyRequests {
			write429(w, f.RetryAfter, f.Global)
		} else {
			writeError(w, f.Status, f.Code, f.Message)
		}
		return rt.pattern
	}
	rt.handle(w, &request{Request: r, params: params, body: body})
	return rt.pattern
}

func (s *Server) popFailure(pattern string) *Failure {
	q := s.failures[pattern]
	if len(q) == 0 {
		return nil
	}
	f := q[0]
	f.Times--
	if f.Times <= 0 {
		s.failures[pattern] = q[1:]
	}
	return f
}

// validUserAgent accepts Discord's documented form, "DiscordBot ($url, $versionNumber)".
func validUserAgent(ua string) bool {
	rest, ok := strings.CutPrefix(ua, "DiscordBot (")
	if !ok || !strings.HasSuffix(rest, ")") {
		return false
	}
	u, v, ok := strings.Cut(strings.TrimSuffix(rest, ")"), ", ")
	return ok && u != "" && v != ""
}

// window is a fixed rate-limit window.
type window struct {
	start time.Time
	count int
}

// take counts one request if the window allows it, and reports what is left
// and when the window ends.
func (wd *window) take(now time.Time, length time.Duration, limit int) (bool, int, time.Time) {
	if wd.start.IsZero() || !now.Before(wd.start.Add(length)) {
		wd.start, wd.count = now, 0
	}
	resetAt := wd.start.Add(length)
	if wd.count >= limit {
		return false, 0, resetAt
	}
	wd.count++
	return true, limit - wd.count, resetAt
}

func write429(w http.ResponseWriter, retryAfter float64, global bool) {
	retryAfter = math.Round(retryAfter*1000) / 1000
	h := w.Header()
	h.Set("Retry-After", strconv.Itoa(int(math.Ceil(retryAfter))))
	if global {
		h.Set("X-RateLimit-Global", "true")
		h.Set("X-RateLimit-Scope", "global")
	} else {
		h.Set("X-RateLimit-Scope", "user")
	}
	writeJSON(w, http.StatusTooManyRequests, map[string]any{
		"message": "You are being rate limited.", "retry_after": retryAfter, "global": global,
	})
}

func writeError(w http.ResponseWriter, status, code int, message string) {
	writeJSON(w, status, map[string]any{"message": message, "code": code})
}

// fieldError writes Discord's 50035 Invalid Form Body for one field.
func fieldError(w http.ResponseWriter, field, code, message string) {
	writeJSON(w, http.StatusBadRequest, map[string]any{
		"code": 50035, "message": "Invalid Form Body",
		"errors": map[string]any{field: map[string]any{
			"_errors": []map[string]string{{"code": code, "message": message}},
		}},
	})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
