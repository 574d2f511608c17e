package tests

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// requirePythonGRPC skips the test when Debian's python3-grpcio,
// python3-protobuf and python3-cryptography are missing, and fails it
// under CI=true, where .ci/run installs them.
func requirePythonGRPC(t *testing.T) {
	t.Helper()
	out, err := exec.Command("/usr/bin/python3", "-c", "import grpc, google.protobuf, cryptography").CombinedOutput()
	if err == nil {
		return
	}
	msg := fmt.Sprintf("the Python example needs /usr/bin/python3 with python3-grpcio, python3-protobuf and python3-cryptography (apt-get install -y python3-grpcio python3-protobuf python3-cryptography): %v\n%s", err, out)
	if os.Getenv("CI") == "true" {
		t.Fatal(msg)
	}
	t.Skip(msg)
}

// TestConformanceOfThePythonProvisioner: `ezscale plugins conformance`
// runs the provisioner suite against sdk/examples/python-provisioner, a
// plugin written in Python from proto/ alone, over go-plugin with AutoMTLS,
// restarting it on its data directory and on a new one; the suite passes,
// and the key-less backend saw exactly one server made per service.
func TestConformanceOfThePythonProvisioner(t *testing.T) {
	t.Parallel()
	requirePythonGRPC(t)
	plugin, err := filepath.Abs("../sdk/examples/python-provisioner/plugin.py")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	backend := filepath.Join(dir, "backend.json")
	cfg := filepath.Join(dir, "ezscale.hcl")
	src := fmt.Sprintf("plugin \"pyprov\" {\n  path = %q\n  config {\n    backend_file = %q\n  }\n}\n", plugin, backend)
	if err := os.WriteFile(cfg, []byte(src), 0o600); err != nil {
		t.Fatal(err)
	}
	res := runCLI(t, nil, "", "plugins", "conformance", "pyprov", "--config", cfg, "--option", "plan=medium", "-v")
	out := res.stdout + res.stderr
	if res.code != 0 {
		t.Fatalf("ezscale plugins conformance: exit %d\n%s", res.code, out)
	}
	for _, want := range []string{
		"--- PASS: Conformance/Plugin",
		"--- PASS: Conformance/Provisioner",
		"--- PASS: Conformance/CreateAcrossRestart",
		"--- PASS: Conformance/CreateOnAnotherReplica",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	b, err := os.ReadFile(backend)
	if err != nil {
		t.Fatal(err)
	}
	var state struct {
		Next    int            `json:"next"`
		Servers map[string]any `json:"servers"`
	}
	if err := json.Unmarshal(b, &state); err != nil {
		t.Fatal(err)
	}
	if state.Next != 4 || len(state.Servers) != 0 {
		t.Errorf("backend: %d servers made, %d left; want 3 made (one per service, repeats included) and none left", state.Next-1, len(state.Servers))
	}
}

// TestConformanceUsageErrors: a config without the named block, and an
// --option that is not KEY=VALUE, are usage errors (exit 2).
func TestConformanceUsageErrors(t *testing.T) {
	t.Parallel()
	cfg := filepath.Join(t.TempDir(), "ezscale.hcl")
	if err := os.WriteFile(cfg, []byte("plugin \"x\" {\n  path = \"/nonexistent\"\n}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{
		{"plugins", "conformance", "missing", "--config", cfg},
		{"plugins", "conformance", "x", "--config", cfg, "--option", "plan"},
	} {
		if res := runCLI(t, nil, "", args...); res.code != 2 {
			t.Errorf("ezscale %s: exit %d, want 2\n%s%s", strings.Join(args, " "), res.code, res.stdout, res.stderr)
		}
	}
}
