package tests

import (
	"bufio"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ezscale/platform/core/httpapi/apitest"
	"github.com/ezscale/platform/core/testkit"
	"github.com/ezscale/platform/tests/testbin"
)

// Executables built once by TestMain.
var (
	ezscaleBin  string
	emailPlugin string
)

// parallel is how many of the tests run at once unless -parallel says
// otherwise. The end-to-end tests spend most of their time waiting on other
// processes (cores, plugins, the browser, a job's next poll), not on this
// process's CPU, so the default of GOMAXPROCS (two in CI) left the machine
// mostly idle while they queued (docs/benchmarks.md, "The end-to-end
// package").
const parallel = 6

func TestMain(m *testing.M) {
	flag.Parse()
	if !flagSet("test.parallel") {
		if err := flag.Set("test.parallel", strconv.Itoa(max(parallel, runtime.GOMAXPROCS(0)))); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
	}
	var err error
	if ezscaleBin, err = testbin.Core(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	if emailPlugin, err = testbin.Plugin("email"); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := func() int {
		defer closeBrowser()
		return m.Run()
	}()
	os.Exit(code)
}

// flagSet reports whether the command line set the flag name.
func flagSet(name string) bool {
	set := false
	flag.Visit(func(f *flag.Flag) { set = set || f.Name == name })
	return set
}

// privateCopy copies the plugin executable into the test's own directory,
// so looking for leftover processes by executable path sees only this
// test's plugins, not those of tests running in parallel.
func privateCopy(t testing.TB, src string) string {
	t.Helper()
	b, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	dst := filepath.Join(t.TempDir(), filepath.Base(src))
	if err := os.WriteFile(dst, b, 0o755); err != nil {
		t.Fatal(err)
	}
	return dst
}

// run runs `ezscale args…` to completion and returns its exit status and
// combined output.
func run(t testing.TB, stdin string, args ...string) (int, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, ezscaleBin, args...)
	cmd.Env = append(os.Environ(), "EZSCALE_PLUGINS_DATA_DIR="+t.TempDir()) // never the shared data/plugins
	cmd.Stdin = strings.NewReader(stdin)
	out, err := cmd.CombinedOutput()
	if err != nil {
		if ee, ok := err.(*exec.ExitError); ok {
			return ee.ExitCode(), string(out)
		}
		t.Fatalf("ezscale %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return 0, string(out)
}

// core is a running `ezscale serve`.
type core struct {
	cmd  *exec.Cmd
	base string
	logs *testkit.LogBuffer
	done chan error
}

// serve starts `ezscale serve --config cfgPath` and waits until it serves
// (it logs its address; the config listens on port 0); env is added to the
// process's environment.
func serve(t testing.TB, cfgPath string, env ...string) *core {
	t.Helper()
	cmd := exec.Command(ezscaleBin, "serve", "--config", cfgPath)
	// Each core gets its own plugin data directories, as a replica on its
	// own host has: the default, data/plugins under the working
	// directory, would be shared by every test's plugins (and their
	// outcome files locked by one process at a time). env may override it.
	cmd.Env = append(append(os.Environ(), "EZSCALE_PLUGINS_DATA_DIR="+t.TempDir()), env...)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	c := &core{cmd: cmd, logs: &testkit.LogBuffer{}, done: make(chan error, 1)}
	addr := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			line := sc.Bytes()
			_, _ = c.logs.Write(append(append([]byte(nil), line...), '\n'))
			var entry struct {
				Message string `json:"@message"`
				Addr    string `json:"addr"`
			}
			if json.Unmarshal(line, &entry) == nil && entry.Message == "serving" {
				addr <- entry.Addr
			}
		}
		c.done <- cmd.Wait()
	}()
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
			<-c.done
		}
		if t.Failed() {
			t.Logf("ezscale serve log:\n%s", c.logs.String())
		}
	})
	select {
	case a := <-addr:
		c.base = "http://" + a
	case err := <-c.done:
		c.done <- err
		t.Fatalf("ezscale serve exited before serving: %v\n%s", err, c.logs.String())
	case <-time.After(2 * time.Minute):
		t.Fatalf("ezscale serve did not start serving\n%s", c.logs.String())
	}
	return c
}

// call sends a JSON request to the core, checks the response against the
// OpenAPI document (apitest) and decodes a successful answer into out.
func (c *core) call(t testing.TB, method, path, token string, in, out any) int {
	t.Helper()
	r := apitest.New(c.base).Do(t, method, path, token, in)
	if r.Status >= 300 {
		t.Logf("%s %s: %d %s", method, path, r.Status, r.Body)
	} else if out != nil {
		r.Decode(t, out)
	}
	return r.Status
}

// processGone reports whether pid has exited (gone, or a zombie left for
// an init process that does not reap).
func processGone(pid int) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return true
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	return i >= 0 && i+2 < len(s) && (s[i+2] == 'Z' || s[i+2] == 'X')
}

// parentOf returns pid's parent process id, from /proc.
func parentOf(pid int) int {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0
	}
	s := string(b)
	fields := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	if len(fields) < 2 {
		return 0
	}
	ppid, _ := strconv.Atoi(fields[1])
	return ppid
}

// processesOf lists the live processes running the executable at path.
func processesOf(path string) []int {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	var pids []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		exe, err := os.Readlink("/proc/" + e.Name() + "/exe")
		if err != nil || exe != path || processGone(pid) {
			continue
		}
		pids = append(pids, pid)
	}
	return pids
}
