package calendar

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func mustZone(t *testing.T, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

func TestParseCronValidation(t *testing.T) {
	t.Parallel()
	tests := []struct {
		expr, tz string
		wantErr  string // substring; "" = valid
	}{
		{"30 2 * * *", "America/New_York", ""},
		{"*/15 * * * *", "", ""},
		{"0 9 * * 1-5", "Europe/Berlin", ""},
		{"0 0 1 1 *", "UTC", ""},
		{"@daily", "UTC", ""},
		{"0 0 29 2 *", "UTC", ""},
		{"", "UTC", "empty"},
		{"* * * *", "UTC", "has 4 fields, it needs 5"},
		{"0 0 * * * *", "UTC", "has 6 fields"},
		{"60 * * * *", "UTC", "invalid cron expression"},
		{"0 24 * * *", "UTC", "invalid cron expression"},
		{"0 0 31 2 *", "UTC", "never matches"},
		{"0 0 * * 8", "UTC", "invalid cron expression"},
		{"abc * * * *", "UTC", "invalid cron expression"},
		{"@every 5m", "UTC", "@every is not supported"},
		{"CRON_TZ=UTC 0 0 * * *", "UTC", "time zone separately"},
		{"0 0 * * *", "Mars/Olympus", "unknown time zone"},
		{"0 0 * * *", "Local", "ambiguous"},
		{strings.Repeat("1", 101), "UTC", "longer than"},
	}
	for _, tt := range tests {
		t.Run(tt.expr+"|"+tt.tz, func(t *testing.T) {
			t.Parallel()
			_, err := ParseCron(tt.expr, tt.tz)
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("unexpected error: %v", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Fatalf("error %v, want it to contain %q", err, tt.wantErr)
			}
		})
	}
}

func TestNextN(t *testing.T) {
	t.Parallel()
	c, err := ParseCron("0 9 * * 1-5", "Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}
	from := time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC) // a Friday
	got := c.NextN(from, 5)
	berlin := mustZone(t, "Europe/Berlin")
	want := []time.Time{
		time.Date(2026, 11, 30, 9, 0, 0, 0, berlin).UTC(),
		time.Date(2026, 12, 1, 9, 0, 0, 0, berlin).UTC(),
		time.Date(2026, 12, 2, 9, 0, 0, 0, berlin).UTC(),
		time.Date(2026, 12, 3, 9, 0, 0, 0, berlin).UTC(),
		time.Date(2026, 12, 4, 9, 0, 0, 0, berlin).UTC(),
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

// In America/New_York, 2026-03-08 02:00 EST jumps to 03:00 EDT and
// 2026-11-01 02:00 EDT falls back to 01:00 EST.
func TestDSTNewYork(t *testing.T) {
	t.Parallel()
	ny := mustZone(t, "America/New_York")
	utc := func(s string) time.Time {
		t.Helper()
		v, err := time.Parse(time.RFC3339, s)
		if err != nil {
			t.Fatal(err)
		}
		return v.UTC()
	}
	tests := []struct {
		name string
		expr string
		from time.Time
		want []time.Time
	}{
		{
			// 02:30 does not exist on 8 March: it runs when the clocks change
			// (03:00 EDT = 07:00 UTC), once, and at 02:30 EDT the next day.
			name: "spring forward, skipped time runs at the change",
			expr: "30 2 * * *",
			from: time.Date(2026, 3, 7, 12, 0, 0, 0, ny),
			want: []time.Time{utc("2026-03-08T07:00:00Z"), utc("2026-03-09T06:30:00Z")},
		},
		{
			name: "spring forward, time after the gap unaffected",
			expr: "30 3 * * *",
			from: time.Date(2026, 3, 7, 12, 0, 0, 0, ny),
			want: []time.Time{utc("2026-03-08T07:30:00Z"), utc("2026-03-09T07:30:00Z")},
		},
		{
			// 01:30 happens twice on 1 November: the run is at the first
			// (EDT, 05:30 UTC) only.
			name: "fall back, repeated time runs once",
			expr: "30 1 * * *",
			from: time.Date(2026, 10, 31, 12, 0, 0, 0, ny),
			want: []time.Time{utc("2026-11-01T05:30:00Z"), utc("2026-11-02T06:30:00Z")},
		},
		{
			// An interval schedule follows real time: both 01:xx hours.
			name: "fall back, interval runs in both copies of the hour",
			expr: "0 * * * *",
			from: time.Date(2026, 11, 1, 0, 30, 0, 0, ny),
			want: []time.Time{utc("2026-11-01T05:00:00Z"), utc("2026-11-01T06:00:00Z"), utc("2026-11-01T07:00:00Z")},
		},
		{
			name: "spring forward, interval has no runs in the skipped hour",
			expr: "0 * * * *",
			from: time.Date(2026, 3, 8, 0, 30, 0, 0, ny),
			want: []time.Time{utc("2026-03-08T06:00:00Z"), utc("2026-03-08T07:00:00Z"), utc("2026-03-08T08:00:00Z")},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, err := ParseCron(tt.expr, "America/New_York")
			if err != nil {
				t.Fatal(err)
			}
			got := c.NextN(tt.from, len(tt.want))
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestWindows(t *testing.T) {
	t.Parallel()
	ny := mustZone(t, "America/New_York")
	// Saturdays 23:00-01:00 New York time, crossing midnight.
	w, err := ParseWindow([]string{"sat"}, "23:00", 120, "America/New_York")
	if err != nil {
		t.Fatal(err)
	}
	sat := time.Date(2026, 11, 28, 23, 30, 0, 0, ny)
	sunEarly := time.Date(2026, 11, 29, 0, 59, 0, 0, ny)
	sunLate := time.Date(2026, 11, 29, 1, 0, 0, 0, ny)
	got := []bool{w.Contains(sat), w.Contains(sunEarly), w.Contains(sunLate)}
	if diff := cmp.Diff([]bool{true, true, false}, got); diff != "" {
		t.Errorf("Contains (-want +got):\n%s", diff)
	}
	wed := time.Date(2026, 11, 25, 10, 0, 0, 0, ny)
	if diff := cmp.Diff(time.Date(2026, 11, 28, 23, 0, 0, 0, ny).UTC(), EarliestAllowed([]Window{w}, wed)); diff != "" {
		t.Errorf("a task due Wednesday waits for Saturday's window: %s", diff)
	}
	if diff := cmp.Diff(sat, EarliestAllowed([]Window{w}, sat)); diff != "" {
		t.Errorf("a task due inside the window runs at once: %s", diff)
	}
	if diff := cmp.Diff(wed, EarliestAllowed(nil, wed)); diff != "" {
		t.Errorf("no windows, no waiting: %s", diff)
	}
	for _, bad := range []struct {
		days  []string
		start string
		mins  int
	}{{[]string{"funday"}, "01:00", 60}, {nil, "25:00", 60}, {nil, "1:00", 60}, {nil, "01:00", 5}, {nil, "01:00", 7 * 24 * 60}} {
		if _, err := ParseWindow(bad.days, bad.start, bad.mins, "UTC"); err == nil {
			t.Errorf("ParseWindow(%v, %q, %d) accepted", bad.days, bad.start, bad.mins)
		}
	}
}

func FuzzParseCron(f *testing.F) {
	for _, s := range []string{"30 2 * * *", "*/15 * * * *", "@daily", "0 0 31 2 *", "1-5/2 3,4 * JAN-MAR MON"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, expr string) {
		c, err := ParseCron(expr, "America/New_York")
		if err != nil {
			return
		}
		from := time.Date(2026, 3, 7, 0, 0, 0, 0, time.UTC)
		prev := from
		for _, n := range c.NextN(from, 3) {
			if !n.After(prev) {
				t.Fatalf("%q: run %v is not after %v", expr, n, prev)
			}
			prev = n
		}
	})
}
