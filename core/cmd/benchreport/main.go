// Command benchreport runs every Go benchmark of the workspace and writes
// docs/benchmarks.md: the machine, one table per package, and each
// benchmark's ratio to its declared baseline measured in the same run.
//
//	go run ./core/cmd/benchreport -out docs/benchmarks.md   (what `make bench` does)
//	BENCH='GetMe|Bare' BENCHTIME=3s make bench             (a subset, longer runs)
//
// PostgreSQL halves run when EZSCALE_TEST_POSTGRES_URL is set (the
// environment is passed through to `go test`); otherwise they are listed as
// skipped.
package main

import (
	"bufio"
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"
)

// baseline declares that a benchmark is measured against another one of
// the same package: the report prints their ratio from the same run.
type baseline struct {
	pkg, bench, against, what string
}

var baselines = []baseline{
	{"github.com/ezscale/platform/core/httpapi", "BenchmarkGetMe/sqlite", "BenchmarkBareHandler/sqlite", "GET /api/v1/me vs bare net/http + database/sql (SQLite)"},
	{"github.com/ezscale/platform/core/httpapi", "BenchmarkGetMe/postgres", "BenchmarkBareHandler/postgres", "GET /api/v1/me vs bare net/http + database/sql (PostgreSQL)"},
	{"github.com/ezscale/platform/core/pluginhost", "BenchmarkNoopCall/host", "BenchmarkNoopCall/raw-go-plugin", "no-op call through the plugin host vs raw go-plugin"},
	{"github.com/ezscale/platform/plugins/virtfusion", "BenchmarkGetInfoViaPlugin", "BenchmarkGetServerDirectHTTP", "VirtFusion GetInfo through the plugin vs direct HTTP"},
	{"github.com/ezscale/platform/plugins/virtfusion", "BenchmarkGetInfoViaProcess", "BenchmarkGetServerDirectHTTP", "VirtFusion GetInfo through a plugin process vs direct HTTP"},
	{"github.com/ezscale/platform/plugins/pterodactyl", "BenchmarkGetInfoViaPlugin", "BenchmarkGetServerDirectHTTP", "Pterodactyl GetInfo through the plugin vs direct HTTP"},
	{"github.com/ezscale/platform/plugins/kasm", "BenchmarkGetInfoViaPlugin", "BenchmarkGetUserDirectHTTP", "Kasm GetInfo through the plugin vs direct HTTP"},
	{"github.com/ezscale/platform/plugins/discord", "BenchmarkDeliverInProcess", "BenchmarkDeliverDirect", "Discord delivery in-process vs the bare API client"},
	{"github.com/ezscale/platform/plugins/discord", "BenchmarkDeliverPlugin", "BenchmarkDeliverDirect", "Discord delivery through gRPC vs the bare API client"},
	{"github.com/ezscale/platform/tests", "BenchmarkConsoleLoad/dashboard", "BenchmarkConsoleLoad/static-page", "console: navigation to the dashboard interactive vs a static page of the same size, same server (headless Chromium)"},
	{"github.com/ezscale/platform/tests", "BenchmarkProvisionerCall/plugin", "BenchmarkProvisionerCall/direct-http", "VirtFusion server read through the plugin host and process vs a plain HTTP GET to the fake"},
	{"github.com/ezscale/platform/tests", "BenchmarkAssistantFirstToken/core", "BenchmarkAssistantFirstToken/fake", "support assistant: time to the first streamed token through the core (support.Ask on SQLite, plugin host, ezscale-plugin-anthropic process) vs the Anthropic fake's own"},
	{"github.com/ezscale/platform/tests", "BenchmarkAssistantFirstToken/plugin", "BenchmarkAssistantFirstToken/fake", "support assistant: time to the first streamed token through the plugin host and plugin process alone vs the Anthropic fake's own"},
	{"github.com/ezscale/platform/core/scheduler", "BenchmarkRunChunk/sqlite/intent", "BenchmarkRunChunk/sqlite/direct", "a chunk of 50 task runs with the record of backend actions vs without (SQLite)"},
	{"github.com/ezscale/platform/core/scheduler", "BenchmarkRunChunk/postgres/intent", "BenchmarkRunChunk/postgres/direct", "a chunk of 50 task runs with the record of backend actions vs without (PostgreSQL)"},
	{"github.com/ezscale/platform/core/projects", "BenchmarkGraph/sqlite/api", "BenchmarkGraph/sqlite/select", "dependency graph of 1,000 services and 3,000 edges vs plain SELECTs of the same rows (SQLite)"},
	{"github.com/ezscale/platform/core/projects", "BenchmarkGraph/postgres/api", "BenchmarkGraph/postgres/select", "dependency graph of 1,000 services and 3,000 edges vs plain SELECTs of the same rows (PostgreSQL)"},
	{"github.com/ezscale/platform/core/compliance", "BenchmarkEvidenceExport/export", "BenchmarkEvidenceExport/file-copy", "SOC 2 evidence export of 1,000 files (100 MB) streamed to a zip file vs copying the same stored files into one file (SQLite, file store)"},
	{"github.com/ezscale/platform/core/transfers", "BenchmarkCompletion/sqlite/transfer", "BenchmarkCompletion/sqlite/upgrade", "a service transfer's completion (move, credit, invoice, the domains' moves, notices, audit) vs an immediate upgrade of a like service (SQLite)"},
	{"github.com/ezscale/platform/core/transfers", "BenchmarkCompletion/postgres/transfer", "BenchmarkCompletion/postgres/upgrade", "a service transfer's completion (move, credit, invoice, the domains' moves, notices, audit) vs an immediate upgrade of a like service (PostgreSQL)"},
	{"github.com/ezscale/platform/core/httpapi", "BenchmarkStaffActionGate/sqlite/20-policies", "BenchmarkStaffActionGate/sqlite/no-policies", "a gated staff action matching none of 20 high-risk policies vs no policies (SQLite)"},
	{"github.com/ezscale/platform/core/httpapi", "BenchmarkStaffActionGate/postgres/20-policies", "BenchmarkStaffActionGate/postgres/no-policies", "a gated staff action matching none of 20 high-risk policies vs no policies (PostgreSQL)"},
	{"github.com/ezscale/platform/terraform/internal/provider", "BenchmarkFiftyVPS/terraform-apply", "BenchmarkFiftyVPS/plain-http", "terraform apply of 50 VPS (ordered, waited for until active) vs the same 50 orders by a plain HTTP client (SQLite sandbox)"},
}

