package client

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// TestOperationsExistInTheAPIDocument checks every operation the client
// calls against the served OpenAPI document (web/openapi.json): the path
// and method exist and carry the operationId the client names it by.
func TestOperationsExistInTheAPIDocument(t *testing.T) {
	t.Parallel()
	data, err := os.ReadFile(filepath.Join("..", "..", "..", "web", "openapi.json"))
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Paths map[string]map[string]json.RawMessage `json:"paths"`
	}
	if err := json.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, op := range Operations {
		if seen[op.ID] {
			t.Errorf("operation %s listed twice", op.ID)
		}
		seen[op.ID] = true
		raw, ok := doc.Paths[op.Path][strings.ToLower(op.Method)]
		if !ok {
			t.Errorf("%s %s (%s) is not in the API document", op.Method, op.Path, op.ID)
			continue
		}
		var o struct {
			OperationID string `json:"operationId"`
		}
		if err := json.Unmarshal(raw, &o); err != nil {
			t.Fatal(err)
		}
		if o.OperationID != op.ID {
			t.Errorf("%s %s: the document names it %q, the client %q", op.Method, op.Path, o.OperationID, op.ID)
		}
	}
}

// TestDoWaitsRetryAfterOn429 checks that a 429 is repeated after the
// Retry-After the API sent, with the same Idempotency-Key and body.
func TestDoWaitsRetryAfterOn429(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	var keys, bodies []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		var b struct {
			PlanID string `json:"plan_id"`
		}
		_ = json.NewDecoder(r.Body).Decode(&b)
		keys = append(keys, r.Header.Get("Idempotency-Key"))
		bodies = append(bodies, b.PlanID)
		if len(keys) < 3 {
			w.Header().Set("Content-Type", "application/problem+json")
			w.Header().Set("Retry-After", "7")
			w.WriteHeader(http.StatusTooManyRequests)
			_, _ = w.Write([]byte(`{"status":429,"code":"rate_limited","detail":"slow down"}`))
			return
		}
		w.Header().Set("Idempotent-Replayed", "true")
		w.WriteHeader(http.StatusCreated)
		_, _ = w.Write([]byte(`{"service":{"id":"s1","status":"pending"},"invoice":{"status":"paid"}}`))
	}))
	t.Cleanup(srv.Close)
	c, err := New(srv.URL+"/api/v1/", "tok", "test")
	if err != nil {
		t.Fatal(err)
	}
	var waits []time.Duration
	c.SleepFunc = func(_ context.Context, d time.Duration) error { waits = append(waits, d); return nil }
	var out Order
	resp, err := c.Do(context.Background(), Call{Op: OpOrderService, Params: []string{"a1"}, IdempotencyKey: "k1",
		Body: map[string]string{"plan_id": "vps-small"}}, &out)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]time.Duration{7 * time.Second, 7 * time.Second}, waits); diff != "" {
		t.Errorf("waits (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"k1", "k1", "k1"}, keys); diff != "" {
		t.Errorf("idempotency keys (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"vps-small", "vps-small", "vps-small"}, bodies); diff != "" {
		t.Errorf("bodies (-want +got):\n%s", diff)
	}
	if !resp.Replayed || out.Service.ID != "s1" {
		t.Errorf("response %+v, order %+v", resp, out)
	}
}

// TestDoDoesNotRepeatAnUnkeyedPostOn503 checks that a POST without an
// Idempotency-Key is not repeated on a 503 (it may have taken effect), and
// that the problem's code, detail and fields make the error.
func TestDoDoesNotRepeatAnUnkeyedPostOn503(t *testing.T) {
	t.Parallel()
	calls := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls++
		w.Header().Set("Retry-After", "1")
		w.WriteHeader(http.StatusServiceUnavailable)
		_, _ = w.Write([]byte(`{"status":503,"code":"backend_unavailable","detail":"the backend is down","errors":[{"field":"plan_id","message":"x"}]}`))
	}))
	t.Cleanup(srv.Close)
	c, err := New(srv.URL, "tok", "test")
	if err != nil {
		t.Fatal(err)
	}
	c.SleepFunc = func(context.Context, time.Duration) error { t.Error("slept"); return nil }
	_, err = c.Do(context.Background(), Call{Op: OpCancelService, Params: []string{"a", "s"}, Body: map[string]string{}}, nil)
	if !HasCode(err, "backend_unavailable") || calls != 1 {
		t.Fatalf("err %v after %d calls", err, calls)
	}
	want := "cancelService: 503 backend_unavailable: the backend is down; plan_id: x"
	if err.Error() != want {
		t.Errorf("error %q, want %q", err.Error(), want)
	}
}
