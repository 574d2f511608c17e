// Package console serves the web console: the single-page app built from
// web/ (see docs/console.md) and embedded in the binary. It is a thin
// client of the public API and has no routes of its own beyond its files.
//
// Hashed assets (assets/*) are cached for a year as immutable; index.html
// is revalidated on every load, so a new binary's console is picked up at
// once. Every file is served precompressed (brotli, then gzip) when the
// browser accepts it. Any other path is a page of the app: it gets
// index.html, so deep links work on reload.
package console

import (
	"bytes"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"strconv"
	"strings"
)

// CSP is the console's Content-Security-Policy: scripts, styles and API
// calls from the console's own origin only, no inline script, and no
// framing (clickjacking).
const CSP = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; " +
	"connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

// Handler serves the files of dist (the build output: index.html, assets/,
// and each file's .br and .gz twins).
type Handler struct {
	files map[string]file
}

type file struct {
	plain, br, gz []byte
	ctype         string
}

// New reads dist into memory. It fails when dist has no index.html.
func New(dist fs.FS) (*Handler, error) {
	h := &Handler{files: map[string]file{}}
	err := fs.WalkDir(dist, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || strings.HasSuffix(p, ".br") || strings.HasSuffix(p, ".gz") {
			return err
		}
		b, err := fs.ReadFile(dist, p)
		if err != nil {
			return err
		}
		f := file{plain: b, ctype: mime.TypeByExtension(path.Ext(p))}
		if f.ctype == "" {
			f.ctype = http.DetectContentType(b)
		}
		f.br, _ = fs.ReadFile(dist, p+".br")
		f.gz, _ = fs.ReadFile(dist, p+".gz")
		h.files["/"+p] = f
		return nil
	})
	if err != nil {
		return nil, err
	}
	if _, ok := h.files["/index.html"]; !ok {
		return nil, fs.ErrNotExist
	}
	return h, nil
}

// Asset returns a file's uncompressed bytes (for tests and benchmarks).
func (h *Handler) Asset(name string) ([]byte, bool) {
	f, ok := h.files[name]
	return f.plain, ok
}

func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	hd := w.Header()
	hd.Set("X-Content-Type-Options", "nosniff")
	// The verify and reset pages carry their token in the query string.
	hd.Set("Referrer-Policy", "no-referrer")
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		hd.Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	p := path.Clean("/" + r.URL.Path)
	f, ok := h.files[p]
	switch {
	case ok && p != "/index.html" && strings.HasPrefix(p, "/assets/"):
		hd.Set("Cache-Control", "public, max-age=31536000, immutable")
	case ok && p != "/index.html":
		hd.Set("Cache-Control", "public, max-age=3600")
	case strings.HasPrefix(p, "/assets/") || path.Ext(p) != "" && p != "/index.html":
		// A missing file is not a page: a stale asset name must fail
		// loudly, not load the app as a script.
		hd.Set("Cache-Control", "no-store")
		http.NotFound(w, r)
		return
	default:
		f = h.files["/index.html"]
		hd.Set("Cache-Control", "no-cache")
		hd.Set("Content-Security-Policy", CSP)
		hd.Set("X-Frame-Options", "DENY")
	}
	hd.Set("Content-Type", f.ctype)
	hd.Add("Vary", "Accept-Encoding")
	body := f.plain
	switch enc := r.Header.Get("Accept-Encoding"); {
	case f.br != nil && accepts(enc, "br"):
		body = f.br
		hd.Set("Content-Encoding", "br")
	case f.gz != nil && accepts(enc, "gzip"):
		body = f.gz
		hd.Set("Content-Encoding", "gzip")
	}
	hd.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(http.StatusOK)
	if r.Method == http.MethodGet {
		_, _ = bytes.NewReader(body).WriteTo(w)
	}
}

// accepts reports whether an Accept-Encoding value allows coding (present
// and not weighted q=0).
func accepts(header, coding string) bool {
	for _, part := range strings.Split(header, ",") {
		name, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		if !strings.EqualFold(strings.TrimSpace(name), coding) {
			continue
		}
		q := strings.ReplaceAll(params, " ", "")
		return q != "q=0" && q != "q=0.0" && q != "q=0.00" && q != "q=0.000"
	}
	return false
}
