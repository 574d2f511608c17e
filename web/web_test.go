package web_test

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"io"
	"io/fs"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/ezscale/platform/core/httpapi"
	"github.com/ezscale/platform/web"
)

// FirstPageBudget is the most compressed JavaScript and CSS the console
// may load for its first page after login (the dashboard).
const FirstPageBudget = 150 * 1024

// TestOpenAPIMatchesServed: the document the console's API types were
// generated from (web/openapi.json) is the one the server serves. A changed
// API fails here until `make web` regenerates the types, and with them the
// console's type check.
func TestOpenAPIMatchesServed(t *testing.T) {
	t.Parallel()
	_, raw, err := httpapi.OpenAPI()
	if err != nil {
		t.Fatal(err)
	}
	committed, err := os.ReadFile("openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	var served, have any
	if err := json.Unmarshal(raw, &served); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(committed, &have); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(served, have); diff != "" {
		t.Errorf("web/openapi.json is not the served document; run `make web` and commit (-served +committed):\n%s", diff)
	}
}

type manifestEntry struct {
	File    string   `json:"file"`
	Imports []string `json:"imports"`
	CSS     []string `json:"css"`
	IsEntry bool     `json:"isEntry"`
}

// firstPage lists the files the console's entry loads before anything
// else: the entry chunk, its static imports and their CSS (dynamic imports,
// such as the chart library and the staff pages, load later, where used).
func firstPage(t *testing.T, dist fs.FS) []string {
	t.Helper()
	b, err := fs.ReadFile(dist, ".vite/manifest.json")
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]manifestEntry
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	var files []string
	var walk func(key string)
	walk = func(key string) {
		if seen[key] {
			return
		}
		seen[key] = true
		e := m[key]
		files = append(files, e.File)
		files = append(files, e.CSS...)
		for _, imp := range e.Imports {
			walk(imp)
		}
	}
	walk("index.html")
	if len(files) == 0 || !m["index.html"].IsEntry {
		t.Fatalf("the manifest has no index.html entry: %s", b)
	}
	return files
}

// TestFirstPageBudget: the first page after login loads at most 150 KB of
// compressed (brotli, as browsers are sent it) JavaScript and CSS, and no
// chart code.
func TestFirstPageBudget(t *testing.T) {
	t.Parallel()
	dist := web.Dist()
	var total int
	for _, f := range firstPage(t, dist) {
		if strings.Contains(strings.ToLower(f), "uplot") {
			t.Errorf("the first page loads the chart library (%s)", f)
		}
		br, err := fs.ReadFile(dist, f+".br")
		if err != nil {
			t.Fatalf("%s has no brotli twin: %v", f, err)
		}
		total += len(br)
	}
	t.Logf("first page: %d bytes of compressed JS and CSS (budget %d)", total, FirstPageBudget)
	if total > FirstPageBudget {
		t.Errorf("the first page loads %d bytes of compressed JS and CSS, over the %d budget", total, FirstPageBudget)
	}
}

// TestPrecompressedTwins: every .gz twin is the gzip of its file as
// written (a twin of an earlier stage of the build once shipped code that
// could not run), and every text asset has both twins.
func TestPrecompressedTwins(t *testing.T) {
	t.Parallel()
	dist := web.Dist()
	err := fs.WalkDir(dist, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || strings.HasPrefix(p, ".vite/") || strings.HasSuffix(p, ".br") || strings.HasSuffix(p, ".gz") {
			return err
		}
		plain, err := fs.ReadFile(dist, p)
		if err != nil {
			return err
		}
		if _, err := fs.Stat(dist, p+".br"); err != nil {
			t.Errorf("%s has no .br twin", p)
		}
		gz, err := fs.ReadFile(dist, p+".gz")
		if err != nil {
			t.Errorf("%s has no .gz twin", p)
			return nil
		}
		zr, err := gzip.NewReader(bytes.NewReader(gz))
		if err != nil {
			return err
		}
		unzipped, err := io.ReadAll(zr)
		if err != nil {
			return err
		}
		if !bytes.Equal(unzipped, plain) {
			t.Errorf("%s.gz is not the gzip of %s", p, p)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestNoInlineScript: the page has no inline script or style, so the
// strict Content-Security-Policy (script-src 'self') holds.
func TestNoInlineScript(t *testing.T) {
	t.Parallel()
	b, err := fs.ReadFile(web.Dist(), "index.html")
	if err != nil {
		t.Fatal(err)
	}
	for _, re := range []*regexp.Regexp{regexp.MustCompile(`<script(?:\s[^>]*)?>[^<]+</script>`), regexp.MustCompile(`<style`), regexp.MustCompile(`\son[a-z]+=`)} {
		if m := re.Find(b); m != nil {
			t.Errorf("index.html has inline code: %s", m)
		}
	}
	if !regexp.MustCompile(`<script type="module" crossorigin src="/assets/index-[A-Za-z0-9_-]+\.js"></script>`).Match(b) {
		t.Errorf("index.html does not load a hashed entry script:\n%s", b)
	}
}
