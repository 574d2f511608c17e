// Package fakepterodactyl is an in-memory Pterodactyl Panel serving the
// Application API and the Client API as the panel's source defines them:
// ptla_ keys whose owner must be a root admin (403 otherwise), ptlc_ keys for
// /api/client (an application key there is refused with 403), Fractal
// envelopes and pagination, Laravel validation errors one per field and rule,
// per-API rate limits with X-RateLimit-* headers and 429, servers that install
// and then run, 409 on power calls to a suspended, installing or
// maintenance-node server, 502 on console commands to a stopped server,
// list filters that match substrings (filter[email]=bob@… finds xbob@…), and
// Client API backups bounded by the server's feature_limits.backups.
//
// Tests make it misbehave with FailNext, SetLatency and SetRateLimits; a fake
// started as a process can be driven over /__fake/ (see package fault).
package fakepterodactyl

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
	pt "github.com/ezscale/platform/plugins/pterodactyl/pterodactylapi"
)

// Default keys, owned by the seeded root admin (user 1).
const (
	DefaultApplicationKey = "ptla_testapplicationkey0000000000000000000"
	DefaultClientKey      = "ptlc_testclientkey000000000000000000000000"
)

// Options configure a Fake.
type Options struct {
	// ApplicationKey and ClientKey belong to the seeded root admin; defaults
	// are DefaultApplicationKey and DefaultClientKey.
	ApplicationKey, ClientKey string
	// InstallDuration is how long a new server stays "installing". Zero
	// means it is installed as soon as it has been created.
	InstallDuration time.Duration
	// BackupDuration is how long a new backup runs (completed_at null).
	// Zero means it is complete on the next read.
	BackupDuration time.Duration
	// ApplicationRateLimit and ClientRateLimit are requests per minute;
	// 0 means the panel defaults (240 and 720), negative disables.
	ApplicationRateLimit, ClientRateLimit int
	// NowFunc is the fake's clock. Default time.Now.
	NowFunc func() time.Time
	// Scale multiplies the seeded nodes' memory, disk and free allocations,
	// for load tests; default 1 (20 and 10 allocations).
	Scale int
}

type keyType int

const (
	applicationKey keyType = iota + 1
	clientKey
)

type apiKey struct {
	kind   keyType
	userID int64
}

// Fake is an http.Handler serving both APIs from memory. It is safe for
// concurrent use.
type Fake struct {
	now             func() time.Time
	installDuration time.Duration
	backupDuration  time.Duration
	mux             *http.ServeMux
	faults          fault.Injector
	appLimit        *fault.Limiter
	clientLimit     *fault.Limiter

	mu          sync.Mutex
	keys        map[string]apiKey
	users       []*pt.User
	servers     []*serverState
	nodes       []*pt.Node
	allocations []*allocation
	nests       []*pt.Nest
	eggs        []*egg
	nextUser    int64
	nextServer  int64
}

type allocation struct {
	pt.Allocation
	node     int64
	serverID int64 // 0 = unassigned
}

type egg struct {
	pt.Egg
	variables []pt.EggVariable
}

type serverState struct {
	pt.Server
	installedAt   time.Time
	startOnFinish bool
	power         string
	startedAt     time.Time
	stats         *pt.Stats
	commands      []string
	backups       []*backup
}

// New returns a Fake seeded with a root admin (user 1) owning both keys, two
// locations with one node each and free allocations, and nests/eggs 1–3
// (Minecraft Vanilla and Paper, TeamSpeak 3).
func New(opts Options) *Fake {
	if opts.ApplicationKey == "" {
		opts.ApplicationKey = DefaultApplicationKey
	}
	if opts.ClientKey == "" {
		opts.ClientKey = DefaultClientKey
	}
	if opts.NowFunc == nil {
		opts.NowFunc = time.Now
	}
	limit := func(n, def int) int {
		switch {
		case n == 0:
			return def
		case n < 0:
			return 0
		}
		return n
	}
	f := &Fake{
		now:             opts.NowFunc,
		installDuration: opts.InstallDuration,
		backupDuration:  opts.BackupDuration,
		appLimit:        fault.NewLimiter(limit(opts.ApplicationRateLimit, 240), time.Minute),
		clientLimit:     fault.NewLimiter(limit(opts.ClientRateLimit, 720), time.Minute),
		keys: map[string]apiKey{
			opts.ApplicationKey: {applicationKey, 1},
			opts.ClientKey:      {clientKey, 1},
		},
		nextUser:   1,
		nextServer: 1,
	}
	f.seed(max(1, opts.Scale))
	f.routes()
	return f
}

