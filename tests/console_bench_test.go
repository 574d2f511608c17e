package tests

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
	"github.com/hashicorp/go-hclog"

	"github.com/ezscale/platform/config"
	"github.com/ezscale/platform/core/app"
	"github.com/ezscale/platform/core/console"
	"github.com/ezscale/platform/core/database"
	"github.com/ezscale/platform/core/database/databasetest"
	"github.com/ezscale/platform/web"
)

// BenchmarkConsoleLoad measures, in headless Chromium, the time from
// navigation to the console's dashboard being interactive (its data shown,
// after its API calls) for a logged-in customer, against loading a static
// HTML page as large as the dashboard's HTML, JS and CSS together, served
// by the same server (the console's own handler, gzip-compressed). It
// reports the median (p50-ms) over at least 20 loads; the report's ratio of
// the two is the console's cost over the limit a static page sets.
func BenchmarkConsoleLoad(b *testing.B) {
	ctx := newTab(b)
	cfg := config.Default()
	cfg.Database.URL = databasetest.URL(b, database.SQLite)
	cfg.Server.Listen = "127.0.0.1:0"
	cfg.Sources = map[string]string{}
	a, err := app.New(context.Background(), &cfg, hclog.NewNullLogger())
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(a.Close)

	static, size := staticPageLike(b)
	mux := http.NewServeMux()
	mux.Handle("/bench-static/", http.StripPrefix("/bench-static", static))
	mux.Handle("/", a.Handler())
	srv := httptest.NewServer(mux)
	b.Cleanup(srv.Close)
	// Leave the console first: its notification stream would hold the
	// server open.
	b.Cleanup(func() {
		_ = chromedp.Do(ctx, chromedp.Navigate("about:blank"))
		a.Notify.Stop()
	})
	b.Logf("static page: %d bytes, the dashboard's HTML, JS and CSS", size)

	// A customer with a browser session, its cookie set in the tab.
	c := &core{base: srv.URL}
	if code := c.call(b, "POST", "/api/v1/auth/signup", "", map[string]any{"email": "bench@example.net", "password": "correct horse battery"}, nil); code != http.StatusCreated {
		b.Fatalf("signup: %d", code)
	}
	body, _ := json.Marshal(map[string]string{"email": "bench@example.net", "password": "correct horse battery"})
	resp, err := http.Post(srv.URL+"/api/v1/auth/session", "application/json", bytes.NewReader(body))
	if err != nil {
		b.Fatal(err)
	}
	resp.Body.Close()
	for _, ck := range resp.Cookies() {
		if _, err := chromedp.Call(ctx, network.SetCookie, network.SetCookieParams{Name: ck.Name, Value: ck.Value, URL: srv.URL + ck.Path, Path: ck.Path}); err != nil {
			b.Fatal(err)
		}
	}

	for _, tc := range []struct{ name, url, ready string }{
		{"dashboard", srv.URL + "/", `[data-balance]`},
		{"static-page", srv.URL + "/bench-static/", `#ready`},
	} {
		b.Run(tc.name, func(b *testing.B) {
			load := func() time.Duration {
				start := time.Now()
				if err := chromedp.Do(ctx, chromedp.Navigate(tc.url), chromedp.WaitVisible(chromedp.CSS(tc.ready))); err != nil {
					b.Fatal(err)
				}
				return time.Since(start)
			}
			load() // warm the cache, as for a returning visitor
			var samples []time.Duration
			b.ResetTimer()
			for b.Loop() {
				samples = append(samples, load())
			}
			b.StopTimer()
			for len(samples) < 20 {
				samples = append(samples, load())
			}
			slices.Sort(samples)
			b.ReportMetric(float64(samples[len(samples)/2].Microseconds())/1000, "p50-ms")
		})
	}
}

// staticPageLike returns a handler serving one static HTML page (through
// the console's own file handler, with a gzip twin) as large as the
// console's first page: index.html plus the JS and CSS it loads.
func staticPageLike(b *testing.B) (http.Handler, int) {
	b.Helper()
	dist := web.Dist()
	size := 0
	err := fs.WalkDir(dist, "assets", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || strings.HasSuffix(p, ".br") || strings.HasSuffix(p, ".gz") || strings.Contains(strings.ToLower(p), "uplot") || strings.Contains(p, "Staff") || strings.Contains(p, "cytoscape") {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		size += int(fi.Size())
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	idx, err := fs.ReadFile(dist, "index.html")
	if err != nil {
		b.Fatal(err)
	}
	size += len(idx)
	var page bytes.Buffer
	page.WriteString("<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>static</title></head><body><p id=\"ready\">ready</p><pre>\n")
	for i := 0; page.Len() < size-len("</pre></body></html>"); i++ {
		fmt.Fprintf(&page, "Line %d of a static page as large as the console's first load, with enough variety to compress like code.\n", i)
	}
	page.WriteString("</pre></body></html>")
	var gz bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&gz, gzip.BestCompression)
	_, _ = zw.Write(page.Bytes())
	_ = zw.Close()
	h, err := console.New(fstest.MapFS{"index.html": {Data: page.Bytes()}, "index.html.gz": {Data: gz.Bytes()}})
	if err != nil {
		b.Fatal(err)
	}
	return h, page.Len()
}
