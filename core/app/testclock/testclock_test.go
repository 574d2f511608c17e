package testclock_test

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/ezscale/platform/core/app/testclock"
)

// TestProcessesFollowTheDriver: a process's clock reads the offset the
// driver writes, reports each move once with the times around it, and the
// driver refuses to move time back.
func TestProcessesFollowTheDriver(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "clock")
	d, err := testclock.NewDriver(path)
	if err != nil {
		t.Fatal(err)
	}
	c, err := testclock.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	target := time.Now().Add(2 * time.Hour)
	if err := d.Set(target); err != nil {
		t.Fatal(err)
	}
	offset, err := testclock.Read(path)
	if err != nil {
		t.Fatal(err)
	}
	if offset < 2*time.Hour-time.Minute || offset > 2*time.Hour {
		t.Fatalf("stored offset %s, want about 2h", offset)
	}

	moves := make(chan [2]time.Time, 4)
	ctx := t.Context()
	go c.Watch(ctx, func(from, to time.Time) { moves <- [2]time.Time{from, to} })
	select {
	case m := <-moves:
		if jump := m[1].Sub(m[0]); jump != offset {
			t.Errorf("the move spans %s, want the offset %s", jump, offset)
		}
		if c.Now().Before(target) {
			t.Errorf("the process's time %s is before the driver's %s", c.Now(), target)
		}
	case <-time.After(testkitBound):
		t.Fatal("the process never saw the clock move")
	}

	if err := d.Set(target.Add(-time.Minute)); err == nil {
		t.Error("the driver moved time back")
	}
}

// testkitBound guards the wait for the watcher; it is no timing the test
// relies on.
const testkitBound = 2 * time.Minute
