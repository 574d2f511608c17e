// Package fakebattlemetrics is an in-memory BattleMetrics API serving what a
// game-server monitor reads, as the reference describes it: JSON:API bodies;
// GET /servers with filter[search] (fuzzy: every word of the search must
// occur in the name, IP, address or ip:port), filter[game], filter[status],
// page[size] (1–100) and cursor pagination through links.next/links.prev
// full URLs; GET /servers/{id}; GET /servers/{id}/player-count-history with
// start, stop and resolution (raw, 30, 60, 1440). Requests without a token
// share the anonymous limit (60/min), each valid token has its own
// (300/min); a token the fake does not know gets 401. Every answer carries
// X-Rate-Limit-Limit and X-Rate-Limit-Remaining, and a 429 carries
// Retry-After. Errors are JSON:API error documents.
//
// Tests add servers with Put, history with AddSamples, and make it
// misbehave with FailNext, SetLatency and SetRateLimits; a fake started as
// a process takes the same over /__fake/ (see package fault, and
// POST /__fake/servers, POST /__fake/samples).
package fakebattlemetrics

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	bm "github.com/ezscale/platform/plugins/battlemetrics/battlemetricsapi"
	"github.com/ezscale/platform/plugins/internal/fault"
)

// DefaultToken is a personal access token the fake accepts.
const DefaultToken = "bm-test-token"

// Rate limits per minute, from the API documentation.
const (
	AnonymousLimit = 60
	TokenLimit     = 300
)

// defaultPageSize is page[size] when the request sets none [inferred].
const defaultPageSize = 10

// Options configure a Fake.
type Options struct {
	// Tokens are the valid tokens; nil means [DefaultToken].
	Tokens []string
	// AnonymousLimit and TokenLimit are requests per minute; 0 means the
	// documented 60 and 300, negative turns the limit off.
	AnonymousLimit, TokenLimit int
	// BaseURL is the root links.next points at; empty means the request's
	// own host over http.
	BaseURL string
	// NowFunc is the clock of the rate limits and of Put's updatedAt.
	NowFunc func() time.Time
}

// Sample is one recorded player count.
type Sample struct {
	At      time.Time
	Players int
}

// Fake is an http.Handler serving the API from memory. It is safe for
// concurrent use.
type Fake struct {
	now     func() time.Time
	baseURL string
	mux     *http.ServeMux
	faults  fault.Injector

	mu         sync.Mutex
	tokens     map[string]*fault.Limiter
	anon       *fault.Limiter
	anonLimit  int
	tokenLimit int
	servers    map[string]*bm.Server
	order      []string // ids, ascending by number
	samples    map[string][]Sample
	nextID     int
}

// New returns an empty Fake.
func New(opts Options) *Fake {
	if opts.NowFunc == nil {
		opts.NowFunc = time.Now
	}
	if opts.Tokens == nil {
		opts.Tokens = []string{DefaultToken}
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
		now:        opts.NowFunc,
		baseURL:    strings.TrimRight(opts.BaseURL, "/"),
		tokens:     map[string]*fault.Limiter{},
		anonLimit:  limit(opts.AnonymousLimit, AnonymousLimit),
		tokenLimit: limit(opts.TokenLimit, TokenLimit),
		servers:    map[string]*bm.Server{},
		samples:    map[string][]Sample{},
		nextID:     4729828,
	}
	f.anon = fault.NewLimiter(f.anonLimit, time.Minute)
	for _, t := range opts.Tokens {
		f.tokens[t] = fault.NewLimiter(f.tokenLimit, time.Minute)
	}
	f.routes()
	return f
}

// ServeHTTP implements http.Handler.
func (f *Fake) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if strings.HasPrefix(r.URL.Path, fault.ControlPrefix) {
		f.control(w, r)
		return
	}
	f.mux.ServeHTTP(w, r)
}

// FailNext makes the next fl.Times calls of route (e.g. "GET /servers", or
// "*") fail with fl.Status.
func (f *Fake) FailNext(route string, fl fault.Failure) { f.faults.FailNext(route, fl) }

// SetLatency delays every call of route by d.
func (f *Fake) SetLatency(route string, d time.Duration) { f.faults.SetLatency(route, d) }

// Calls returns how many requests matched route ("*" for all).
func (f *Fake) Calls(route string) int { return f.faults.Calls(route) }

