// Package fakegametracker serves GameTracker-like server pages for the
// sandbox and end-to-end tests: GET /server_info/{host}:{port}/ renders the
// markup community scrapers read (#HTML_num_players, #HTML_max_players,
// #HTML_curr_map, .item_color_success "Alive", "Rank:"), an unknown server
// is a 404 page, a request without a User-Agent is 403 (as the site does),
// and the 560×95 banner is served as a PNG. Redesign(host:port) serves a
// page of another layout, to show that the plugin fails soft. Failures and
// latency are injected as in package fault; a fake started as a process
// takes servers over POST /__fake/servers.
package fakegametracker

import (
	"bytes"
	"encoding/json"
	"html/template"
	"image"
	"image/color"
	"image/png"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"

	"github.com/ezscale/platform/plugins/internal/fault"
)

// Server is one listed game server.
type Server struct {
	Host       string `json:"host"`
	Port       int    `json:"port"`
	Name       string `json:"name"`
	Game       string `json:"game"`
	Alive      bool   `json:"alive"`
	Players    int    `json:"players"`
	MaxPlayers int    `json:"max_players"`
	Map        string `json:"map"`
	Rank       int    `json:"rank"` // 0: N/A
}

func (s Server) key() string { return net.JoinHostPort(s.Host, strconv.Itoa(s.Port)) }

// Fake is an http.Handler. It is safe for concurrent use.
type Fake struct {
	mux    *http.ServeMux
	faults fault.Injector

	mu         sync.Mutex
	servers    map[string]Server
	redesigned map[string]bool
}

// New returns a Fake with no servers.
func New() *Fake {
	f := &Fake{servers: map[string]Server{}, redesigned: map[string]bool{}}
	f.mux = http.NewServeMux()
	f.mux.HandleFunc("GET /server_info/{addr}/{$}", f.guard("GET /server_info/{addr}/", f.page))
	f.mux.HandleFunc("GET /server_info/{addr}/{banner}", f.guard("GET /server_info/{addr}/{banner}", f.banner))
	return f
}

// Put lists s (or replaces the server at its host:port).
func (f *Fake) Put(s Server) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.servers[s.key()] = s
}

// Redesign makes the page of hostPort use a layout the plugin cannot read.
func (f *Fake) Redesign(hostPort string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.redesigned[hostPort] = true
}

// FailNext makes the next fl.Times calls of route fail with fl.Status.
func (f *Fake) FailNext(route string, fl fault.Failure) { f.faults.FailNext(route, fl) }

// Calls returns how many requests matched route ("*" for all).
func (f *Fake) Calls(route string) int { return f.faults.Calls(route) }

// ServeHTTP implements http.Handler.
func (f *Fake) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if strings.HasPrefix(r.URL.Path, fault.ControlPrefix) {
		if r.Method == http.MethodPost && r.URL.Path == fault.ControlPrefix+"servers" {
			var s Server
			if err := json.NewDecoder(r.Body).Decode(&s); err != nil || s.Host == "" || s.Port <= 0 {
				http.Error(w, `{"error":"want {host, port, name, game, alive, players, max_players, map, rank}"}`, http.StatusBadRequest)
				return
			}
			f.Put(s)
			w.WriteHeader(http.StatusNoContent)
			return
		}
		f.faults.ControlHandler().ServeHTTP(w, r)
		return
	}
	f.mux.ServeHTTP(w, r)
}

func (f *Fake) guard(route string, h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("User-Agent") == "" {
			http.Error(w, "403 Forbidden", http.StatusForbidden)
			return
		}
		if fl, failed := f.faults.Before(r.Context(), route); failed {
			if fl.RetryAfter > 0 {
				w.Header().Set("Retry-After", strconv.Itoa(fault.RetryAfterSeconds(fl.RetryAfter)))
			}
			http.Error(w, http.StatusText(fl.Status), fl.Status)
			return
		}
		h(w, r)
	}
}

func (f *Fake) lookup(addr string) (Server, bool, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	s, ok := f.servers[addr]
	return s, ok, f.redesigned[addr]
}

func (f *Fake) page(w http.ResponseWriter, r *http.Request) {
	s, ok, redesigned := f.lookup(r.PathValue("addr"))
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	switch {
	case !ok:
		w.WriteHeader(http.StatusNotFound)
		_, _ = w.Write([]byte("<!DOCTYPE html><html><body><h1>Server Not Found</h1></body></html>\n"))
	case redesigned:
		_ = redesignedPage.Execute(w, s)
	default:
		_ = serverPage.Execute(w, s)
	}
}

func (f *Fake) banner(w http.ResponseWriter, r *http.Request) {
	if _, ok, _ := f.lookup(r.PathValue("addr")); !ok || !strings.HasSuffix(r.PathValue("banner"), ".png") {
		http.NotFound(w, r)
		return
	}
	img := image.NewRGBA(image.Rect(0, 0, 560, 95))
	for y := range 95 {
		for x := range 560 {
			img.Set(x, y, color.RGBA{0x38, 0x10, 0x07, 0xff})
		}
	}
	var b bytes.Buffer
	_ = png.Encode(&b, img)
	w.Header().Set("Content-Type", "image/png")
	_, _ = w.Write(b.Bytes())
}

var serverPage = template.Must(template.New("page").Parse(`<!DOCTYPE html>
<html lang="en">
<head><meta charset="utf-8"><title>{{.Name}} - GameTracker.com</title></head>
<body>
<div class="block731">
 <div class="block731_content_left">
  <span class="blocknewheader">Server Summary</span>
  <div class="item_float_left">
   <span class="item_color_title">Name:</span>
   <span class="blocknewhdr">{{.Name}}</span>
   <br>
   <span class="item_color_title">Game:</span> <a href="/search/{{.Game}}/">{{.Game}}</a>
   <br>
   <span class="item_color_title">Status:</span>
   {{if .Alive}}<span class="item_color_success">Alive</span>{{else}}<span class="item_color_error">Dead</span>{{end}}
  </div>
 </div>
 <div class="block731_content_right">
  <div id="HTML_curr_map">{{.Map}}</div>
  <span id="HTML_num_players">{{.Players}}</span> / <span id="HTML_max_players">{{.MaxPlayers}}</span>
  <br>
  <span id="last_scanned">1 minute ago</span>
 </div>
</div>
<div class="block731">
 <span class="blocknewheader">Game Server Rank</span>
 <div class="item_float_left">
  <span class="item_color_title">Rank:</span> {{if .Rank}}{{.Rank}}<sup>th</sup>{{else}}N/A{{end}}
  <br>
 </div>
</div>
</body>
</html>
`))

var redesignedPage = template.Must(template.New("redesigned").Parse(`<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{{.Name}}</title></head>
<body><main><h1>{{.Name}}</h1><dl><dt>Players</dt><dd>{{.Players}} of {{.MaxPlayers}}</dd></dl></main></body></html>
`))
