package main

import (
	"os"
	"testing"

	"github.com/ezscale/platform/plugins/internal/processtest"
	"github.com/ezscale/platform/sdk"
)

// TestMain lets the test binary double as the plugin process for the tests
// that start one (see package processtest).
func TestMain(m *testing.M) {
	processtest.ServeIfChild(func() sdk.Plugin { return New() })
	os.Exit(m.Run())
}
