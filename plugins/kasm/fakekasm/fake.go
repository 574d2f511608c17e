// Package fakekasm is an in-memory Kasm Workspaces serving the classic
// developer API (/api/public/*) as the reference describes it: POST only,
// api_key/api_key_secret in the JSON body, 403 "Access Denied" for a wrong
// key, per-call permissions (403 on the session calls, 401 elsewhere, for a
// key without them), 400 "Invalid user_id (…)"/"Invalid kasm_id (…)" for
// unknown ids, get_user of an unknown user as 400 "Invalid Request" (not an
// empty answer), delete_user of one as 400 "Unknown user (…)", update_user
// without a username as 400 "Username is not present", and every other error
// as HTTP 200 with error_message — e.g. "No Default Image Found" when
// request_kasm has no image_id. Sessions start as "starting" and run after
// StartDuration; while starting, get_kasm_status carries error_message ("This
// session is currently starting.") beside operational_status.
//
// Tests make it misbehave with FailNext (status 200 gives an in-body error),
// SetLatency and SetRateLimit; a fake started as a process can be driven over
// /__fake/ (see package fault).
package fakekasm

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/ezscale/platform/plugins/internal/fault"
	"github.com/ezscale/platform/plugins/kasm/kasmapi"
)

// Default credentials, holding every permission.
const (
	DefaultAPIKey    = "kasm-test-key"
	DefaultAPISecret = "kasm-test-secret"
)

// Permission is an API key permission, named as in Kasm's admin UI.
type Permission string

// Permissions the calls need.
const (
	PermUser             Permission = "User"
	PermUsersAuthSession Permission = "Users Auth Session"
	PermSessionsView     Permission = "Sessions View"
	PermImagesView       Permission = "Images View"
	PermUsersCreate      Permission = "Users Create"
	PermUsersView        Permission = "Users View"
	PermUsersDelete      Permission = "Users Delete"
	PermUsersModify      Permission = "Users Modify"
)

// AllPermissions is what the default key holds.
var AllPermissions = []Permission{PermUser, PermUsersAuthSession, PermSessionsView, PermImagesView,
	PermUsersCreate, PermUsersView, PermUsersDelete, PermUsersModify}

// Options configure a Fake.
type Options struct {
	// APIKey and APISecret hold every permission; defaults DefaultAPIKey
	// and DefaultAPISecret.
	APIKey, APISecret string
	// StartDuration is how long a new session stays "starting".
	StartDuration time.Duration
	// NowFunc is the fake's clock. Default time.Now.
	NowFunc func() time.Time
}

type credential struct {
	secret string
	perms  map[Permission]bool
}

// Fake is an http.Handler serving the Kasm API from memory. It is safe for
// concurrent use.
type Fake struct {
	now           func() time.Time
	startDuration time.Duration
	mux           *http.ServeMux
	faults        fault.Injector
	limiter       *fault.Limiter

	mu     sync.Mutex
	keys   map[string]credential
	users  []*kasmapi.User
	images []kasmapi.Image
	kasms  []*session
	// passwords are kept only so tests can check update_user.
	passwords map[string]string
}

type session struct {
	kasmapi.Kasm
	runningAt    time.Time
	sessionToken string
}

// New returns a Fake seeded with an admin user and three images (two enabled).
func New(opts Options) *Fake {
	if opts.APIKey == "" {
		opts.APIKey = DefaultAPIKey
	}
	if opts.APISecret == "" {
		opts.APISecret = DefaultAPISecret
	}
	if opts.NowFunc == nil {
		opts.NowFunc = time.Now
	}
	f := &Fake{now: opts.NowFunc, startDuration: opts.StartDuration, limiter: fault.NewLimiter(0, time.Minute),
		keys: map[string]credential{}, passwords: map[string]string{}}
	f.AddAPIKey(opts.APIKey, opts.APISecret, AllPermissions...)
	f.users = []*kasmapi.User{{UserID: newID(), Username: "admin@kasm.local", FirstName: "Admin", Realm: "local",
		Groups: []kasmapi.Group{{Name: "Administrators", GroupID: newID()}, {Name: "All Users", GroupID: allUsersGroup}}}}
	f.images = []kasmapi.Image{
		{ImageID: "01366df3a03b4bccbb8c913846594826", Name: "kasmweb/chrome:1.16.0", FriendlyName: "Chrome",
			Description: "Google Chrome browser", Memory: 2768000000, Cores: 2, Enabled: true, Available: true, ImageSrc: "img/thumbnails/chrome.png"},
		{ImageID: "c7af5cfaf7a649b69afd948f11199bd1", Name: "kasmweb/ubuntu-jammy-desktop:1.16.0", FriendlyName: "Ubuntu Jammy",
			Description: "Ubuntu desktop", Memory: 4096000000, Cores: 2, Enabled: true, Available: true, ImageSrc: "img/thumbnails/ubuntu.png"},
		{ImageID: "5a1b0cf3d6a54f7e8e8a54b4a9c7e001", Name: "kasmweb/retired:1.10.0", FriendlyName: "Retired",
			Memory: 1024000000, Cores: 1, Enabled: false, Available: false, ImageSrc: "img/thumbnails/retired.png"},
	}
	f.routes()
	return f
}

var allUsersGroup = "68d557ac4cac42cca9f31c7c853de0f3"