// SetRateLimits changes the per-minute limits (0 or less: off) and starts
// new windows.
func (f *Fake) SetRateLimits(anonymous, token int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.anonLimit, f.tokenLimit = max(0, anonymous), max(0, token)
	f.anon.Set(f.anonLimit, time.Minute)
	for _, l := range f.tokens {
		l.Set(f.tokenLimit, time.Minute)
	}
}

// Server is what Put stores: the attributes a test or the sandbox sets.
type Server struct {
	// ID is kept when set; otherwise the next id is given.
	ID         string `json:"id,omitempty"`
	Name       string `json:"name"`
	Game       string `json:"game"`
	IP         string `json:"ip"`
	Address    string `json:"address,omitempty"`
	Port       int    `json:"port"`
	PortQuery  int    `json:"port_query,omitempty"`
	Players    int    `json:"players"`
	MaxPlayers int    `json:"max_players"`
	// Rank 0 is de-ranked (null in the API).
	Rank    int    `json:"rank,omitempty"`
	Status  string `json:"status,omitempty"` // default "online"
	Map     string `json:"map,omitempty"`
	Country string `json:"country,omitempty"`
}

// Put adds a server, or updates the one with s.ID, and returns its id.
func (f *Fake) Put(s Server) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.putLocked(s)
}

func (f *Fake) putLocked(s Server) string {
	now := f.now().UTC()
	id := s.ID
	existing := f.servers[id]
	if id == "" {
		id = strconv.Itoa(f.nextID)
		f.nextID++
	}
	if s.Status == "" {
		s.Status = "online"
	}
	if s.PortQuery == 0 {
		s.PortQuery = s.Port
	}
	var rank *int
	if s.Rank > 0 {
		r := s.Rank
		rank = &r
	}
	var address *string
	if s.Address != "" {
		a := s.Address
		address = &a
	}
	details, _ := json.Marshal(map[string]any{"map": s.Map})
	srv := &bm.Server{Type: "server", ID: id, Attributes: bm.ServerAttributes{
		ID: id, Name: s.Name, Address: address, IP: s.IP, Port: s.Port, PortQuery: s.PortQuery,
		Players: s.Players, MaxPlayers: s.MaxPlayers, Rank: rank, Status: s.Status,
		Details: details, Country: s.Country, CreatedAt: now, UpdatedAt: now, QueryStatus: "valid",
		Location: []float64{},
	}}
	if existing != nil {
		srv.Attributes.CreatedAt = existing.Attributes.CreatedAt
	}
	srv.Relationships.Game.Data = bm.ResourceID{Type: "game", ID: s.Game}
	if existing == nil {
		f.order = append(f.order, id)
		slices.SortFunc(f.order, func(a, b string) int {
			na, _ := strconv.Atoi(a)
			nb, _ := strconv.Atoi(b)
			return na - nb
		})
	}
	f.servers[id] = srv
	return id
}

// AddSamples records player counts of server id for its history.
func (f *Fake) AddSamples(id string, samples ...Sample) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.samples[id] = append(f.samples[id], samples...)
	slices.SortStableFunc(f.samples[id], func(a, b Sample) int { return a.At.Compare(b.At) })
}

func (f *Fake) routes() {
	f.mux = http.NewServeMux()
	f.mux.HandleFunc("GET /servers", f.guard("GET /servers", f.listServers))
	f.mux.HandleFunc("GET /servers/{id}", f.guard("GET /servers/{id}", f.getServer))
	f.mux.HandleFunc("GET /servers/{id}/player-count-history",
		f.guard("GET /servers/{id}/player-count-history", f.playerCountHistory))
	f.mux.HandleFunc("/", func(w http.ResponseWriter, _ *http.Request) {
		writeError(w, http.StatusNotFound, "Not Found", "The requested resource could not be found.")
	})
}

