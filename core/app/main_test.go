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
	var err error
	if emailPlugin, err = testbin.Plugin("email"); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	if kasmPlugin, err = testbin.Plugin("kasm"); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	os.Exit(m.Run())
}
