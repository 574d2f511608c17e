package pluginhost

import (
	"bufio"
	"os/exec"
	"strings"
	"syscall"
	"testing"

	"github.com/ezscale/platform/sdk"
)

func TestReattachToDebugPlugin(t *testing.T) {
	t.Parallel()
	// A developer runs the plugin by hand (e.g. under a debugger)...
	cmd := exec.Command(bins["testplugin"], "debug")
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		_ = cmd.Wait()
	})
	var line string
	sc := bufio.NewScanner(stderr)
	for sc.Scan() {
		if l := strings.TrimSpace(sc.Text()); strings.HasPrefix(l, sdk.ReattachEnv+"=") {
			line = l
			break
		}
	}
	go func() {
		for sc.Scan() { // keep draining so the plugin never blocks on stderr
		}
	}()
	if line == "" {
		t.Fatal("debug mode printed no reattach line")
	}
	// ...and gives the core the line it printed.
	value := strings.Trim(strings.TrimPrefix(line, sdk.ReattachEnv+"="), "'")
	reattach, err := sdk.ParseReattachEnv(value)
	if err != nil {
		t.Fatal(err)
	}
	rc := reattach["testplugin"]
	b := setup(t, Options{Reattach: map[string]sdk.ReattachConfig{"tp": rc}})
	if err := b.host.Start(startCtx(t), []Spec{{Name: "tp", Config: map[string]any{"api_url": "x"}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := deliver(t, b.host, "tp", "a@example.com"); err != nil {
		t.Fatal(err)
	}
	if in, _ := b.host.Get("tp"); in.PID != cmd.Process.Pid {
		t.Errorf("pid %d, want the debug process %d", in.PID, cmd.Process.Pid)
	}
	// The host does not own a reattached plugin: stopping it leaves the
	// developer's process alone.
	b.host.Stop()
	if processGone(cmd.Process.Pid) {
		t.Error("Stop killed a reattached plugin")
	}
}
