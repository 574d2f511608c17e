package main

import (
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/ezscale/platform/plugins/anthropic/fakeanthropic"
	"github.com/ezscale/platform/plugins/supportpal/fakesupportpal"
)

// TestRunServesTheSupportFakes: -anthropic and -supportpal serve the
// Messages API and SupportPal fakes, accepting the default credentials.
func TestRunServesTheSupportFakes(t *testing.T) {
	t.Parallel()
	urls, _ := start(t, 2, "-virtfusion", "", "-pterodactyl", "", "-kasm", "", "-discord", "", "-mail", "", "-smtp", "",
		"-anthropic", "127.0.0.1:0", "-supportpal", "127.0.0.1:0")
	got := map[string]int{}
	req, _ := http.NewRequest("POST", urls["anthropic"]+"/v1/messages",
		strings.NewReader(`{"model":"m","max_tokens":10,"messages":[{"role":"user","content":"hi"}]}`))
	req.Header.Set("x-api-key", fakeanthropic.DefaultAPIKey)
	req.Header.Set("anthropic-version", "2023-06-01")
	req.Header.Set("content-type", "application/json")
	sp, _ := http.NewRequest("GET", urls["supportpal"]+"/ticket/department", nil)
	sp.SetBasicAuth(fakesupportpal.DefaultToken, "X")
	for name, r := range map[string]*http.Request{"anthropic": req, "supportpal": sp} {
		resp, err := http.DefaultClient.Do(r)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		resp.Body.Close()
		got[name] = resp.StatusCode
	}
	if d := cmp.Diff(map[string]int{"anthropic": 200, "supportpal": 200}, got); d != "" {
		t.Errorf("(-want +got):\n%s", d)
	}
}