// result is one benchmark line.
type result struct {
	Name    string // without the -GOMAXPROCS suffix
	N       int64
	Metrics []metric // in output order; ns/op first
}

type metric struct {
	Value float64
	Unit  string
}

func (r result) get(unit string) (float64, bool) {
	for _, m := range r.Metrics {
		if m.Unit == unit {
			return m.Value, true
		}
	}
	return 0, false
}

// pkgRun is the outcome of `go test -bench` for one package.
type pkgRun struct {
	Path    string
	Results []result
	Skipped []string // "BenchmarkX/postgres: reason"
	Failed  bool
	Output  string // kept for failures
	Elapsed time.Duration
}

func main() {
	out := flag.String("out", "docs/benchmarks.md", "report to write")
	flag.Parse()
	bench := envOr("BENCH", ".")
	benchtime := envOr("BENCHTIME", "1s")
	if _, err := regexp.Compile(bench); err != nil {
		fatalf("BENCH=%q is not a regular expression: %v", bench, err)
	}

	pkgs, err := benchmarkPackages()
	if err != nil {
		fatalf("%v", err)
	}
	var runs []pkgRun
	failed := false
	for _, p := range pkgs {
		fmt.Fprintf(os.Stderr, "== go test -bench %s -benchtime %s %s\n", bench, benchtime, p.path)
		run := runPackage(p, bench, benchtime)
		if run.Failed {
			failed = true
			fmt.Fprintf(os.Stderr, "%s\n", run.Output)
		}
		if len(run.Results) > 0 || len(run.Skipped) > 0 || run.Failed {
			runs = append(runs, run)
		}
	}
	report := render(runs, bench, benchtime)
	if old, err := os.ReadFile(*out); err == nil {
		report += kept(string(old))
	}
	if err := os.MkdirAll(filepath.Dir(*out), 0o755); err != nil {
		fatalf("%v", err)
	}
	if err := os.WriteFile(*out, []byte(report), 0o644); err != nil {
		fatalf("%v", err)
	}
	fmt.Fprintf(os.Stderr, "wrote %s\n", *out)
	if failed {
		fatalf("some benchmarks failed; see the report")
	}
}

