package testkit_test

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/ezscale/platform/core/testkit"
)

// TestClockMovesOnlyWhenTold: the clock stays where the test put it, in
// UTC, and Add and Set move it.
func TestClockMovesOnlyWhenTold(t *testing.T) {
	t.Parallel()
	start := time.Date(2026, 3, 2, 10, 0, 0, 0, time.FixedZone("CET", 3600))
	c := testkit.NewClock(start)
	if got := c.Now(); !got.Equal(start) || got.Location() != time.UTC {
		t.Fatalf("Now() = %v, want %v in UTC", got, start)
	}
	c.Add(90 * time.Second)
	if got, want := c.Now(), start.Add(90*time.Second).UTC(); !got.Equal(want) {
		t.Errorf("after Add: %v, want %v", got, want)
	}
	later := time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)
	c.Set(later)
	if got := c.Now(); !got.Equal(later) {
		t.Errorf("after Set: %v, want %v", got, later)
	}
}

// TestWaitForReturnsOnceTheConditionHolds: WaitFor returns as soon as the
// condition holds, which another goroutine makes true.
func TestWaitForReturnsOnceTheConditionHolds(t *testing.T) {
	t.Parallel()
	ready := make(chan struct{})
	go close(ready)
	testkit.WaitFor(t, "the goroutine", func() bool {
		select {
		case <-ready:
			return true
		default:
			return false
		}
	})
}

// TestLogBufferTakesConcurrentWrites: every write of concurrent writers is
// kept whole.
func TestLogBufferTakesConcurrentWrites(t *testing.T) {
	t.Parallel()
	var b testkit.LogBuffer
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() { fmt.Fprintf(&b, "line %d\n", i) })
	}
	wg.Wait()
	if got, want := b.Len(), 8*len("line 0\n"); got != want {
		t.Errorf("Len() = %d, want %d (%q)", got, want, b.String())
	}
}
