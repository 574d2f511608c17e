package idem

import (
	"context"
	"errors"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestDoKeepsSuccessOnly(t *testing.T) {
	t.Parallel()
	c := New()
	var calls atomic.Int32
	fail := true
	fn := func(context.Context) (string, error) {
		calls.Add(1)
		if fail {
			return "", errors.New("backend down")
		}
		return "server-1", nil
	}
	if _, err := Do(t.Context(), c, "k", fn); err == nil {
		t.Fatal("want the failure")
	}
	fail = false
	for range 3 {
		v, err := Do(t.Context(), c, "k", fn)
		if err != nil || v != "server-1" {
			t.Fatalf("Do = %q, %v", v, err)
		}
	}
	if got := calls.Load(); got != 2 {
		t.Errorf("fn ran %d times, want 2 (one failure, one success)", got)
	}
}

func TestDoSharesConcurrentFlight(t *testing.T) {
	t.Parallel()
	c := New()
	var calls atomic.Int32
	release := make(chan struct{})
	fn := func(context.Context) (int, error) {
		calls.Add(1)
		<-release
		return 7, nil
	}
	var wg sync.WaitGroup
	results := make([]int, 10)
	for i := range results {
		wg.Go(func() {
			v, err := Do(t.Context(), c, "k", fn)
			if err != nil {
				t.Error(err)
			}
			results[i] = v
		})
	}
	time.Sleep(20 * time.Millisecond)
	close(release)
	wg.Wait()
	if got := calls.Load(); got != 1 {
		t.Errorf("fn ran %d times, want 1", got)
	}
	for _, v := range results {
		if v != 7 {
			t.Fatalf("results %v", results)
		}
	}
}

func TestWaiterHonoursContext(t *testing.T) {
	t.Parallel()
	c := New()
	release := make(chan struct{})
	defer close(release)
	// The first call must own the key before the second arrives, or the
	// second would run its own function instead of waiting.
	running := make(chan struct{})
	go func() {
		_, _ = Do(context.Background(), c, "k", func(context.Context) (int, error) { close(running); <-release; return 1, nil })
	}()
	<-running
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Millisecond)
	defer cancel()
	if _, err := Do(ctx, c, "k", func(context.Context) (int, error) { return 2, nil }); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("waiter: %v", err)
	}
}

func TestEviction(t *testing.T) {
	t.Parallel()
	c := New()
	c.max = 3
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	c.now = func() time.Time { return now }
	for i := range 5 {
		_, _ = Do(t.Context(), c, strconv.Itoa(i), func(context.Context) (int, error) { return i, nil })
	}
	if c.Len() != 3 {
		t.Fatalf("Len = %d, want 3", c.Len())
	}
	now = now.Add(DefaultTTL)
	v, _ := Do(t.Context(), c, "4", func(context.Context) (int, error) { return 40, nil })
	if v != 40 {
		t.Errorf("expired outcome reused: %d", v)
	}
}
