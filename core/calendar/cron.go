// Package calendar is the time arithmetic of customer automation: 5-field
// cron expressions evaluated in a time zone, and maintenance windows. It has
// no storage and no clock of its own, so every rule is tested directly.
//
// Daylight saving time, decided once and applied everywhere:
//   - A schedule that names specific hours ("30 2 * * *") runs once per
//     wall-clock time. When a DST change skips that time (spring forward),
//     the run happens at the instant the clocks change; when a DST change
//     repeats it (fall back), the run happens at the first occurrence only.
//   - A schedule that runs every hour ("*/15 * * * *", hour field "*") is an
//     interval: it follows real elapsed time, so it runs in both copies of a
//     repeated hour and simply has no runs in a skipped one.
package calendar

import (
	"fmt"
	"strings"
	"time"

	"github.com/robfig/cron/v3"
)

// Cron is a parsed 5-field expression bound to a time zone.
type Cron struct {
	expr     string
	spec     *cron.SpecSchedule
	loc      *time.Location
	interval bool // hour field is "*": real-time semantics
}

var parser = cron.NewParser(cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow | cron.Descriptor)

// maxExprLen bounds what we store and parse.
const maxExprLen = 100

// ParseCron parses a standard 5-field expression ("m h dom mon dow") or a
// descriptor (@hourly, @daily, @weekly, @monthly, @yearly) in the IANA time
// zone tz. Errors say what is wrong in words an end user can act on.
func ParseCron(expr, tz string) (*Cron, error) {
	expr = strings.TrimSpace(expr)
	if expr == "" {
		return nil, fmt.Errorf("the cron expression is empty; use 5 fields: minute hour day-of-month month day-of-week, e.g. \"30 2 * * *\"")
	}
	if len(expr) > maxExprLen {
		return nil, fmt.Errorf("the cron expression is longer than %d characters", maxExprLen)
	}
	if strings.HasPrefix(expr, "TZ=") || strings.HasPrefix(expr, "CRON_TZ=") {
		return nil, fmt.Errorf("give the time zone separately, not inside the expression")
	}
	if strings.HasPrefix(expr, "@every") {
		return nil, fmt.Errorf("@every is not supported; use a 5-field expression such as \"*/15 * * * *\"")
	}
	if !strings.HasPrefix(expr, "@") {
		if n := len(strings.Fields(expr)); n != 5 {
			return nil, fmt.Errorf("the cron expression has %d fields, it needs 5: minute hour day-of-month month day-of-week", n)
		}
	}
	loc, err := LoadZone(tz)
	if err != nil {
		return nil, err
	}
	sched, err := parser.Parse(expr)
	if err != nil {
		return nil, fmt.Errorf("invalid cron expression: %s", strings.TrimPrefix(err.Error(), "failed to parse "))
	}
	spec, ok := sched.(*cron.SpecSchedule)
	if !ok {
		return nil, fmt.Errorf("unsupported cron expression %q", expr)
	}
	const allHours = 1<<24 - 1
	c := &Cron{expr: expr, spec: spec, loc: loc, interval: spec.Hour&allHours == allHours}
	if c.Next(time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)).IsZero() {
		return nil, fmt.Errorf("the cron expression never matches a real date (e.g. 30 February)")
	}
	return c, nil
}

// LoadZone loads an IANA zone; "" means UTC.
func LoadZone(tz string) (*time.Location, error) {
	if tz == "" {
		return time.UTC, nil
	}
	if strings.EqualFold(tz, "local") {
		return nil, fmt.Errorf("time zone %q is ambiguous on a server; use an IANA name such as Europe/Berlin", tz)
	}
	loc, err := time.LoadLocation(tz)
	if err != nil {
		return nil, fmt.Errorf("unknown time zone %q; use an IANA name such as America/New_York", tz)
	}
	return loc, nil
}

// String returns the expression.
func (c *Cron) String() string { return c.expr }

// Location returns the schedule's time zone.
func (c *Cron) Location() *time.Location { return c.loc }

// searchDays bounds the search for the next run: a valid expression matches
// within this many days (29 February is at most 8 years apart… 2096→2104).
const searchDays = 366 * 9

// Next returns the first run strictly after t, or the zero time if none.
func (c *Cron) Next(t time.Time) time.Time {
	if c.interval {
		// robfig steps real time in the zone, which is what an interval
		// schedule wants across DST changes.
		cp := *c.spec
		cp.Location = c.loc
		return cp.Next(t).UTC()
	}
	local := t.In(c.loc)
	y, m, d := local.Date()
	for day := 0; day < searchDays; day++ {
		date := time.Date(y, m, d+day, 12, 0, 0, 0, c.loc) // noon: never inside a DST gap
		if !c.dayMatches(date) {
			continue
		}
		for h := range 24 {
			if c.spec.Hour&(1<<uint(h)) == 0 {
				continue
			}
			for min := range 60 {
				if c.spec.Minute&(1<<uint(min)) == 0 {
					continue
				}
				at := wallInstant(date.Year(), date.Month(), date.Day(), h, min, c.loc)
				if at.After(t) {
					return at.UTC()
				}
			}
		}
	}
	return time.Time{}
}

// NextN returns the next n runs after t (the API's preview).
func (c *Cron) NextN(t time.Time, n int) []time.Time {
	out := make([]time.Time, 0, n)
	for range n {
		t = c.Next(t)
		if t.IsZero() {
			break
		}
		out = append(out, t)
	}
	return out
}

// dayMatches applies cron's day rule: when both day-of-month and
// day-of-week are restricted, either may match.
func (c *Cron) dayMatches(t time.Time) bool {
	const star = 1 << 63
	dom := c.spec.Dom&(1<<uint(t.Day())) != 0
	dow := c.spec.Dow&(1<<uint(t.Weekday())) != 0
	if c.spec.Month&(1<<uint(t.Month())) == 0 {
		return false
	}
	if c.spec.Dom&star != 0 || c.spec.Dow&star != 0 {
		return dom && dow
	}
	return dom || dow
}

// wallInstant resolves a wall-clock time in loc: a time skipped by a DST
// change resolves to the instant the clocks changed; a repeated time to its
// first occurrence.
func wallInstant(y int, mo time.Month, d, h, mi int, loc *time.Location) time.Time {
	at := time.Date(y, mo, d, h, mi, 0, 0, loc)
	if at.Hour() == h && at.Minute() == mi && at.Day() == d {
		// Exists. If it is repeated, Go may give either copy: take the
		// earlier one.
		if earlier := at.Add(-time.Hour); earlier.Hour() == h && earlier.Minute() == mi && earlier.Day() == d {
			return earlier
		}
		return at
	}
	// In a gap. Go normalises it to one side of the change (which side is
	// unspecified); the change itself is a bound of that side's zone period.
	start, end := at.ZoneBounds()
	if at.Day() < d || (at.Day() == d && at.Hour()*60+at.Minute() < h*60+mi) {
		return end
	}
	return start
}