type benchPkg struct {
	path, moduleDir string
}

var benchFunc = regexp.MustCompile(`(?m)^func (Benchmark\w*)\(b \*testing\.B\)`)

// benchmarkPackages lists the packages of every workspace module that have
// a Benchmark function, in a stable order.
func benchmarkPackages() ([]benchPkg, error) {
	modOut, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}").Output()
	if err != nil {
		return nil, fmt.Errorf("listing modules: %w", err)
	}
	var out []benchPkg
	for _, modDir := range strings.Fields(string(modOut)) {
		cmd := exec.Command("go", "list", "-f", "{{.ImportPath}}\t{{.Dir}}", "./...")
		cmd.Dir = modDir
		pkgOut, err := cmd.Output()
		if err != nil {
			return nil, fmt.Errorf("listing packages of %s: %w", modDir, err)
		}
		for _, line := range strings.Split(strings.TrimSpace(string(pkgOut)), "\n") {
			path, dir, ok := strings.Cut(line, "\t")
			if !ok {
				continue
			}
			has, err := hasBenchmarks(dir)
			if err != nil {
				return nil, err
			}
			if has {
				out = append(out, benchPkg{path: path, moduleDir: modDir})
			}
		}
	}
	slices.SortFunc(out, func(a, b benchPkg) int { return strings.Compare(a.path, b.path) })
	return out, nil
}

func hasBenchmarks(dir string) (bool, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return false, err
	}
	for _, e := range entries {
		if e.IsDir() || !strings.HasSuffix(e.Name(), "_test.go") {
			continue
		}
		b, err := fs.ReadFile(os.DirFS(dir), e.Name())
		if err != nil {
			return false, err
		}
		if benchFunc.Match(b) {
			return true, nil
		}
	}
	return false, nil
}

func runPackage(p benchPkg, bench, benchtime string) pkgRun {
	start := time.Now()
	cmd := exec.Command("go", "test", "-v", "-run", "^$", "-bench", bench, "-benchmem", "-benchtime", benchtime, "-timeout", "30m", p.path)
	cmd.Dir = p.moduleDir
	var buf bytes.Buffer
	cmd.Stdout = io.MultiWriter(&buf, os.Stderr)
	cmd.Stderr = io.MultiWriter(&buf, os.Stderr)
	err := cmd.Run()
	run := parse(p.path, buf.String())
	run.Elapsed = time.Since(start)
	var ee *exec.ExitError
	if err != nil && (errors.As(err, &ee) || run.Failed) {
		run.Failed = true
		run.Output = buf.String()
	} else if err != nil {
		run.Failed = true
		run.Output = err.Error()
	}
	return run
}

// goCPU is the CPU as `go test` names it, which may be more precise than
// /proc/cpuinfo on a virtual machine.
var goCPU string

var (
	benchLine = regexp.MustCompile(`^(Benchmark\S+?)(-\d+)?\s+(\d+)\s+(.*)$`)
	skipLine  = regexp.MustCompile(`^\s*--- SKIP: (Benchmark\S+)`)
)

