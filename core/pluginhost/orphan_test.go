package pluginhost

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// helperEnv makes the test binary act as a minimal core: start one plugin,
// print its pid, and wait to be killed.
const helperEnv = "PLUGINHOST_TEST_HELPER_CORE"

func runHelperCore() {
	h, err := New(Options{})
	if err != nil {
		fmt.Println("error:", err)
		os.Exit(1)
	}
	spec := Spec{Name: "tp", Path: os.Getenv(helperEnv), Config: map[string]any{"api_url": "x"}}
	if err := h.Start(context.Background(), []Spec{spec}); err != nil {
		fmt.Println("error:", err)
		os.Exit(1)
	}
	in, _ := h.Get("tp")
	fmt.Println(in.PID)
	select {}
}

func TestPluginExitsWhenCoreIsKilled(t *testing.T) {
	t.Parallel()
	core := exec.Command(os.Args[0], "-test.run=^$")
	core.Env = append(os.Environ(), helperEnv+"="+bins["testplugin"])
	out, err := core.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := core.Start(); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		_ = core.Process.Kill()
		t.Fatalf("helper core: %v", err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(line))
	if err != nil {
		_ = core.Process.Kill()
		t.Fatalf("helper core said %q", line)
	}
	if processGone(pid) {
		t.Fatalf("plugin %d not running before the core was killed", pid)
	}
	// SIGKILL: the core gets no chance to stop its plugins.
	if err := core.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = core.Wait()
	deadline := time.Now().Add(15 * time.Second)
	for !processGone(pid) {
		if time.Now().After(deadline) {
			_ = syscall.Kill(pid, syscall.SIGKILL)
			t.Fatalf("plugin %d outlived its SIGKILLed core", pid)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
