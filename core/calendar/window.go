package calendar

import (
	"fmt"
	"time"
)

// Window is a recurring maintenance window: on the given weekdays (every day
// when empty), from Start (wall clock in Zone) for Duration. A window may
// cross midnight; it belongs to the day it starts.
type Window struct {
	Days     []time.Weekday
	StartMin int // minutes after local midnight, 0-1439
	Duration time.Duration
	Zone     *time.Location
}

// maxWindow keeps a window shorter than a week, so "next opening" is always
// within eight days.
const maxWindow = 7 * 24 * time.Hour

// ParseWindow builds a window from API fields: days like ["sat","sun"],
// start "HH:MM", a duration in minutes and an IANA zone.
func ParseWindow(days []string, start string, minutes int, tz string) (Window, error) {
	var w Window
	loc, err := LoadZone(tz)
	if err != nil {
		return w, err
	}
	w.Zone = loc
	var h, m int
	if _, err := fmt.Sscanf(start, "%d:%d", &h, &m); err != nil || len(start) != 5 || h < 0 || h > 23 || m < 0 || m > 59 {
		return w, fmt.Errorf("start %q is not a time of day as HH:MM", start)
	}
	w.StartMin = h*60 + m
	if minutes < 15 || time.Duration(minutes)*time.Minute >= maxWindow {
		return w, fmt.Errorf("a window lasts from 15 minutes to less than a week, not %d minutes", minutes)
	}
	w.Duration = time.Duration(minutes) * time.Minute
	names := map[string]time.Weekday{"sun": time.Sunday, "mon": time.Monday, "tue": time.Tuesday, "wed": time.Wednesday, "thu": time.Thursday, "fri": time.Friday, "sat": time.Saturday}
	seen := map[time.Weekday]bool{}
	for _, d := range days {
		wd, ok := names[d]
		if !ok {
			return w, fmt.Errorf("day %q is not one of sun, mon, tue, wed, thu, fri, sat", d)
		}
		if !seen[wd] {
			seen[wd] = true
			w.Days = append(w.Days, wd)
		}
	}
	return w, nil
}

func (w Window) onDay(d time.Weekday) bool {
	if len(w.Days) == 0 {
		return true
	}
	for _, x := range w.Days {
		if x == d {
			return true
		}
	}
	return false
}

// openingOn returns the window's start on the local date of day.
func (w Window) openingOn(day time.Time) time.Time {
	return wallInstant(day.Year(), day.Month(), day.Day(), w.StartMin/60, w.StartMin%60, w.Zone)
}

// Contains reports whether t falls inside an occurrence of the window.
func (w Window) Contains(t time.Time) bool {
	local := t.In(w.Zone)
	// An occurrence that contains t started at most Duration ago, so look
	// at its start day and the days before it.
	for back := 0; back <= int(w.Duration/(24*time.Hour))+1; back++ {
		day := time.Date(local.Year(), local.Month(), local.Day()-back, 12, 0, 0, 0, w.Zone)
		if !w.onDay(day.Weekday()) {
			continue
		}
		start := w.openingOn(day)
		if !t.Before(start) && t.Before(start.Add(w.Duration)) {
			return true
		}
	}
	return false
}

// NextOpening returns the first window start at or after t.
func (w Window) NextOpening(t time.Time) time.Time {
	local := t.In(w.Zone)
	for ahead := 0; ahead <= 8; ahead++ {
		day := time.Date(local.Year(), local.Month(), local.Day()+ahead, 12, 0, 0, 0, w.Zone)
		if !w.onDay(day.Weekday()) {
			continue
		}
		if start := w.openingOn(day); !start.Before(t) {
			return start.UTC()
		}
	}
	return time.Time{}
}

// EarliestAllowed returns t when t is inside any window (or there are no
// windows), else the next opening of any window: when a task due at t may run.
func EarliestAllowed(windows []Window, t time.Time) time.Time {
	if len(windows) == 0 {
		return t
	}
	var best time.Time
	for _, w := range windows {
		if w.Contains(t) {
			return t
		}
		if n := w.NextOpening(t); !n.IsZero() && (best.IsZero() || n.Before(best)) {
			best = n
		}
	}
	return best
}
