package console_test

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"testing/fstest"

	"github.com/google/go-cmp/cmp"

	"github.com/ezscale/platform/core/console"
)

func newHandler(t *testing.T) *console.Handler {
	t.Helper()
	h, err := console.New(fstest.MapFS{
		"index.html":            {Data: []byte("<!doctype html><title>console</title>")},
		"index.html.gz":         {Data: []byte("gz-index")},
		"assets/app-1a2b.js":    {Data: []byte("console.log(1)")},
		"assets/app-1a2b.js.br": {Data: []byte("br-js")},
		"assets/app-1a2b.js.gz": {Data: []byte("gz-js")},
		"assets/app-1a2b.css":   {Data: []byte("body{}")},
		"robots.txt":            {Data: []byte("User-agent: *")},
	})
	if err != nil {
		t.Fatal(err)
	}
	return h
}

type answer struct {
	Status                                  int
	Body, Type, Encoding, Cache, CSP, Frame string
}

func get(h http.Handler, method, path, acceptEncoding string) answer {
	r := httptest.NewRequest(method, path, nil)
	if acceptEncoding != "" {
		r.Header.Set("Accept-Encoding", acceptEncoding)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	hd := w.Result().Header
	return answer{Status: w.Code, Body: w.Body.String(), Type: hd.Get("Content-Type"), Encoding: hd.Get("Content-Encoding"),
		Cache: hd.Get("Cache-Control"), CSP: hd.Get("Content-Security-Policy"), Frame: hd.Get("X-Frame-Options")}
}

// TestServing: hashed assets are immutable for a year and sent
// precompressed as the browser accepts (brotli first, then gzip, else
// plain); every other path is the app's index.html, revalidated each load,
// with the strict CSP and no framing, so deep links work on reload; a
// missing asset is a 404, never the app.
func TestServing(t *testing.T) {
	t.Parallel()
	h := newHandler(t)
	const immutable = "public, max-age=31536000, immutable"
	index := answer{Status: 200, Body: "<!doctype html><title>console</title>", Type: "text/html; charset=utf-8", Cache: "no-cache", CSP: console.CSP, Frame: "DENY"}
	gzIndex := index
	gzIndex.Body, gzIndex.Encoding = "gz-index", "gzip"
	tests := []struct {
		name, method, path, enc string
		want                    answer
	}{
		{"asset brotli", "GET", "/assets/app-1a2b.js", "gzip, deflate, br", answer{Status: 200, Body: "br-js", Type: "text/javascript; charset=utf-8", Encoding: "br", Cache: immutable}},
		{"asset gzip", "GET", "/assets/app-1a2b.js", "gzip", answer{Status: 200, Body: "gz-js", Type: "text/javascript; charset=utf-8", Encoding: "gzip", Cache: immutable}},
		{"asset brotli refused", "GET", "/assets/app-1a2b.js", "br;q=0, gzip", answer{Status: 200, Body: "gz-js", Type: "text/javascript; charset=utf-8", Encoding: "gzip", Cache: immutable}},
		{"asset plain", "GET", "/assets/app-1a2b.js", "", answer{Status: 200, Body: "console.log(1)", Type: "text/javascript; charset=utf-8", Cache: immutable}},
		{"asset without twins", "GET", "/assets/app-1a2b.css", "br, gzip", answer{Status: 200, Body: "body{}", Type: "text/css; charset=utf-8", Cache: immutable}},
		{"root file", "GET", "/robots.txt", "", answer{Status: 200, Body: "User-agent: *", Type: "text/plain; charset=utf-8", Cache: "public, max-age=3600"}},
		{"root", "GET", "/", "", index},
		{"deep link", "GET", "/services/svc_123/usage", "", index},
		{"staff deep link", "GET", "/staff/services", "", index},
		{"email link", "GET", "/verify-email?token=ott_abc", "", index},
		{"index gzip", "GET", "/invoices", "gzip", gzIndex},
		{"index by name", "GET", "/index.html", "", index},
		{"missing asset", "GET", "/assets/app-old.js", "", answer{Status: 404, Body: "404 page not found\n", Type: "text/plain; charset=utf-8", Cache: "no-store"}},
		{"missing file", "GET", "/favicon.ico", "", answer{Status: 404, Body: "404 page not found\n", Type: "text/plain; charset=utf-8", Cache: "no-store"}},
		{"head", "HEAD", "/", "", answer{Status: 200, Type: "text/html; charset=utf-8", Cache: "no-cache", CSP: console.CSP, Frame: "DENY"}},
		{"post", "POST", "/", "", answer{Status: 405, Body: "method not allowed\n", Type: "text/plain; charset=utf-8"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if diff := cmp.Diff(tt.want, get(h, tt.method, tt.path, tt.enc)); diff != "" {
				t.Errorf("%s %s (-want +got):\n%s", tt.method, tt.path, diff)
			}
		})
	}
}

// TestNeedsIndex: a build without index.html is refused at start.
func TestNeedsIndex(t *testing.T) {
	t.Parallel()
	if _, err := console.New(fstest.MapFS{"assets/a.js": {Data: []byte("x")}}); err == nil {
		t.Fatal("console.New accepted a build without index.html")
	}
}
