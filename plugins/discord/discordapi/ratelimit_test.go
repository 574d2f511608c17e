package discordapi

import (
	"net/http"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestParseRateLimit(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		header map[string]string
		body   string
		want   RateLimitError
	}{
		{
			name: "documented route 429",
			header: map[string]string{"Retry-After": "65", "X-RateLimit-Scope": "user",
				"X-RateLimit-Bucket": "abcd1234"},
			body: `{"message":"You are being rate limited.","retry_after":64.57,"global":false}`,
			want: RateLimitError{Route: "r", RetryAfter: 64570 * time.Millisecond, Scope: "user",
				Bucket: "abcd1234", Message: "You are being rate limited."},
		},
		{
			name:   "global from header",
			header: map[string]string{"Retry-After": "2", "X-RateLimit-Global": "true", "X-RateLimit-Scope": "global"},
			body:   `{"message":"You are being rate limited.","retry_after":1.5,"global":true}`,
			want: RateLimitError{Route: "r", RetryAfter: 1500 * time.Millisecond, Global: true, Scope: "global",
				Message: "You are being rate limited."},
		},
		{
			name:   "proxy 429 without JSON uses Retry-After",
			header: map[string]string{"Retry-After": "7"},
			body:   `<html>Too Many Requests</html>`,
			want:   RateLimitError{Route: "r", RetryAfter: 7 * time.Second, Message: "You are being rate limited."},
		},
		{
			name: "no delay given",
			body: `{}`,
			want: RateLimitError{Route: "r", RetryAfter: defaultRetryAfter, Message: "You are being rate limited."},
		},
		{
			name:   "absurd delay is capped",
			header: map[string]string{"Retry-After": "1e300"},
			want:   RateLimitError{Route: "r", RetryAfter: 24 * time.Hour, Message: "You are being rate limited."},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := http.Header{}
			for k, v := range tt.header {
				h.Set(k, v)
			}
			got := parseRateLimit("r", h, []byte(tt.body))
			if diff := cmp.Diff(tt.want, *got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestLimiterKeepsLowerCountWithinWindow(t *testing.T) {
	t.Parallel()
	l := newLimiter()
	h := func(remaining, reset string) http.Header {
		return http.Header{"X-Ratelimit-Remaining": {remaining}, "X-Ratelimit-Reset-After": {"10"},
			"X-Ratelimit-Reset": {reset}, "X-Ratelimit-Bucket": {"b1"}}
	}
	l.update("route", "1", h("0", "100.000"))
	// A late answer of the same window must not refill the bucket.
	l.update("route", "1", h("3", "100.000"))
	if d, _ := l.reserve("route", "1", time.Now()); d <= 0 {
		t.Fatalf("reserve = %s, want a wait", d)
	}
	// A new window does.
	l.update("route", "1", h("3", "110.000"))
	if d, _ := l.reserve("route", "1", time.Now()); d != 0 {
		t.Fatalf("reserve = %s, want none", d)
	}
	// Another route that Discord puts in the same bucket shares its count.
	l.update("other", "1", h("0", "110.000"))
	if d, _ := l.reserve("route", "1", time.Now()); d <= 0 {
		t.Fatalf("reserve = %s, want a wait on the shared bucket", d)
	}
}
