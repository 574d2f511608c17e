package fakediscord_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/ezscale/platform/plugins/discord/fakediscord"
)

const (
	token = "bot-token"
	ua    = "DiscordBot (https://example.com, 1.0)"
)

type testBundle struct {
	fake    *fakediscord.Server
	url     string
	guild   string
	channel string
}

func setup(t *testing.T, opts fakediscord.Options) *testBundle {
	t.Helper()
	opts.BotToken = token
	fake := fakediscord.New(opts)
	srv := httptest.NewServer(fake)
	t.Cleanup(srv.Close)
	b := &testBundle{fake: fake, url: srv.URL}
	b.guild = fake.AddGuild("g")
	b.channel = fake.AddChannel(b.guild, "c")
	return b
}

type response struct {
	status int
	header http.Header
	body   map[string]any
}

// do sends a raw request; auth "" sends no Authorization header.
func do(t *testing.T, method, url, auth, userAgent, body string) response {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("User-Agent", userAgent)
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	r := response{status: resp.StatusCode, header: resp.Header}
	if len(data) > 0 {
		if err := json.Unmarshal(data, &r.body); err != nil {
			t.Fatalf("body %q is not JSON: %v", data, err)
		}
	}
	return r
}

func TestErrorBodies(t *testing.T) {
	t.Parallel()
	b := setup(t, fakediscord.Options{})
	invites := fakediscord.BaseURL(b.url) + "/channels/" + b.channel + "/invites"
	tests := []struct {
		name       string
		method     string
		url        string
		auth       string
		userAgent  string
		body       string
		wantStatus int
		wantBody   map[string]any
	}{
		{"bad token", "POST", invites, "Bot nope", ua, `{}`, 401,
			map[string]any{"message": "401: Unauthorized", "code": 0.0}},
		{"bearer is not a bot token", "POST", invites, "Bearer " + token, ua, `{}`, 401,
			map[string]any{"message": "401: Unauthorized", "code": 0.0}},
		{"no user agent", "POST", invites, "Bot " + token, "Go-http-client/1.1", `{}`, 403,
			map[string]any{"message": `fakediscord: User-Agent must be "DiscordBot ($url, $versionNumber)"`, "code": 0.0}},
		{"unknown route", "GET", fakediscord.BaseURL(b.url) + "/users/@me", "Bot " + token, ua, "", 404,
			map[string]any{"message": "404: Not Found", "code": 0.0}},
		{"wrong method", "GET", invites, "Bot " + token, ua, "", 405,
			map[string]any{"message": "405: Method Not Allowed", "code": 0.0}},
		{"no body", "POST", invites, "Bot " + token, ua, "", 400,
			map[string]any{"message": "The request body contains invalid JSON.", "code": 50109.0}},
		{"max_uses too high", "POST", invites, "Bot " + token, ua, `{"max_uses":101}`, 400,
			map[string]any{"code": 50035.0, "message": "Invalid Form Body", "errors": map[string]any{
				"max_uses": map[string]any{"_errors": []any{map[string]any{
					"code": "NUMBER_TYPE_MAX", "message": "int value should be less than or equal to 100."}}}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := do(t, tt.method, tt.url, tt.auth, tt.userAgent, tt.body)
			if diff := cmp.Diff([]any{tt.wantStatus, tt.wantBody}, []any{got.status, got.body}); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestRateLimitHeadersAndBucket429(t *testing.T) {
	t.Parallel()
	b := setup(t, fakediscord.Options{BucketLimit: 2, BucketWindow: 5 * time.Second})
	url := fakediscord.BaseURL(b.url) + "/channels/" + b.channel + "/invites"

	var resets []string
	for i, wantRemaining := range []string{"1", "0"} {
		r := do(t, "POST", url, "Bot "+token, ua, `{}`)
		if r.status != 200 {
			t.Fatalf("call %d: status %d", i, r.status)
		}
		if got := r.header.Get("X-RateLimit-Remaining"); got != wantRemaining {
			t.Errorf("call %d: remaining %s, want %s", i, got, wantRemaining)
		}
		for _, h := range []string{"X-RateLimit-Limit", "X-RateLimit-Reset", "X-RateLimit-Reset-After", "X-RateLimit-Bucket"} {
			if r.header.Get(h) == "" {
				t.Errorf("call %d: no %s", i, h)
			}
		}
		resets = append(resets, r.header.Get("X-RateLimit-Reset"))
	}
	if resets[0] != resets[1] {
		t.Errorf("X-RateLimit-Reset changed within a window: %v", resets)
	}

	r := do(t, "POST", url, "Bot "+token, ua, `{}`)
	if r.status != 429 {
		t.Fatalf("third call: status %d, want 429", r.status)
	}
	retryAfter, _ := r.body["retry_after"].(float64)
	if retryAfter <= 4 || retryAfter > 5 {
		t.Errorf("retry_after %v, want about 5", retryAfter)
	}
	got := map[string]any{"message": r.body["message"], "global": r.body["global"],
		"Retry-After": r.header.Get("Retry-After"), "Scope": r.header.Get("X-RateLimit-Scope"),
		"Global": r.header.Get("X-RateLimit-Global"), "Remaining": r.header.Get("X-RateLimit-Remaining")}
	want := map[string]any{"message": "You are being rate limited.", "global": false,
		"Retry-After": "5", "Scope": "user", "Global": "", "Remaining": "0"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("429 (-want +got):\n%s", diff)
	}
	// Errors carry the headers too, and the bucket is per channel.
	other := b.fake.AddChannel(b.guild, "other")
	r = do(t, "POST", fakediscord.BaseURL(b.url)+"/channels/"+other+"/invites", "Bot "+token, ua, `{"max_age":-1}`)
	if r.status != 400 || r.header.Get("X-RateLimit-Remaining") != "1" {
		t.Errorf("other channel: status %d remaining %q, want 400 and 1", r.status, r.header.Get("X-RateLimit-Remaining"))
	}
}

func TestGlobalLimit(t *testing.T) {
	t.Parallel()
	b := setup(t, fakediscord.Options{GlobalLimit: 2})
	b.fake.AddMember(b.guild, "5", "u")
	base := fakediscord.BaseURL(b.url)
	do(t, "POST", base+"/channels/"+b.channel+"/invites", "Bot "+token, ua, `{}`)
	do(t, "GET", base+"/guilds/"+b.guild+"/members/5", "Bot "+token, ua, "")
	r := do(t, "GET", base+"/guilds/"+b.guild+"/members/5", "Bot "+token, ua, "")
	got := []any{r.status, r.header.Get("X-RateLimit-Global"), r.header.Get("X-RateLimit-Scope"), r.body["global"]}
	if diff := cmp.Diff([]any{429, "true", "global", true}, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestInjectedFailures(t *testing.T) {
	t.Parallel()
	b := setup(t, fakediscord.Options{})
	b.fake.InjectFailure(fakediscord.RouteCreateInvite, fakediscord.Failure{Status: 500, Message: "500: Internal Server Error", Times: 2})
	b.fake.InjectFailure(fakediscord.RouteCreateInvite, fakediscord.Failure{Status: 429, RetryAfter: 1.25, Global: true})
	url := fakediscord.BaseURL(b.url) + "/channels/" + b.channel + "/invites"
	var got []int
	for range 4 {
		got = append(got, do(t, "POST", url, "Bot "+token, ua, `{}`).status)
	}
	if diff := cmp.Diff([]int{500, 500, 429, 200}, got); diff != "" {
		t.Errorf("statuses (-want +got):\n%s", diff)
	}
	reqs := b.fake.Requests()
	if len(reqs) != 4 || reqs[2].Route != fakediscord.RouteCreateInvite || reqs[2].Status != 429 {
		t.Errorf("requests = %+v", reqs)
	}
}

func TestNonUniqueInviteIsReused(t *testing.T) {
	t.Parallel()
	b := setup(t, fakediscord.Options{})
	url := fakediscord.BaseURL(b.url) + "/channels/" + b.channel + "/invites"
	first := do(t, "POST", url, "Bot "+token, ua, `{"max_age":3600}`)
	second := do(t, "POST", url, "Bot "+token, ua, `{"max_age":3600}`)
	unique := do(t, "POST", url, "Bot "+token, ua, `{"max_age":3600,"unique":true}`)
	if first.body["code"] != second.body["code"] || first.body["code"] == unique.body["code"] {
		t.Errorf("codes %v %v %v: want the first two equal and the unique one new",
			first.body["code"], second.body["code"], unique.body["code"])
	}
	if first.body["expires_at"] == nil || first.body["max_uses"] != 0.0 {
		t.Errorf("invite = %v", first.body)
	}
}

func TestWebhookValidation(t *testing.T) {
	t.Parallel()
	b := setup(t, fakediscord.Options{})
	wh := b.fake.AddWebhook(b.channel)
	tests := []struct {
		name, body string
		wantStatus int
		wantCode   float64
	}{
		{"too long", `{"content":"` + strings.Repeat("é", 2001) + `"}`, 400, 50035},
		{"username with discord", `{"content":"x","username":"Discord alerts"}`, 400, 50035},
		{"embeds only", `{"embeds":[{"title":"t"}]}`, 204, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := do(t, "POST", wh.URL(b.url), "", ua, tt.body)
			code, _ := r.body["code"].(float64)
			if r.status != tt.wantStatus || code != tt.wantCode {
				t.Errorf("got %d %v, want %d %v", r.status, r.body, tt.wantStatus, tt.wantCode)
			}
		})
	}
	// The versioned path serves webhooks too.
	r := do(t, "POST", fakediscord.BaseURL(b.url)+"/webhooks/"+wh.ID+"/"+wh.Token+"?wait=true", "", ua, `{"content":"hi"}`)
	if r.status != 200 || r.body["content"] != "hi" || r.body["webhook_id"] != wh.ID {
		t.Errorf("wait=true: %d %v", r.status, r.body)
	}
}
