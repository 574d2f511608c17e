package main

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParse(t *testing.T) {
	t.Parallel()
	out := `goos: linux
BenchmarkGetMe/sqlite-2  	    4668	    615384 ns/op	      5895 p50-µs	      1625 req/s	   35759 B/op	     385 allocs/op
BenchmarkHashPassword    	      37	  57514666 ns/op
--- SKIP: BenchmarkGetMe/postgres
    databasetest.go:91: PostgreSQL suite skipped: set EZSCALE_TEST_POSTGRES_URL
PASS
ok  	example.com/x	1.0s
`
	got := parse("example.com/x", out)
	want := pkgRun{Path: "example.com/x", Results: []result{
		{Name: "BenchmarkGetMe/sqlite", N: 4668, Metrics: []metric{{615384, "ns/op"}, {5895, "p50-µs"}, {1625, "req/s"}, {35759, "B/op"}, {385, "allocs/op"}}},
		{Name: "BenchmarkHashPassword", N: 37, Metrics: []metric{{57514666, "ns/op"}}},
	}, Skipped: []string{"BenchmarkGetMe/postgres: PostgreSQL suite skipped: set EZSCALE_TEST_POSTGRES_URL"}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	if !parse("p", "--- FAIL: BenchmarkX\nFAIL\n").Failed {
		t.Error("a failure was not noticed")
	}
}

func TestRenderRatios(t *testing.T) {
	t.Parallel()
	runs := []pkgRun{{Path: "github.com/ezscale/platform/core/httpapi", Results: []result{
		{Name: "BenchmarkGetMe/sqlite", N: 10, Metrics: []metric{{200, "ns/op"}, {500, "req/s"}}},
		{Name: "BenchmarkBareHandler/sqlite", N: 10, Metrics: []metric{{100, "ns/op"}, {1000, "req/s"}}},
	}}}
	md := render(runs, ".", "1s")
	if !strings.Contains(md, "| `BenchmarkGetMe/sqlite` | `BenchmarkBareHandler/sqlite` | 2.00 | req/s 0.50 |") {
		t.Errorf("ratio row missing:\n%s", md)
	}
}

// TestKeepsTheHandWrittenSection: a new report keeps the previous one's
// hand-written last section (from its heading to the end) and nothing
// else of it.
func TestKeepsTheHandWrittenSection(t *testing.T) {
	t.Parallel()
	old := "# Benchmarks\n\nold figures\n\n" + keptHeading + "\n\nmeasured by hand\n\n"
	if diff := cmp.Diff("\n"+keptHeading+"\n\nmeasured by hand\n", kept(old)); diff != "" {
		t.Errorf("kept section (-want +got):\n%s", diff)
	}
	if got := kept("# Benchmarks\n\nold figures\n"); got != "" {
		t.Errorf("kept %q from a report without the section", got)
	}
}