// ServeHTTP implements http.Handler.
func (f *Fake) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if strings.HasPrefix(r.URL.Path, fault.ControlPrefix) {
		f.faults.ControlHandler().ServeHTTP(w, r)
		return
	}
	f.mux.ServeHTTP(w, r)
}

// FailNext makes the next fl.Times calls of route (a pattern such as
// "POST /api/application/servers", or "*") fail with fl.Status.
func (f *Fake) FailNext(route string, fl fault.Failure) { f.faults.FailNext(route, fl) }

// LoseNext makes the next times calls of route act but lose their answer
// (the connection drops after the panel acted).
func (f *Fake) LoseNext(route string, times int) { f.faults.LoseNext(route, times) }

// SetLatency delays every call of route by d.
func (f *Fake) SetLatency(route string, d time.Duration) { f.faults.SetLatency(route, d) }

// Calls returns how many requests matched route ("*" for all).
func (f *Fake) Calls(route string) int { return f.faults.Calls(route) }

// SetRateLimits sets the per-minute limits of the two APIs; 0 disables one.
func (f *Fake) SetRateLimits(application, client int) {
	f.appLimit.Set(application, time.Minute)
	f.clientLimit.Set(client, time.Minute)
}

// AddKey gives userID a new key of the kind ("application" or "client") and
// returns it; an application key of a user who is not a root admin is
// refused with 403, as on the panel.
func (f *Fake) AddKey(userID int64, application bool) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	k := apiKey{clientKey, userID}
	prefix := "ptlc_"
	if application {
		k.kind, prefix = applicationKey, "ptla_"
	}
	key := prefix + randomHex(20)
	f.keys[key] = k
	return key
}

// SetNodeMaintenance puts a node in or out of maintenance mode.
func (f *Fake) SetNodeMaintenance(nodeID int64, on bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, n := range f.nodes {
		if n.ID == nodeID {
			n.MaintenanceMode = on
		}
	}
}

// SetStats fixes the stats the resources endpoint reports for a server
// (current_state and is_suspended stay live).
func (f *Fake) SetStats(serverID int64, s pt.Stats) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if srv := f.serverByID(serverID); srv != nil {
		srv.stats = &s
	}
}

// Commands returns the console commands a server received, oldest first.
func (f *Fake) Commands(serverID int64) []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	if srv := f.serverByID(serverID); srv != nil {
		return append([]string(nil), srv.commands...)
	}
	return nil
}

// ServerSnapshot returns a server as the Application API shows it, and its
// power state.
func (f *Fake) ServerSnapshot(serverID int64) (pt.Server, string, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	srv := f.serverByID(serverID)
	if srv == nil {
		return pt.Server{}, "", false
	}
	f.settle(srv)
	return srv.Server, srv.power, true
}

// ServerCount returns how many servers exist.
func (f *Fake) ServerCount() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.servers)
}

// ---- middleware and errors ----

// handle registers an Application API route: failures, rate limit, then a
// ptla_ key whose owner is a root admin.
func (f *Fake) handleApp(pattern string, h func(http.ResponseWriter, *http.Request)) {
	f.mux.HandleFunc(pattern, f.faults.Losing(pattern, func(w http.ResponseWriter, r *http.Request) {
		if !f.before(w, r, pattern, f.appLimit) {
			return
		}
		k, ok := f.key(r)
		if !ok || k.kind != applicationKey {
			writeError(w, http.StatusUnauthorized, "AuthenticationException", "Unauthenticated.")
			return
		}
		f.mu.Lock()
		u := f.userByID(k.userID)
		f.mu.Unlock()
		if u == nil || !u.RootAdmin {
			writeError(w, http.StatusForbidden, "AccessDeniedHttpException", "This account does not have permission to access the API.")
			return
		}
		h(w, r)
	}))
}

// handleClient registers a Client API route taking {server}: failures, rate
// limit, a ptlc_ key, then access to the server (its owner or a root admin;
// anyone else gets 404 as the panel hides servers one cannot see).
func (f *Fake) handleClient(pattern string, h func(http.ResponseWriter, *http.Request, *serverState)) {
	f.mux.HandleFunc(pattern, f.faults.Losing(pattern, func(w http.ResponseWriter, r *http.Request) {
		if !f.before(w, r, pattern, f.clientLimit) {
			return
		}
		k, ok := f.key(r)
		if !ok {
			writeError(w, http.StatusUnauthorized, "AuthenticationException", "Unauthenticated.")
			return
		}
		if k.kind == applicationKey {
			writeError(w, http.StatusForbidden, "AccessDeniedHttpException", "You are attempting to use an application API key on an endpoint that requires a client API key.")
			return
		}
		f.mu.Lock()
		defer f.mu.Unlock()
		u := f.userByID(k.userID)
		srv := f.serverByRef(r.PathValue("server"))
		if u == nil || srv == nil || (srv.User != u.ID && !u.RootAdmin) {
			writeNotFound(w)
			return
		}
		f.settle(srv)
		h(w, r, srv)
	}))
}

