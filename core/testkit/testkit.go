// Package testkit holds the small helpers every package's tests share: a
// clock the test moves, waiting for a condition, a log sink a test reads
// while the code under test writes to it, checking an application error
// (AppErr), and the parsed sources the
// table-ownership tests read. Only tests import it.
package testkit

import (
	"bytes"
	"sync"
	"testing"
	"time"
)

// Clock is a time the test sets and moves; the code under test reads it
// through its Now option. It is safe for concurrent use and always UTC.
type Clock struct {
	mu sync.Mutex
	t  time.Time
}

// NewClock returns a clock at t.
func NewClock(t time.Time) *Clock { return &Clock{t: t.UTC()} }

// Now is the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// Set moves the clock to t.
func (c *Clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t.UTC()
}

// Add moves the clock by d.
func (c *Clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// WaitBound is how long WaitFor waits before failing the test. It is a
// guard against a test hanging, never a timing the test relies on: a
// loaded machine is slow, and the condition, not the time, is what is
// tested.
const WaitBound = 2 * time.Minute

// WaitFor polls cond until it holds, failing the test after WaitBound.
func WaitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	WaitWithin(t, what, WaitBound, cond)
}

// WaitWithin is WaitFor with another bound, for conditions that take long
// by design (a whole process starting, rescuing, or a chunk of work).
func WaitWithin(t testing.TB, what string, bound time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(bound)
	for delay := time.Millisecond; !cond(); delay = min(2*delay, 100*time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", bound, what)
		}
		time.Sleep(delay)
	}
}

// LogBuffer collects what is written to it (a logger's output, a
// process's stderr) for a test to read while writers still write.
type LogBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *LogBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// String is everything written so far.
func (b *LogBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// Len is how many bytes were written so far.
func (b *LogBuffer) Len() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Len()
}
