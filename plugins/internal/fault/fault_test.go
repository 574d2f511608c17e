package fault

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestInjectorFailNext(t *testing.T) {
	t.Parallel()

	var in Injector
	in.FailNext("GET /a", Failure{Status: 503, Times: 2})
	in.FailNext(Any, Failure{Status: 500})

	var got []int
	for range 4 {
		f, ok := in.Before(context.Background(), "GET /a")
		if !ok {
			f.Status = 200
		}
		got = append(got, f.Status)
	}
	// Route-specific failures come first, then the catch-all, then success.
	if diff := cmp.Diff([]int{503, 503, 500, 200}, got); diff != "" {
		t.Errorf("statuses (-want +got):\n%s", diff)
	}
	if got := in.Calls("GET /a"); got != 4 {
		t.Errorf("Calls = %d, want 4", got)
	}
	if got := in.Calls(Any); got != 4 {
		t.Errorf("Calls(Any) = %d, want 4", got)
	}
}

func TestInjectorLatencyHonoursContext(t *testing.T) {
	t.Parallel()

	var in Injector
	in.SetLatency("GET /slow", time.Hour)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	start := time.Now()
	in.Before(ctx, "GET /slow")
	if time.Since(start) > 5*time.Second {
		t.Fatal("latency ignored the cancelled context")
	}
	in.SetLatency("GET /slow", 0)
	start = time.Now()
	in.Before(context.Background(), "GET /slow")
	if time.Since(start) > time.Second {
		t.Fatal("latency not removed")
	}
}

func TestLimiter(t *testing.T) {
	t.Parallel()

	l := NewLimiter(2, time.Minute)
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	type res struct {
		OK        bool
		Remaining int
		Reset     time.Duration
	}
	var got []res
	for _, at := range []time.Duration{0, time.Second, 2 * time.Second, time.Minute} {
		ok, _, rem, reset := l.Allow(now.Add(at))
		got = append(got, res{ok, rem, reset})
	}
	want := []res{{true, 1, time.Minute}, {true, 0, 59 * time.Second}, {false, 0, 58 * time.Second}, {true, 1, time.Minute}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	l.Set(0, 0)
	if ok, _, _, _ := l.Allow(now); !ok {
		t.Error("disabled limiter refused")
	}
}

func TestControlHandler(t *testing.T) {
	t.Parallel()

	var in Injector
	h := in.ControlHandler()
	do := func(method, path, body string) int {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(method, path, strings.NewReader(body)))
		return rec.Code
	}
	if code := do("POST", "/__fake/failures", `{"route":"GET /a","status":429,"times":1,"retry_after":"3s"}`); code != http.StatusNoContent {
		t.Fatalf("failures: %d", code)
	}
	if code := do("POST", "/__fake/failures", `{"route":"GET /a","status":42}`); code != http.StatusBadRequest {
		t.Fatalf("bad status accepted: %d", code)
	}
	f, ok := in.Before(context.Background(), "GET /a")
	if diff := cmp.Diff(Failure{Status: 429, Times: 1, RetryAfter: 3 * time.Second}, f); !ok || diff != "" {
		t.Fatalf("failure (-want +got):\n%s", diff)
	}
	if code := do("POST", "/__fake/latency", `{"route":"*","latency":"1ms"}`); code != http.StatusNoContent {
		t.Fatalf("latency: %d", code)
	}
	if code := do("POST", "/__fake/reset", ``); code != http.StatusNoContent {
		t.Fatalf("reset: %d", code)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/__fake/calls?route=GET+/a", nil))
	if diff := cmp.Diff(`{"calls":1}`+"\n", rec.Body.String()); diff != "" {
		t.Errorf("calls (-want +got):\n%s", diff)
	}
	if got := RetryAfterSeconds(1500 * time.Millisecond); got != 2 {
		t.Errorf("RetryAfterSeconds rounds down: %d", got)
	}
}

func TestInjectorSkip(t *testing.T) {
	t.Parallel()

	var in Injector
	in.FailNext("GET /a", Failure{Status: 503, Skip: 1})
	var got []int
	for range 3 {
		f, ok := in.Before(context.Background(), "GET /a")
		if !ok {
			f.Status = 200
		}
		got = append(got, f.Status)
	}
	// The first call goes through, the second fails, then success again.
	if diff := cmp.Diff([]int{200, 503, 200}, got); diff != "" {
		t.Errorf("statuses (-want +got):\n%s", diff)
	}
}

// TestLostAnswer: a lost call is acted on (the handler runs) and its client
// gets a transport error, not an answer; the next call answers again.
func TestLostAnswer(t *testing.T) {
	t.Parallel()

	var in Injector
	var acted atomic.Int32
	srv := httptest.NewServer(in.Losing("POST /x", func(w http.ResponseWriter, _ *http.Request) {
		acted.Add(1)
		w.WriteHeader(http.StatusCreated)
	}))
	t.Cleanup(srv.Close)
	control := in.ControlHandler()
	rec := httptest.NewRecorder()
	control.ServeHTTP(rec, httptest.NewRequest("POST", "/__fake/lose", strings.NewReader(`{"route":"POST /x"}`)))
	if rec.Code != http.StatusNoContent {
		t.Fatalf("lose: %d", rec.Code)
	}

	post := func() (int, error) {
		req, err := http.NewRequestWithContext(t.Context(), "POST", srv.URL, strings.NewReader("{}"))
		if err != nil {
			t.Fatal(err)
		}
		resp, err := srv.Client().Do(req)
		if err != nil {
			return 0, err
		}
		resp.Body.Close()
		return resp.StatusCode, nil
	}
	if status, err := post(); err == nil {
		t.Fatalf("lost answer: got status %d, want a transport error", status)
	}
	if status, err := post(); err != nil || status != http.StatusCreated {
		t.Fatalf("next call: %d, %v", status, err)
	}
	if n := acted.Load(); n != 2 {
		t.Errorf("the handler ran %d times, want 2 (the lost call acted too)", n)
	}
}