// parse reads `go test -bench` output.
func parse(path, output string) pkgRun {
	run := pkgRun{Path: path}
	lines := strings.Split(output, "\n")
	for i, line := range lines {
		if m := benchLine.FindStringSubmatch(line); m != nil {
			n, err := strconv.ParseInt(m[3], 10, 64)
			if err != nil {
				continue
			}
			fields := strings.Fields(m[4])
			r := result{Name: m[1], N: n}
			for j := 0; j+1 < len(fields); j += 2 {
				v, err := strconv.ParseFloat(fields[j], 64)
				if err != nil {
					break
				}
				r.Metrics = append(r.Metrics, metric{Value: v, Unit: fields[j+1]})
			}
			run.Results = append(run.Results, r)
			continue
		}
		if m := skipLine.FindStringSubmatch(line); m != nil {
			// The reason ("    file.go:NN: reason") comes before the SKIP
			// line with -v, after it without.
			reason := ""
			for _, j := range []int{i - 1, i + 1} {
				if j < 0 || j >= len(lines) {
					continue
				}
				if l := lines[j]; strings.HasPrefix(l, "    ") && strings.Contains(l, ".go:") {
					if _, after, ok := strings.Cut(strings.TrimSpace(l), ": "); ok {
						reason = after
						break
					}
				}
			}
			run.Skipped = append(run.Skipped, m[1]+": "+reason)
			continue
		}
		if c, ok := strings.CutPrefix(line, "cpu: "); ok && goCPU == "" {
			goCPU = strings.TrimSpace(c)
		}
		if strings.HasPrefix(line, "--- FAIL") || line == "FAIL" || strings.HasPrefix(line, "FAIL\t") {
			run.Failed = true
		}
	}
	return run
}

// keptHeading starts the report's last section, written by hand (the
// test suite's wall time, which no benchmark measures): a new report
// keeps it.
const keptHeading = "## Test suite time"

// kept returns the hand-written last section of a previous report, from
// its heading to the end ("" when it has none), preceded by a blank line.
func kept(old string) string {
	i := strings.Index(old, "\n"+keptHeading+"\n")
	if i < 0 {
		return ""
	}
	return "\n" + strings.TrimRight(old[i+1:], "\n") + "\n"
}