// AddAPIKey registers a key holding perms.
func (f *Fake) AddAPIKey(key, secret string, perms ...Permission) {
	f.mu.Lock()
	defer f.mu.Unlock()
	c := credential{secret: secret, perms: map[Permission]bool{}}
	for _, p := range perms {
		c.perms[p] = true
	}
	f.keys[key] = c
}

// ServeHTTP implements http.Handler.
func (f *Fake) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if strings.HasPrefix(r.URL.Path, fault.ControlPrefix) {
		f.faults.ControlHandler().ServeHTTP(w, r)
		return
	}
	f.mux.ServeHTTP(w, r)
}

// FailNext makes the next fl.Times calls of route (e.g.
// "POST /api/public/request_kasm", or "*") fail. Status 200 answers an
// in-body error_message, as Kasm does for most errors.
func (f *Fake) FailNext(route string, fl fault.Failure) { f.faults.FailNext(route, fl) }

// LoseNext makes the next times calls of route act but lose their answer
// (the connection drops after Kasm acted).
func (f *Fake) LoseNext(route string, times int) { f.faults.LoseNext(route, times) }

// SetLatency delays every call of route by d.
func (f *Fake) SetLatency(route string, d time.Duration) { f.faults.SetLatency(route, d) }

// Calls returns how many requests matched route ("*" for all).
func (f *Fake) Calls(route string) int { return f.faults.Calls(route) }

// SetRateLimit answers 429 with Retry-After past limit requests per window;
// 0 disables it (the default; Kasm documents no limit).
func (f *Fake) SetRateLimit(limit int, window time.Duration) { f.limiter.Set(limit, window) }

// Password returns the password last set for a user.
func (f *Fake) Password(userID string) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.passwords[kasmapi.NormalizeID(userID)]
}

// SessionCount returns how many sessions exist.
func (f *Fake) SessionCount() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.kasms)
}

// User returns a user as get_user shows it.
func (f *Fake) User(userID string) (kasmapi.User, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if u := f.user(userID); u != nil {
		return *u, true
	}
	return kasmapi.User{}, false
}

// UserCount returns how many users exist.
func (f *Fake) UserCount() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.users)
}

// request is the decoded body every call receives.
type request map[string]json.RawMessage

func (r request) str(name string) (string, bool) {
	raw, ok := r[name]
	if !ok {
		return "", false
	}
	var s string
	if json.Unmarshal(raw, &s) != nil {
		return "", false
	}
	return s, true
}

// handle registers a call: POST only, failures, rate limit, credentials in
// the body, the call's permission, then user_id/kasm_id resolution as Kasm's
// authentication layer does.
func (f *Fake) handle(name string, perm Permission, sessionCall bool, h func(http.ResponseWriter, request)) {
	route := "POST /api/public/" + name
	f.mux.HandleFunc(route, f.faults.Losing(route, func(w http.ResponseWriter, r *http.Request) {
		if fl, ok := f.faults.Before(r.Context(), route); ok {
			writeFailure(w, fl)
			return
		}
		if ok, limit, _, reset := f.limiter.Allow(f.now()); limit > 0 && !ok {
			w.Header().Set("Retry-After", strconv.Itoa(fault.RetryAfterSeconds(reset)))
			writeError(w, http.StatusTooManyRequests, "Too Many Requests")
			return
		}
		var req request
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
			writeError(w, http.StatusBadRequest, "Invalid JSON body")
			return
		}
		key, _ := req.str("api_key")
		secret, _ := req.str("api_key_secret")
		f.mu.Lock()
		cred, ok := f.keys[key]
		f.mu.Unlock()
		if key == "" || secret == "" || !ok || cred.secret != secret {
			writeError(w, http.StatusForbidden, "Access Denied")
			return
		}
		if !cred.perms[perm] || sessionCall && !cred.perms[PermUsersAuthSession] {
			// Observed live: a key lacking User + Users Auth Session gets
			// 403 on the session calls; elsewhere Kasm answers 401.
			status := http.StatusUnauthorized
			if sessionCall {
				status = http.StatusForbidden
			}
			writeError(w, status, "Unauthorized")
			return
		}
		f.mu.Lock()
		defer f.mu.Unlock()
		if id, ok := req.str("user_id"); ok && f.user(id) == nil {
			writeError(w, http.StatusBadRequest, "Invalid user_id ("+id+")")
			return
		}
		if id, ok := req.str("kasm_id"); ok && f.kasm(id) == nil {
			writeError(w, http.StatusBadRequest, "Invalid kasm_id ("+id+")")
			return
		}
		h(w, req)
	}))
}

func writeFailure(w http.ResponseWriter, fl fault.Failure) {
	if fl.RetryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(fault.RetryAfterSeconds(fl.RetryAfter)))
	} else if fl.Status == http.StatusTooManyRequests {
		w.Header().Set("Retry-After", "60")
	}
	msg := fl.Message
	if msg == "" {
		switch {
		case fl.Status == http.StatusForbidden:
			msg = "Access Denied"
		case fl.Status == http.StatusUnauthorized:
			msg = "Unauthorized"
		case fl.Status < 300:
			msg = "An unexpected error occurred"
		default:
			msg = http.StatusText(fl.Status)
		}
	}
	writeError(w, fl.Status, msg)
}

func writeError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, map[string]string{"error_message": msg})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// newID returns a 32-hex-digit id, Kasm's usual form.
func newID() string { return randomHex(16) }

func hyphenate(id string) string {
	return id[0:8] + "-" + id[8:12] + "-" + id[12:16] + "-" + id[16:20] + "-" + id[20:32]
}

func (f *Fake) stamp(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05") }
