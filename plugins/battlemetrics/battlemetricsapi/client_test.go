package battlemetricsapi_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	bm "github.com/ezscale/platform/plugins/battlemetrics/battlemetricsapi"
	"github.com/ezscale/platform/plugins/battlemetrics/fakebattlemetrics"
	"github.com/ezscale/platform/plugins/internal/apierror"
)

type testBundle struct {
	fake *fakebattlemetrics.Fake
	url  string
	now  time.Time
}

func setup(t *testing.T, opts fakebattlemetrics.Options) *testBundle {
	t.Helper()
	b := &testBundle{now: time.Date(2026, 11, 30, 10, 0, 0, 0, time.UTC)}
	opts.NowFunc = func() time.Time { return b.now }
	b.fake = fakebattlemetrics.New(opts)
	srv := httptest.NewServer(b.fake)
	t.Cleanup(srv.Close)
	b.url = srv.URL
	return b
}

func (b *testBundle) client(t *testing.T, token string) *bm.Client {
	t.Helper()
	c, err := bm.New(bm.Config{BaseURL: b.url, Token: token})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestListServersFollowsCursorLinks: pages are cut at page[size] and
// links.next is a full URL that the client follows to the last page.
func TestListServersFollowsCursorLinks(t *testing.T) {
	t.Parallel()
	b := setup(t, fakebattlemetrics.Options{})
	var want []string
	for i := range 230 {
		want = append(want, b.fake.Put(fakebattlemetrics.Server{Name: fmt.Sprintf("Moose %d", i), Game: "rust", IP: "10.1.0.1", Port: 28000 + i}))
	}
	c := b.client(t, fakebattlemetrics.DefaultToken)
	page, err := c.ListServers(t.Context(), bm.ServerQuery{Search: "moose", Game: "rust", PageSize: 100})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	sizes := []int{}
	for {
		sizes = append(sizes, len(page.Data))
		for _, s := range page.Data {
			got = append(got, s.ID)
		}
		if page.Links.Next == "" {
			break
		}
		if !strings.HasPrefix(page.Links.Next, b.url+"/servers?") || !strings.Contains(page.Links.Next, "page%5Bkey%5D=") {
			t.Fatalf("links.next %q is not a full cursor URL", page.Links.Next)
		}
		if page, err = c.Next(t.Context(), page.Links.Next); err != nil {
			t.Fatal(err)
		}
	}
	if diff := cmp.Diff([]int{100, 100, 30}, sizes); diff != "" {
		t.Errorf("page sizes (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("ids (-want +got):\n%s", diff)
	}
}

// TestNextRefusesAnotherHost: a cursor link is never followed off the API,
// where the token would leak.
func TestNextRefusesAnotherHost(t *testing.T) {
	t.Parallel()
	b := setup(t, fakebattlemetrics.Options{})
	_, err := b.client(t, fakebattlemetrics.DefaultToken).Next(t.Context(), "https://evil.example/servers?page%5Bkey%5D=x")
	if err == nil || !strings.Contains(err.Error(), "is not under") {
		t.Fatalf("Next to another host: %v, want a refusal", err)
	}
}

// TestSearchIsFuzzyAndFiltered: the search matches parts of the IP (so
// 10.0.0.1 also finds 10.0.0.10) and filter[game]/filter[status] narrow it.
func TestSearchIsFuzzyAndFiltered(t *testing.T) {
	t.Parallel()
	b := setup(t, fakebattlemetrics.Options{})
	a := b.fake.Put(fakebattlemetrics.Server{Name: "A", Game: "rust", IP: "10.0.0.1", Port: 28015})
	ten := b.fake.Put(fakebattlemetrics.Server{Name: "B", Game: "rust", IP: "10.0.0.10", Port: 28015})
	b.fake.Put(fakebattlemetrics.Server{Name: "C", Game: "minecraft", IP: "10.0.0.1", Port: 25565})
	off := b.fake.Put(fakebattlemetrics.Server{Name: "D", Game: "rust", IP: "10.0.0.1", Port: 28016, Status: "offline"})
	c := b.client(t, "")
	ids := func(q bm.ServerQuery) []string {
		t.Helper()
		page, err := c.ListServers(t.Context(), q)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, s := range page.Data {
			out = append(out, s.ID)
		}
		return out
	}
	if diff := cmp.Diff([]string{a, ten, off}, ids(bm.ServerQuery{Search: "10.0.0.1", Game: "rust"})); diff != "" {
		t.Errorf("fuzzy search (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{a}, ids(bm.ServerQuery{Search: "10.0.0.1:28015", Game: "rust"})); diff != "" {
		t.Errorf("ip:port search (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{a, ten}, ids(bm.ServerQuery{Search: "10.0.0", Game: "rust", Status: "online"})); diff != "" {
		t.Errorf("status filter (-want +got):\n%s", diff)
	}
}

// TestErrorsAreJSONAPI: unknown servers, bad tokens and bad page sizes
// answer JSON:API error documents, read as errors[0].detail.
func TestErrorsAreJSONAPI(t *testing.T) {
	t.Parallel()
	b := setup(t, fakebattlemetrics.Options{})
	_, err := b.client(t, "").Server(t.Context(), "999")
	if e, ok := apierror.As(err); !ok || e.StatusCode != 404 || e.Message != "The server you requested was not found." {
		t.Errorf("unknown server: %v", err)
	}
	_, err = b.client(t, "not-a-token").ListServers(t.Context(), bm.ServerQuery{})
	if !apierror.IsUnauthorized(err) {
		t.Errorf("bad token: %v, want 401", err)
	}
	resp, err := http.Get(b.url + "/servers?page%5Bsize%5D=101")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 400 || resp.Header.Get("Content-Type") != "application/vnd.api+json" {
		t.Errorf("page[size]=101: %d %s, want 400 JSON:API", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
}

// TestRateLimits: 60 requests a minute without a token and 300 with one,
// counted in X-Rate-Limit-* headers; past them a 429 with Retry-After.
func TestRateLimits(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		token string
		limit int
	}{{"", 60}, {fakebattlemetrics.DefaultToken, 300}} {
		b := setup(t, fakebattlemetrics.Options{})
		get := func() *http.Response {
			req, _ := http.NewRequest(http.MethodGet, b.url+"/servers", nil)
			if tc.token != "" {
				req.Header.Set("Authorization", "Bearer "+tc.token)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			return resp
		}
		for i := range tc.limit {
			resp := get()
			if resp.StatusCode != 200 || resp.Header.Get("X-Rate-Limit-Limit") != fmt.Sprint(tc.limit) ||
				resp.Header.Get("X-Rate-Limit-Remaining") != fmt.Sprint(tc.limit-i-1) {
				t.Fatalf("token %q call %d: %d limit %s remaining %s", tc.token, i, resp.StatusCode,
					resp.Header.Get("X-Rate-Limit-Limit"), resp.Header.Get("X-Rate-Limit-Remaining"))
			}
		}
		b.now = b.now.Add(15 * time.Second)
		if resp := get(); resp.StatusCode != 429 || resp.Header.Get("Retry-After") != "45" {
			t.Errorf("token %q past the limit: %d Retry-After %q, want 429 and 45", tc.token, resp.StatusCode, resp.Header.Get("Retry-After"))
		}
		_, err := b.client(t, tc.token).ListServers(t.Context(), bm.ServerQuery{})
		if ra, _ := apierror.RetryAfter(err); !apierror.IsRateLimited(err) || ra != 45*time.Second {
			t.Errorf("client past the limit: %v", err)
		}
	}
}

// TestPlayerCountHistory: raw samples, or buckets with average, min and
// max, between start and stop.
func TestPlayerCountHistory(t *testing.T) {
	t.Parallel()
	b := setup(t, fakebattlemetrics.Options{})
	id := b.fake.Put(fakebattlemetrics.Server{Name: "A", Game: "rust", IP: "10.0.0.1", Port: 28015})
	t0 := b.now.Add(-2 * time.Hour)
	for i, n := range []int{10, 20, 30, 40} {
		b.fake.AddSamples(id, fakebattlemetrics.Sample{At: t0.Add(time.Duration(i) * 20 * time.Minute), Players: n})
	}
	c := b.client(t, "")
	raw, err := c.PlayerCountHistory(t.Context(), id, t0, b.now, bm.ResolutionRaw)
	if err != nil || len(raw) != 4 || raw[3].Attributes.Value != 40 {
		t.Fatalf("raw: %v, %v", raw, err)
	}
	hourly, err := c.PlayerCountHistory(t.Context(), id, t0, b.now, "60")
	if err != nil {
		t.Fatal(err)
	}
	type pt struct{ V, Min, Max int }
	var got []pt
	for _, p := range hourly {
		got = append(got, pt{p.Attributes.Value, *p.Attributes.Min, *p.Attributes.Max})
	}
	if diff := cmp.Diff([]pt{{20, 10, 30}, {40, 40, 40}}, got); diff != "" {
		t.Errorf("hourly (-want +got):\n%s", diff)
	}
	if _, err := c.PlayerCountHistory(t.Context(), id, t0, b.now, "7"); apierror.StatusCode(err) != 400 {
		t.Errorf("resolution 7: %v, want 400", err)
	}
}
