package pluginhost

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/ezscale/platform/core/testkit"
	"github.com/ezscale/platform/sdk"
)

// bins maps a test plugin's name to its executable, built once by TestMain.
var bins = map[string]string{}

func TestMain(m *testing.M) {
	if os.Getenv(helperEnv) != "" {
		runHelperCore()
		return
	}
	dir, err := os.MkdirTemp("", "pluginhost-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := func() int {
		defer os.RemoveAll(dir)
		for _, name := range []string{"testplugin", "crashloop", "stdout", "badcookie", "badversion"} {
			out := filepath.Join(dir, "ezscale-plugin-"+name)
			cmd := exec.Command("go", "build", "-o", out, "./testdata/plugins/"+name)
			cmd.Stderr = os.Stderr
			if err := cmd.Run(); err != nil {
				fmt.Fprintf(os.Stderr, "building test plugin %s: %v\n", name, err)
				return 1
			}
			bins[name] = out
		}
		return m.Run()
	}()
	os.Exit(code)
}

type testBundle struct {
	host *Host
	logs *testkit.LogBuffer
	reg  *prometheus.Registry
}

// setup returns a host with fast restarts, stopped at the end of the test.
func setup(t *testing.T, opts Options) *testBundle {
	t.Helper()
	logs := &testkit.LogBuffer{}
	reg := prometheus.NewRegistry()
	opts.Logger = hclog.New(&hclog.LoggerOptions{Name: "core", Output: logs, Level: hclog.Debug})
	opts.Registerer = reg
	if opts.BackoffBase == 0 {
		opts.BackoffBase = 50 * time.Millisecond
	}
	h, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(h.Stop)
	return &testBundle{host: h, logs: logs, reg: reg}
}

// testOptions is the option declaration of testdata/plugins/testplugin.
var testOptions = sdk.Options{
	sdk.IntOption("size", "plan size").OnPlan().Range(1, 8),
	sdk.StringOption("hostname", "the server's name").AtOrder().MaxLen(63),
}

func testSpec(name string) Spec {
	return Spec{Name: name, Path: bins["testplugin"], Config: map[string]any{"api_url": "https://backend.example"}}
}

func startCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// waitFor polls the plugin's Info until cond holds; the bound is generous
// because CI machines are slow, and the condition, not the time, is tested.
func waitFor(t *testing.T, h *Host, name string, what string, cond func(Info) bool) Info {
	t.Helper()
	// testkit.WaitFor's bound, written out to report the last info seen.
	deadline := time.Now().Add(testkit.WaitBound)
	for {
		in, err := h.Get(name)
		if err != nil {
			t.Fatal(err)
		}
		if cond(in) {
			return in
		}
		if time.Now().After(deadline) {
			t.Fatalf("plugin %s never became %s; last info: %+v", name, what, in)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// processGone reports whether pid has exited (gone, or a zombie waiting for
// an init process that does not reap).
func processGone(pid int) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return true
	}
	// The state follows the parenthesised command name.
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	return i >= 0 && i+2 < len(s) && (s[i+2] == 'Z' || s[i+2] == 'X')
}
