package testkit_test

import (
	"errors"
	"fmt"
	"net"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/ezscale/platform/core/apperr"
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

// failures is a testing.TB that records Fatalf instead of ending the test.
type failures struct {
	testing.TB
	msgs []string
}

func (f *failures) Helper() {}

func (f *failures) Fatalf(format string, args ...any) {
	f.msgs = append(f.msgs, fmt.Sprintf(format, args...))
}

func TestAppErrAcceptsOnlyTheCodeAndReasonAsked(t *testing.T) {
	conflict := apperr.New(apperr.Conflict, "a transfer is open").WithReason("transfer_open")
	wrapped := fmt.Errorf("requesting: %w", conflict)
	for _, tc := range []struct {
		name   string
		err    error
		code   apperr.Code
		reason string
		fails  bool
	}{
		{"code and reason", wrapped, apperr.Conflict, "transfer_open", false},
		{"any reason", conflict, apperr.Conflict, "", false},
		{"another reason", conflict, apperr.Conflict, "same_account", true},
		{"another code", conflict, apperr.NotFound, "", true},
		{"not an application error", errors.New("boom"), apperr.Conflict, "", true},
		{"no error", nil, apperr.Conflict, "", true},
	} {
		f := &failures{TB: t}
		e := testkit.AppErr(f, tc.err, tc.code, tc.reason)
		if failed := len(f.msgs) > 0; failed != tc.fails {
			t.Errorf("%s: failed %v (%q), want %v", tc.name, failed, f.msgs, tc.fails)
		}
		if !tc.fails && e != conflict {
			t.Errorf("%s: returned %v, want the application error", tc.name, e)
		}
	}
}

// TestUnusedAddrIsBelowTheEphemeralRange: the addresses handed out are below
// the range other tests' connections and port-0 listeners take their ports
// from, nothing listens on them, and no two are the same.
func TestUnusedAddrIsBelowTheEphemeralRange(t *testing.T) {
	t.Parallel()
	low := testkit.EphemeralLow()
	seen := map[string]bool{}
	for range 50 {
		addr := testkit.UnusedAddr(t)
		_, portText, err := net.SplitHostPort(addr)
		if err != nil {
			t.Fatal(err)
		}
		port, err := strconv.Atoi(portText)
		if err != nil {
			t.Fatal(err)
		}
		if port < 10000 || port >= low {
			t.Errorf("UnusedAddr gave port %d, want one in [10000, %d)", port, low)
		}
		if seen[addr] {
			t.Errorf("UnusedAddr gave %s twice", addr)
		}
		seen[addr] = true
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			t.Errorf("something listens on %s", addr)
		}
	}
	if port := testkit.UnusedPort(t); port < 10000 || port >= low {
		t.Errorf("UnusedPort gave %d, want one in [10000, %d)", port, low)
	}
}