// guard authenticates, rate-limits and applies injected faults.
func (f *Fake) guard(route string, h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/vnd.api+json")
		limiter := f.anon
		if auth := r.Header.Get("Authorization"); auth != "" {
			token, ok := strings.CutPrefix(auth, "Bearer ")
			f.mu.Lock()
			l := f.tokens[token]
			f.mu.Unlock()
			if !ok || l == nil {
				writeError(w, http.StatusUnauthorized, "Unauthorized", "Invalid or expired access token.")
				return
			}
			limiter = l
		}
		ok, limit, remaining, reset := limiter.Allow(f.now())
		if limit > 0 {
			w.Header().Set("X-Rate-Limit-Limit", strconv.Itoa(limit))
			w.Header().Set("X-Rate-Limit-Remaining", strconv.Itoa(remaining))
		}
		if !ok {
			w.Header().Set("Retry-After", strconv.Itoa(fault.RetryAfterSeconds(reset)))
			writeError(w, http.StatusTooManyRequests, "Too Many Requests", "You have exceeded the rate limit. Try again later.")
			return
		}
		if fl, failed := f.faults.Before(r.Context(), route); failed {
			if fl.RetryAfter > 0 {
				w.Header().Set("Retry-After", strconv.Itoa(fault.RetryAfterSeconds(fl.RetryAfter)))
			}
			msg := fl.Message
			if msg == "" {
				msg = http.StatusText(fl.Status)
			}
			writeError(w, fl.Status, http.StatusText(fl.Status), msg)
			return
		}
		h(w, r)
	}
}

func (f *Fake) listServers(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	size := defaultPageSize
	if v := q.Get("page[size]"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > bm.MaxPageSize {
			writeError(w, http.StatusBadRequest, "Invalid Parameter", "page[size] must be an integer between 1 and 100.")
			return
		}
		size = n
	}
	offset := 0
	if key := q.Get("page[key]"); key != "" {
		n, err := decodeKey(key)
		if err != nil {
			writeError(w, http.StatusBadRequest, "Invalid Parameter", "page[key] is not a valid cursor.")
			return
		}
		offset = n
	}
	words := strings.Fields(strings.ToLower(q.Get("filter[search]")))
	game, status := q.Get("filter[game]"), q.Get("filter[status]")

	f.mu.Lock()
	var matched []bm.Server
	for _, id := range f.order {
		s := f.servers[id]
		if game != "" && s.Game() != game || status != "" && s.Attributes.Status != status {
			continue
		}
		if !matches(s, words) {
			continue
		}
		matched = append(matched, *s)
	}
	f.mu.Unlock()

	page := bm.ServerPage{Data: []bm.Server{}, Included: []json.RawMessage{}}
	if offset < len(matched) {
		page.Data = matched[offset:min(len(matched), offset+size)]
	}
	link := func(at int, rel string) string {
		v := url.Values{}
		for k, vs := range q {
			if k != "page[key]" && k != "page[rel]" {
				v[k] = vs
			}
		}
		v.Set("page[key]", encodeKey(at))
		v.Set("page[rel]", rel)
		return f.root(r) + "/servers?" + v.Encode()
	}
	if offset+size < len(matched) {
		page.Links.Next = link(offset+size, "next")
	}
	if offset > 0 {
		page.Links.Prev = link(max(0, offset-size), "prev")
	}
	writeJSON(w, http.StatusOK, page)
}

// matches is the fake's fuzzy search: every word must occur somewhere in
// the server's name, IP, address or ip:port (ip:portQuery).
func matches(s *bm.Server, words []string) bool {
	a := s.Attributes
	hay := strings.ToLower(fmt.Sprintf("%s %s:%d %s:%d", a.Name, a.IP, a.Port, a.IP, a.PortQuery))
	if a.Address != nil {
		hay += " " + strings.ToLower(*a.Address)
	}
	for _, w := range words {
		if !strings.Contains(hay, w) {
			return false
		}
	}
	return true
}

func (f *Fake) root(r *http.Request) string {
	if f.baseURL != "" {
		return f.baseURL
	}
	return "http://" + r.Host
}

func encodeKey(offset int) string {
	return base64.RawURLEncoding.EncodeToString([]byte("o:" + strconv.Itoa(offset)))
}

func decodeKey(key string) (int, error) {
	b, err := base64.RawURLEncoding.DecodeString(key)
	if err != nil {
		return 0, err
	}
	n, ok := strings.CutPrefix(string(b), "o:")
	if !ok {
		return 0, fmt.Errorf("bad cursor")
	}
	v, err := strconv.Atoi(n)
	if err != nil || v < 0 {
		return 0, fmt.Errorf("bad cursor")
	}
	return v, nil
}

func (f *Fake) server(w http.ResponseWriter, r *http.Request) (bm.Server, bool) {
	f.mu.Lock()
	s, ok := f.servers[r.PathValue("id")]
	var out bm.Server
	if ok {
		out = *s
	}
	f.mu.Unlock()
	if !ok {
		writeError(w, http.StatusNotFound, "Unknown Server", "The server you requested was not found.")
	}
	return out, ok
}

