package app_test

import (
	"fmt"
	"os"
	"testing"

	"github.com/ezscale/platform/tests/testbin"
)

// emailPlugin is the real ezscale-plugin-email, built once by TestMain from
// the plugins module.
var emailPlugin string

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
		return m.Run()
	}()
	os.Exit(code)
}
