package httpapi_test

import (
	"bytes"
	"fmt"
	"net/http"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/ezscale/platform/core/database"
	"github.com/ezscale/platform/core/database/databasetest"
)

func TestIdempotencyReplaysTheStoredResponse(t *testing.T) {
	t.Parallel()
	databasetest.EachURL(t, func(t *testing.T, d database.Dialect, url string) {
		tb := startApp(t, d, url)
		u := tb.newUser(t, "idem")
		body := map[string]any{"name": "deploy", "scopes": []string{"services:write"}}

		first := tb.client.do("POST", "/api/v1/me/tokens", u.Token, body, "Idempotency-Key", "key-1").want(t, http.StatusCreated)
		if first.Header.Get("Idempotent-Replayed") != "" {
			t.Error("the first response is marked replayed")
		}
		again := tb.client.do("POST", "/api/v1/me/tokens", u.Token, body, "Idempotency-Key", "key-1").want(t, http.StatusCreated)
		if again.Header.Get("Idempotent-Replayed") != "true" {
			t.Errorf("Idempotent-Replayed = %q, want true", again.Header.Get("Idempotent-Replayed"))
		}
		if diff := cmp.Diff(string(first.Body), string(again.Body)); diff != "" {
			t.Errorf("replayed body differs (-first +replay):\n%s", diff)
		}
		if n := tb.count(t, "api_tokens", "user_id = ? AND kind = 'personal'", u.ID); n != 1 {
			t.Errorf("%d tokens after a replay, want 1", n)
		}

		// Same key, different body: refused, nothing created.
		other := map[string]any{"name": "deploy", "scopes": []string{"services:read"}}
		tb.client.do("POST", "/api/v1/me/tokens", u.Token, other, "Idempotency-Key", "key-1").
			wantProblem(t, http.StatusUnprocessableEntity, "idempotency_key_reused")

		// Keys belong to their scope: another user may use the same one.
		v := tb.newUser(t, "idem-other")
		tb.client.do("POST", "/api/v1/me/tokens", v.Token, body, "Idempotency-Key", "key-1").want(t, http.StatusCreated)

		// A validation error frees the key: the corrected request runs.
		tb.client.do("POST", "/api/v1/me/tokens", u.Token, map[string]any{"name": "", "scopes": []string{"services:read"}}, "Idempotency-Key", "key-2").
			wantProblem(t, http.StatusBadRequest, "invalid")
		tb.client.do("POST", "/api/v1/me/tokens", u.Token, other, "Idempotency-Key", "key-2").want(t, http.StatusCreated)

		tb.client.do("POST", "/api/v1/me/tokens", u.Token, body, "Idempotency-Key", string(bytes.Repeat([]byte("k"), 256))).
			wantProblem(t, http.StatusBadRequest, "invalid")

		// Anonymous signups are scoped by client address and replay too.
		signup := map[string]string{"email": uniqueEmail("idem-signup"), "password": "correct horse battery"}
		s1 := tb.client.do("POST", "/api/v1/auth/signup", "", signup, "Idempotency-Key", "signup-1").want(t, http.StatusCreated)
		s2 := tb.client.do("POST", "/api/v1/auth/signup", "", signup, "Idempotency-Key", "signup-1").want(t, http.StatusCreated)
		if !bytes.Equal(s1.Body, s2.Body) || s2.Header.Get("Idempotent-Replayed") != "true" {
			t.Errorf("signup replay: %s / %s", s1.Body, s2.Body)
		}
	})
}

// TestIdempotencyConcurrentDuplicates: 20 requests with one key at once have
// exactly one effect; every other answer is the stored response or a 409.
func TestIdempotencyConcurrentDuplicates(t *testing.T) {
	t.Parallel()
	databasetest.EachURL(t, func(t *testing.T, d database.Dialect, url string) {
		tb := startApp(t, d, url)
		u := tb.newUser(t, "race")
		body := map[string]any{"name": "raced", "scopes": []string{"account:read"}}

		const n = 20
		responses := make([]*response, n)
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i := range n {
			wg.Go(func() {
				<-start
				responses[i] = tb.client.do("POST", "/api/v1/me/tokens", u.Token, body, "Idempotency-Key", "same-key")
			})
		}
		close(start)
		wg.Wait()

		if got := tb.count(t, "api_tokens", "user_id = ? AND kind = 'personal'", u.ID); got != 1 {
			t.Fatalf("%d tokens created by %d requests with one key, want 1", got, n)
		}
		var created []byte
		statuses := map[int]int{}
		for _, r := range responses {
			statuses[r.Status]++
			switch r.Status {
			case http.StatusCreated:
				if created == nil {
					created = r.Body
				} else if !bytes.Equal(created, r.Body) {
					t.Errorf("two different 201 bodies:\n%s\n%s", created, r.Body)
				}
			case http.StatusConflict:
				r.wantProblem(t, http.StatusConflict, "idempotency_key_in_use")
			default:
				t.Errorf("unexpected status %d: %s", r.Status, r.Body)
			}
		}
		if statuses[http.StatusCreated] < 1 {
			t.Errorf("no request succeeded: %v", statuses)
		}
		t.Logf("statuses: %s", fmt.Sprint(statuses))
	})
}
