package main

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestOnceCache(t *testing.T) {
	t.Parallel()
	ctx := context.Background()

	t.Run("concurrent calls with one key run once", func(t *testing.T) {
		t.Parallel()
		c := newOnceCache[int](time.Hour, 10)
		var runs atomic.Int32
		release := make(chan struct{})
		var wg sync.WaitGroup
		results := make([]int, 8)
		for i := range results {
			wg.Go(func() {
				results[i], _ = c.Do(ctx, "k", func() (int, error) {
					runs.Add(1)
					<-release
					return 42, nil
				})
			})
		}
		time.Sleep(20 * time.Millisecond)
		close(release)
		wg.Wait()
		if diff := cmp.Diff([]int{42, 42, 42, 42, 42, 42, 42, 42}, results); diff != "" || runs.Load() != 1 {
			t.Errorf("runs %d, results (-want +got):\n%s", runs.Load(), diff)
		}
	})

	t.Run("failures are not remembered", func(t *testing.T) {
		t.Parallel()
		c := newOnceCache[int](time.Hour, 10)
		boom := errors.New("boom")
		if _, err := c.Do(ctx, "k", func() (int, error) { return 0, boom }); !errors.Is(err, boom) {
			t.Fatalf("got %v", err)
		}
		if v, err := c.Do(ctx, "k", func() (int, error) { return 7, nil }); err != nil || v != 7 {
			t.Errorf("retry = %d, %v; want 7", v, err)
		}
	})

	t.Run("bounded and expiring", func(t *testing.T) {
		t.Parallel()
		c := newOnceCache[int](50*time.Millisecond, 3)
		for i := range 5 {
			c.Do(ctx, string(rune('a'+i)), func() (int, error) { return i, nil })
		}
		if n := len(c.entries); n > 3 {
			t.Errorf("%d entries, want at most 3", n)
		}
		time.Sleep(60 * time.Millisecond)
		v, _ := c.Do(ctx, "e", func() (int, error) { return 99, nil })
		if v != 99 {
			t.Errorf("expired entry returned %d", v)
		}
	})

	t.Run("a waiter honours its context", func(t *testing.T) {
		t.Parallel()
		c := newOnceCache[int](time.Hour, 10)
		release := make(chan struct{})
		defer close(release)
		go c.Do(ctx, "k", func() (int, error) { <-release; return 1, nil })
		time.Sleep(10 * time.Millisecond)
		cctx, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
		defer cancel()
		if _, err := c.Do(cctx, "k", func() (int, error) { return 2, nil }); !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("got %v, want DeadlineExceeded", err)
		}
	})
}