func render(runs []pkgRun, bench, benchtime string) string {
	var b strings.Builder
	p := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	p("# Benchmarks\n\n")
	p("Generated by `make bench` (`go run ./core/cmd/benchreport`); do not edit by hand, except the\n")
	p("last section, %q, which is measured otherwise and kept as it is. Every figure\n", strings.TrimPrefix(keptHeading, "## "))
	p("above it comes from one run on the machine described here, so ratios compare like with like;\n")
	p("absolute figures move with the machine and its load.\n\n")
	p("| | |\n|---|---|\n")
	p("| date | %s |\n", time.Now().UTC().Format("2006-01-02 15:04 UTC"))
	cpu := cpuModel()
	if goCPU != "" && goCPU != cpu {
		cpu += " (go test: " + goCPU + ")"
	}
	p("| CPU | %s |\n", cpu)
	p("| cores | %d (GOMAXPROCS %d) |\n", runtime.NumCPU(), runtime.GOMAXPROCS(0))
	p("| Go | %s |\n", goVersion())
	p("| OS | %s, %s/%s |\n", osName(), runtime.GOOS, runtime.GOARCH)
	pg := "not set: PostgreSQL halves skipped"
	if os.Getenv("EZSCALE_TEST_POSTGRES_URL") != "" {
		pg = "set: PostgreSQL halves ran"
	}
	p("| EZSCALE_TEST_POSTGRES_URL | %s |\n", pg)
	p("| BENCH / BENCHTIME | `%s` / %s |\n\n", bench, benchtime)

	index := map[string]result{}
	for _, r := range runs {
		for _, res := range r.Results {
			index[r.Path+" "+res.Name] = res
		}
	}
	p("## Against baselines\n\n")
	p("Ratio of ns/op (time per operation; for the parallel HTTP benchmarks, wall time per request)\n")
	p("and of each metric both report, measured in the same run. Above 1 means slower or larger.\n\n")
	p("| what | benchmark | baseline | ns/op ratio | other ratios |\n|---|---|---|---:|---|\n")
	rows := 0
	for _, bl := range baselines {
		a, ok1 := index[bl.pkg+" "+bl.bench]
		base, ok2 := index[bl.pkg+" "+bl.against]
		if !ok1 || !ok2 {
			continue
		}
		rows++
		ns, _ := a.get("ns/op")
		bns, _ := base.get("ns/op")
		var others []string
		for _, m := range a.Metrics {
			if m.Unit == "ns/op" {
				continue
			}
			if bv, ok := base.get(m.Unit); ok && bv != 0 {
				others = append(others, fmt.Sprintf("%s %.2f", m.Unit, m.Value/bv))
			}
		}
		p("| %s | `%s` | `%s` | %s | %s |\n", bl.what, bl.bench, bl.against, ratio(ns, bns), strings.Join(others, ", "))
	}
	if rows == 0 {
		p("| (no baseline pair ran) | | | | |\n")
	}
	p("\n")

	for _, r := range runs {
		p("## %s\n\n", r.Path)
		if len(r.Results) > 0 {
			p("| benchmark | iterations | ns/op | B/op | allocs/op | other metrics |\n|---|---:|---:|---:|---:|---|\n")
			for _, res := range r.Results {
				var others []string
				cols := map[string]string{}
				for _, m := range res.Metrics {
					switch m.Unit {
					case "ns/op", "B/op", "allocs/op":
						cols[m.Unit] = formatNumber(m.Value)
					default:
						others = append(others, formatNumber(m.Value)+" "+m.Unit)
					}
				}
				p("| `%s` | %d | %s | %s | %s | %s |\n", res.Name, res.N, orDash(cols["ns/op"]), orDash(cols["B/op"]), orDash(cols["allocs/op"]), strings.Join(others, ", "))
			}
			p("\n")
		}
		for _, s := range r.Skipped {
			p("- skipped: %s\n", s)
		}
		if r.Failed {
			p("- **FAILED**; output:\n\n```\n%s\n```\n", tail(r.Output, 40))
		}
		if len(r.Skipped) > 0 || r.Failed {
			p("\n")
		}
	}
	return b.String()
}

func ratio(a, b float64) string {
	if b == 0 {
		return "–"
	}
	return fmt.Sprintf("%.2f", a/b)
}

func formatNumber(v float64) string {
	switch {
	case v == float64(int64(v)):
		return strconv.FormatInt(int64(v), 10)
	case v >= 100:
		return strconv.FormatFloat(v, 'f', 0, 64)
	default:
		return strconv.FormatFloat(v, 'f', 2, 64)
	}
}

func orDash(s string) string {
	if s == "" {
		return "–"
	}
	return s
}

func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

func cpuModel() string {
	f, err := os.Open("/proc/cpuinfo")
	if err != nil {
		return "unknown (" + runtime.GOARCH + ")"
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return "unknown"
}

func goVersion() string {
	out, err := exec.Command("go", "env", "GOVERSION").Output()
	if err != nil {
		return runtime.Version()
	}
	return strings.TrimSpace(string(out))
}

func osName() string {
	b, err := os.ReadFile("/etc/os-release")
	if err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(line, "PRETTY_NAME="); ok {
				return strings.Trim(v, `"`)
			}
		}
	}
	return runtime.GOOS
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

func fatalf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "benchreport: "+format+"\n", args...)
	os.Exit(1)
}