func (f *Fake) getServer(w http.ResponseWriter, r *http.Request) {
	s, ok := f.server(w, r)
	if !ok {
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"data": s, "included": []any{}})
}

func (f *Fake) playerCountHistory(w http.ResponseWriter, r *http.Request) {
	s, ok := f.server(w, r)
	if !ok {
		return
	}
	q := r.URL.Query()
	start, err1 := time.Parse(time.RFC3339, q.Get("start"))
	stop, err2 := time.Parse(time.RFC3339, q.Get("stop"))
	if err1 != nil || err2 != nil || !start.Before(stop) {
		writeError(w, http.StatusBadRequest, "Invalid Parameter", "start and stop must be RFC 3339 times with start before stop.")
		return
	}
	var width time.Duration
	switch res := q.Get("resolution"); res {
	case "", bm.ResolutionRaw:
	case "30", "60", "1440":
		m, _ := strconv.Atoi(res)
		width = time.Duration(m) * time.Minute
	default:
		writeError(w, http.StatusBadRequest, "Invalid Parameter", "resolution must be one of raw, 30, 60, 1440.")
		return
	}
	f.mu.Lock()
	var in []Sample
	for _, p := range f.samples[s.ID] {
		if !p.At.Before(start) && p.At.Before(stop) {
			in = append(in, p)
		}
	}
	f.mu.Unlock()
	type point struct {
		Type       string `json:"type"`
		Attributes struct {
			Timestamp string `json:"timestamp"`
			Value     int    `json:"value"`
			Min       int    `json:"min"`
			Max       int    `json:"max"`
		} `json:"attributes"`
	}
	data := []point{}
	add := func(at time.Time, value, lo, hi int) {
		p := point{Type: "dataPoint"}
		p.Attributes.Timestamp = at.UTC().Format("2006-01-02T15:04:05.000Z")
		p.Attributes.Value, p.Attributes.Min, p.Attributes.Max = value, lo, hi
		data = append(data, p)
	}
	if width == 0 {
		for _, p := range in {
			add(p.At, p.Players, p.Players, p.Players)
		}
	} else {
		for i := 0; i < len(in); {
			bucket := in[i].At.Truncate(width)
			sum, lo, hi, n := 0, in[i].Players, in[i].Players, 0
			for ; i < len(in) && in[i].At.Truncate(width).Equal(bucket); i++ {
				sum += in[i].Players
				lo, hi = min(lo, in[i].Players), max(hi, in[i].Players)
				n++
			}
			add(bucket, (sum+n/2)/n, lo, hi)
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"data": data})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/vnd.api+json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, status int, title, detail string) {
	writeJSON(w, status, bm.ErrorDocument{Errors: []bm.ErrorObject{{
		Status: strconv.Itoa(status), Title: title, Detail: detail,
	}}})
}

// control serves the fault injector's routes plus:
//
//	POST /__fake/servers {Server}               → {"id":"…"}
//	POST /__fake/samples {"id":"…","samples":[{"at":RFC3339,"players":N}]}
func (f *Fake) control(w http.ResponseWriter, r *http.Request) {
	switch r.Method + " " + r.URL.Path {
	case "POST " + fault.ControlPrefix + "servers":
		var s Server
		if err := json.NewDecoder(r.Body).Decode(&s); err != nil || s.IP == "" || s.Port <= 0 {
			http.Error(w, `{"error":"want {name, game, ip, port, players, max_players, rank, status, map}"}`, http.StatusBadRequest)
			return
		}
		writeJSON(w, http.StatusOK, map[string]string{"id": f.Put(s)})
	case "POST " + fault.ControlPrefix + "samples":
		var b struct {
			ID      string `json:"id"`
			Samples []struct {
				At      time.Time `json:"at"`
				Players int       `json:"players"`
			} `json:"samples"`
		}
		if err := json.NewDecoder(r.Body).Decode(&b); err != nil || b.ID == "" {
			http.Error(w, `{"error":"want {id, samples:[{at, players}]}"}`, http.StatusBadRequest)
			return
		}
		for _, s := range b.Samples {
			f.AddSamples(b.ID, Sample{At: s.At, Players: s.Players})
		}
		w.WriteHeader(http.StatusNoContent)
	default:
		f.faults.ControlHandler().ServeHTTP(w, r)
	}
}
