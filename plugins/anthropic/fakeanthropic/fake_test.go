package fakeanthropic

import (
	"bufio"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/ezscale/platform/plugins/internal/jsonshape"
)

func post(t *testing.T, url string, header map[string]string, body string) *http.Response {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, url+"/v1/messages", strings.NewReader(body))
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	return resp
}

const okBody = `{"model":"claude-haiku-5-5","max_tokens":100,"messages":[{"role":"user","content":"hi there"}]}`

func headers(version string) map[string]string {
	return map[string]string{"x-api-key": DefaultAPIKey, "anthropic-version": version, "content-type": "application/json"}
}

type errorBody struct {
	Type  string `json:"type"`
	Error struct {
		Type string `json:"type"`
	} `json:"error"`
	RequestID string `json:"request_id"`
}

// TestAcceptsBothVersionsAndRefusesOthers: 2023-06-01 and 2026-10-21 are
// served; another version or a bad key is refused with the error JSON,
// whose request_id is the request-id header.
func TestAcceptsBothVersionsAndRefusesOthers(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(New(Options{}))
	defer srv.Close()
	for _, v := range Versions {
		if resp := post(t, srv.URL, headers(v), okBody); resp.StatusCode != 200 || resp.Header.Get("request-id") == "" {
			t.Errorf("version %s: %d, request-id %q", v, resp.StatusCode, resp.Header.Get("request-id"))
		}
	}
	bad := headers("2024-01-01")
	wrongKey := headers(Versions[1])
	wrongKey["x-api-key"] = "nope"
	for _, tc := range []struct {
		h      map[string]string
		status int
		typ    string
	}{{bad, 400, "invalid_request_error"}, {wrongKey, 401, "authentication_error"}} {
		resp := post(t, srv.URL, tc.h, okBody)
		var e errorBody
		_ = json.NewDecoder(resp.Body).Decode(&e)
		if resp.StatusCode != tc.status || e.Type != "error" || e.Error.Type != tc.typ || e.RequestID != resp.Header.Get("request-id") || e.RequestID == "" {
			t.Errorf("%v: %d %+v (header %q), want %d %s", tc.h, resp.StatusCode, e, resp.Header.Get("request-id"), tc.status, tc.typ)
		}
	}
}

// TestRateLimitAnswers429WithHeaders: over the per-minute limit the fake
// answers 429 rate_limit_error with retry-after and the rate-limit
// headers, which every answer carries.
func TestRateLimitAnswers429WithHeaders(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 12, 6, 9, 0, 0, 0, time.UTC)
	srv := httptest.NewServer(New(Options{RequestsPerMinute: 1, Now: func() time.Time { return now }}))
	defer srv.Close()
	first := post(t, srv.URL, headers(Versions[0]), okBody)
	if first.StatusCode != 200 || first.Header.Get("anthropic-ratelimit-requests-remaining") != "0" ||
		first.Header.Get("anthropic-ratelimit-tokens-limit") == "" {
		t.Fatalf("first: %d %v", first.StatusCode, first.Header)
	}
	second := post(t, srv.URL, headers(Versions[0]), okBody)
	var e errorBody
	_ = json.NewDecoder(second.Body).Decode(&e)
	if second.StatusCode != 429 || e.Error.Type != "rate_limit_error" || second.Header.Get("retry-after") != "60" ||
		second.Header.Get("anthropic-ratelimit-requests-reset") != "2026-12-06T09:01:00Z" {
		t.Errorf("second: %d %+v %v", second.StatusCode, e, second.Header)
	}
}

// TestStreamSendsEveryEventType: a streamed answer with a tool call sends
// message_start, content_block_start, ping, text and input_json deltas,
// content_block_stop, message_delta and message_stop; a broken stream ends
// with an error event.
func TestStreamSendsEveryEventType(t *testing.T) {
	t.Parallel()
	f := New(Options{})
	srv := httptest.NewServer(f)
	defer srv.Close()
	body := `{"model":"m","max_tokens":100,"stream":true,"tools":[{"name":"escalate_to_human","input_schema":{"type":"object"}}],
		"messages":[{"role":"user","content":[{"type":"text","text":"a human please"}]}]}`
	events := func() []string {
		resp := post(t, srv.URL, headers(Versions[1]), body)
		var out []string
		sc := bufio.NewScanner(resp.Body)
		for sc.Scan() {
			if ev, ok := strings.CutPrefix(sc.Text(), "event: "); ok && (len(out) == 0 || out[len(out)-1] != ev) {
				out = append(out, ev)
			}
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		return out
	}
	want := []string{"message_start", "content_block_start", "ping", "content_block_delta", "content_block_stop",
		"content_block_start", "content_block_delta", "content_block_stop", "message_delta", "message_stop"}
	if d := cmp.Diff(want, events()); d != "" {
		t.Errorf("events (-want +got):\n%s", d)
	}
	f.BreakNextStream(2, "overloaded_error")
	want = []string{"message_start", "content_block_start", "ping", "content_block_delta", "error"}
	if d := cmp.Diff(want, events()); d != "" {
		t.Errorf("broken stream events (-want +got):\n%s", d)
	}
}

// The reference's Messages answer (shared/reference/third-party-apis.md,
// section 7).
const referenceMessage = `{"id":"msg_01XFDUDYJgAACzvnptvVoYEL","type":"message","role":"assistant",
 "model":"claude-sonnet-4-5","content":[{"type":"text","text":"Hi! How can I help?"}],
 "stop_reason":"end_turn","stop_sequence":null,
 "usage":{"input_tokens":12,"output_tokens":9,"cache_creation_input_tokens":0,"cache_read_input_tokens":0}}`

// TestServesTheReferenceShape: a non-streamed answer carries every field
// of the reference's example.
func TestServesTheReferenceShape(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(New(Options{}))
	defer srv.Close()
	resp := post(t, srv.URL, headers(Versions[0]), okBody)
	got, _ := io.ReadAll(resp.Body)
	if missing, err := jsonshape.Missing([]byte(referenceMessage), got); err != nil || len(missing) > 0 {
		t.Errorf("answer lacks %v (%v): %s", missing, err, got)
	}
}
