package ratelimit

import (
	"context"
	"testing"
	"time"

	"github.com/ezscale/platform/core/database"
	"github.com/ezscale/platform/core/database/databasetest"
)

// TestWindows: Hit allows Limit events per window and refuses the next with
// the time left in the window; Count reports the running count, so the
// crossing (Limit+1) is seen exactly once; a new window starts from zero,
// and Reset forgets the current one.
func TestWindows(t *testing.T) {
	databasetest.Each(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		now := time.Date(2026, 3, 1, 10, 0, 10, 0, time.UTC)
		l := New(db)
		l.now = func() time.Time { return now }
		r := Rule{Limit: 2, Window: time.Minute}
		for i := range 2 {
			if ok, _, err := l.Hit(ctx, "b", r); err != nil || !ok {
				t.Fatalf("hit %d: ok %v, err %v", i+1, ok, err)
			}
		}
		ok, retry, err := l.Hit(ctx, "b", r)
		if err != nil || ok || retry != 50*time.Second {
			t.Fatalf("hit 3: ok %v, retry %v, err %v; want refused with 50s left", ok, retry, err)
		}
		if n, _, err := l.Count(ctx, "b", r); err != nil || n != 4 {
			t.Fatalf("Count = %d, %v; want 4", n, err)
		}
		if n, _, _ := l.Count(ctx, "other", r); n != 1 {
			t.Fatalf("another bucket counts from 1, got %d", n)
		}
		now = now.Add(time.Minute)
		if ok, _, _ := l.Hit(ctx, "b", r); !ok {
			t.Fatal("the next window is refused")
		}
		if err := l.Reset(ctx, "b", r); err != nil {
			t.Fatal(err)
		}
		if n, _, _ := l.Count(ctx, "b", r); n != 1 {
			t.Fatalf("after Reset the count is %d, want 1", n)
		}
	})
}
