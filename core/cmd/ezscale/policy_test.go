package main

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

func runCLI(t *testing.T, stdin string, args ...string) (string, error) {
	t.Helper()
	root := rootCmd()
	var out bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&out)
	root.SetIn(strings.NewReader(stdin))
	root.SetArgs(args)
	err := root.Execute()
	return out.String(), err
}

func TestPolicyCheck(t *testing.T) {
	t.Parallel()

	out, err := runCLI(t, "", "policy", "check", "--kind", "budget", `spend_percent >= 80 && service_type == "game"`)
	if err != nil || !strings.Contains(out, "ok: a valid budget rule") {
		t.Errorf("valid rule: %q, %v", out, err)
	}
	out, err = runCLI(t, "spend_percent >=\n  \"80\"", "policy", "check", "--kind", "budget", "-")
	var ee *exitError
	if !errors.As(err, &ee) || ee.code != 1 || !strings.HasPrefix(ee.msg, "1:15: invalid operation") || !strings.Contains(ee.msg, "^") {
		t.Errorf("bad rule from stdin: %q, %v", out, err)
	}
	if _, err := runCLI(t, "", "policy", "check", "--kind", "nope", "true"); err == nil || !strings.Contains(err.Error(), "known: budget") {
		t.Errorf("unknown kind: %v", err)
	}
}

func TestPolicyKinds(t *testing.T) {
	t.Parallel()

	out, err := runCLI(t, "", "policy", "kinds")
	if err != nil || !strings.Contains(out, "budget (bool)") || !strings.Contains(out, "spend_percent") || !strings.Contains(out, "limits: source 4096 bytes") {
		t.Errorf("kinds: %q, %v", out, err)
	}
}
