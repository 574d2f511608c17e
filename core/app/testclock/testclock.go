// Package testclock is the clock that end-to-end tests drive in a real
// `ezscale serve` process, so that tests of cron schedules advance time
// instead of waiting for wall-clock minutes.
//
// Only a core built with the build tag ezscaletest (tests/testbin builds it
// so) reads Env; a production build does not contain this package. The
// process's time is the wall clock plus an offset that the test writes to
// the file Env names and only ever moves forward; every replica started
// with the same file shares it. The scheduler, the record of backend
// actions, the rate limits and the job engine (River: due times, leases,
// the times it stamps on jobs) follow it; the rest of the core keeps the
// wall clock. River's rescuer (v0.51) is the exception: it measures its
// horizon on the wall clock against a job's attempted_at, which is stamped
// on this clock, so a job started while the clock is ahead is rescued that
// much later, and moving the clock on does not hasten a rescue. When the
// clock moves, each replica enqueues the periodic jobs on a fixed schedule
// (the scheduler's per-minute due-tasks job, the daily billing run) that
// fell due in the jump, as River's periodic enqueuer would have had it
// waited: they are unique per period, so that is once however many replicas
// do it.
//
// A jump longer than River's leadership lease (15 s) also ends the
// leader's term; a replica is elected again within River's election
// interval (5 s).
package testclock

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

// Env names the variable holding the clock file's path.
const Env = "EZSCALE_TEST_CLOCK"

// pollEvery is how often a process looks at the clock file.
const pollEvery = 10 * time.Millisecond

// Clock is the process side: the wall clock plus the file's offset. It is a
// River time generator too.
type Clock struct {
	path   string
	offset atomic.Int64
}

// Open reads the clock file at path.
func Open(path string) (*Clock, error) {
	c := &Clock{path: path}
	if _, err := c.refresh(); err != nil {
		return nil, err
	}
	return c, nil
}

// Now is the wall clock plus the offset, in UTC.
func (c *Clock) Now() time.Time { return time.Now().Add(time.Duration(c.offset.Load())).UTC() }

// NowOrNil is Now: River then uses the clock for the times it compares in
// the database too, not the database's own.
func (c *Clock) NowOrNil() *time.Time {
	t := c.Now()
	return &t
}

// Watch polls the file until ctx ends and calls moved with the time just
// before and just after each move of the clock (the core then enqueues the
// periodic jobs due in between, whose timers were set for the time before
// the move).
func (c *Clock) Watch(ctx context.Context, moved func(from, to time.Time)) {
	t := time.NewTicker(pollEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		before := time.Duration(c.offset.Load())
		if ok, err := c.refresh(); err == nil && ok {
			wall := time.Now()
			moved(wall.Add(before).UTC(), wall.Add(time.Duration(c.offset.Load())).UTC())
		}
	}
}

// refresh reads the file and reports whether the offset moved. It reads
// the content every time: a file's modification time may be too coarse to
// tell two quick moves apart.
func (c *Clock) refresh() (bool, error) {
	d, err := Read(c.path)
	if err != nil {
		return false, err
	}
	return c.offset.Swap(int64(d)) != int64(d), nil
}

// Read returns the offset stored in the clock file at path.
func Read(path string) (time.Duration, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, fmt.Errorf("testclock: %w", err)
	}
	n, err := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("testclock: %s: %w", path, err)
	}
	return time.Duration(n), nil
}

// Write stores offset in the clock file at path, atomically (a process
// never reads half a file).
func Write(path string, offset time.Duration) error {
	tmp := fmt.Sprintf("%s.%d.tmp", path, time.Now().UnixNano())
	if err := os.WriteFile(tmp, []byte(strconv.FormatInt(int64(offset), 10)+"\n"), 0o600); err != nil {
		return fmt.Errorf("testclock: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("testclock: %w", err)
	}
	return nil
}

// Driver is the test side: it owns the clock file and moves the offset
// forward.
type Driver struct {
	path   string
	offset atomic.Int64
}

// NewDriver creates the clock file at path with offset zero (the wall
// clock).
func NewDriver(path string) (*Driver, error) {
	if err := Write(path, 0); err != nil {
		return nil, err
	}
	return &Driver{path: path}, nil
}

// Path is the clock file, for Env.
func (d *Driver) Path() string { return d.path }

// Now is the processes' time: the wall clock plus the offset.
func (d *Driver) Now() time.Time { return time.Now().Add(time.Duration(d.offset.Load())).UTC() }

// Set moves the processes' time to t (from there it runs on with the wall
// clock). Time never goes back: a t before Now is an error.
func (d *Driver) Set(t time.Time) error {
	offset := time.Until(t)
	if offset < time.Duration(d.offset.Load()) {
		return fmt.Errorf("testclock: %s is before the clock's %s", t.UTC().Format(time.RFC3339Nano), d.Now().Format(time.RFC3339Nano))
	}
	if err := Write(d.path, offset); err != nil {
		return err
	}
	d.offset.Store(int64(offset))
	return nil
}

// NextMinute moves the time to just after the start of the next minute,
// when the scheduler's per-minute due-tasks job fires, and returns that
// minute.
func (d *Driver) NextMinute() (time.Time, error) {
	m := d.Now().Truncate(time.Minute).Add(time.Minute)
	return m, d.Set(m.Add(100 * time.Millisecond))
}