func (f *Fake) before(w http.ResponseWriter, r *http.Request, route string, l *fault.Limiter) bool {
	w.Header().Set("Content-Type", "application/json")
	if fl, ok := f.faults.Before(r.Context(), route); ok {
		writeFailure(w, fl)
		return false
	}
	ok, limit, remaining, reset := l.Allow(f.now())
	if limit > 0 {
		w.Header().Set("X-RateLimit-Limit", strconv.Itoa(limit))
		w.Header().Set("X-RateLimit-Remaining", strconv.Itoa(remaining))
	}
	if !ok {
		w.Header().Set("Retry-After", strconv.Itoa(fault.RetryAfterSeconds(reset)))
		writeError(w, http.StatusTooManyRequests, "TooManyRequestsHttpException", "Too Many Attempts.")
		return false
	}
	return true
}

func (f *Fake) key(r *http.Request) (apiKey, bool) {
	token, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok || token == "" {
		return apiKey{}, false
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	k, ok := f.keys[token]
	return k, ok
}

// exceptionFor names the exception Laravel reports for a status.
var exceptionFor = map[int]string{
	400: "DisplayException", 401: "AuthenticationException", 403: "AccessDeniedHttpException",
	404: "NotFoundHttpException", 409: "ConflictHttpException", 422: "ValidationException",
	423: "HttpException", 429: "TooManyRequestsHttpException", 500: "HttpException",
	502: "HttpException", 503: "ServiceUnavailableHttpException",
}

func writeFailure(w http.ResponseWriter, fl fault.Failure) {
	if fl.RetryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(fault.RetryAfterSeconds(fl.RetryAfter)))
	} else if fl.Status == http.StatusTooManyRequests {
		w.Header().Set("Retry-After", "60")
	}
	code := exceptionFor[fl.Status]
	if code == "" {
		code = "HttpException"
	}
	detail := fl.Message
	if detail == "" {
		switch fl.Status {
		case 401:
			detail = "Unauthenticated."
		case 404:
			detail = "The requested resource could not be found on the server."
		case 429:
			detail = "Too Many Attempts."
		case 500:
			// With app.debug off the panel hides the exception text.
			detail = "An unexpected error was encountered while processing this request, please try again."
		default:
			detail = http.StatusText(fl.Status)
		}
	}
	writeError(w, fl.Status, code, detail)
}

func writeError(w http.ResponseWriter, status int, code, detail string) {
	writeJSON(w, status, pt.ErrorBody{Errors: []pt.ErrorItem{{Code: code, Status: strconv.Itoa(status), Detail: detail}}})
}

func writeNotFound(w http.ResponseWriter) {
	writeError(w, http.StatusNotFound, "NotFoundHttpException", "The requested resource could not be found on the server.")
}

func writeConflict(w http.ResponseWriter, detail string) {
	writeError(w, http.StatusConflict, "ConflictHttpException", detail)
}

// fieldError is one failed validation rule.
type fieldError struct{ field, rule, detail string }

func writeValidation(w http.ResponseWriter, errs []fieldError) {
	body := pt.ErrorBody{}
	for _, e := range errs {
		it := pt.ErrorItem{Code: "ValidationException", Status: "422", Detail: e.detail}
		it.Meta = &struct {
			SourceField string `json:"source_field"`
			Rule        string `json:"rule"`
		}{e.field, e.rule}
		body.Errors = append(body.Errors, it)
	}
	writeJSON(w, http.StatusUnprocessableEntity, body)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	if v != nil {
		_ = json.NewEncoder(w).Encode(v)
	}
}

func item(object string, attrs any) map[string]any {
	return map[string]any{"object": object, "attributes": attrs}
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

func (f *Fake) stamp() string { return f.now().UTC().Format("2006-01-02T15:04:05-07:00") }

func pathID(r *http.Request, name string) int64 {
	n, _ := strconv.ParseInt(r.PathValue(name), 10, 64)
	return n
}
