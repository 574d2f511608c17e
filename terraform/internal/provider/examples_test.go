//go:build unix

package provider

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestExamplesValidate runs `terraform validate` on every example of
// examples/ (the provider's, each resource's and each data source's, in
// one configuration, as they refer to one another) with the provider built
// from this tree.
func TestExamplesValidate(t *testing.T) {
	t.Parallel()
	if skipReason != "" {
		t.Skip(skipReason)
	}
	cli := providerBinary(t)
	dir := t.TempDir()
	root := filepath.Join("..", "..", "examples")
	n := 0
	err := filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".tf") || strings.Contains(path, "sandbox") {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		n++
		return os.WriteFile(filepath.Join(dir, fmt.Sprintf("%02d.tf", n)), b, 0o600)
	})
	if err != nil {
		t.Fatal(err)
	}
	if n < 14 {
		t.Fatalf("only %d examples found", n)
	}
	if out, err := terraformCmd(t, dir, cli, "validate", "-no-color").CombinedOutput(); err != nil {
		t.Fatalf("terraform validate: %v\n%s", err, out)
	}
	sandboxDir := filepath.Join(root, "sandbox")
	if out, err := terraformCmd(t, sandboxDir, cli, "validate", "-no-color").CombinedOutput(); err != nil {
		t.Fatalf("terraform validate examples/sandbox: %v\n%s", err, out)
	}
}

// TestAccSandboxExample applies examples/sandbox, as a customer of `make
// demo` would, against the test core, plans again (nothing to change) and
// destroys it.
//
// Not parallel: it sets the account's one budget.
func TestAccSandboxExample(t *testing.T) {
	e := acc(t)
	cli := providerBinary(t)
	dir := t.TempDir()
	b, err := os.ReadFile(filepath.Join("..", "..", "examples", "sandbox", "main.tf"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "main.tf"), b, 0o600); err != nil {
		t.Fatal(err)
	}
	tf := func(args ...string) string {
		t.Helper()
		args = append(args, "-no-color", "-input=false", "-var", "endpoint="+e.base)
		out, err := terraformCmd(t, dir, cli, args...).CombinedOutput()
		if err != nil {
			t.Fatalf("terraform %s: %v\n%s", args[0], err, out)
		}
		return string(out)
	}
	tf("apply", "-auto-approve")
	if out := tf("plan", "-detailed-exitcode"); !strings.Contains(out, "No changes.") {
		t.Errorf("a plan right after the apply is not empty:\n%s", out)
	}
	tf("destroy", "-auto-approve")
}
