package app_test

import (
	"fmt"
	"os"
	"testing"

	"github.com/ezscale/platform/tests/testbin"
)

// The real ezscale-plugin-email, and the kasm provisioner as a plugin of
// another kind, built once by TestMain from the plugins module.
var emailPlugin, kasmPlugin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "app-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := func() int {
		defer os.RemoveAll(dir)
		if emailPlugin, err = testbin.Plugin(dir, "email"); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		if kasmPlugin, err = testbin.Plugin(dir, "kasm"); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		return m.Run()
	}()
	os.Exit(code)
}
