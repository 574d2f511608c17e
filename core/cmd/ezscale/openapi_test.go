package main

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/ezscale/platform/core/httpapi"
)

// TestOpenAPICommandPrintsTheServedDocument: `ezscale openapi` prints the
// document /api/v1/openapi.json serves, as JSON, without a config.
func TestOpenAPICommandPrintsTheServedDocument(t *testing.T) {
	t.Parallel()

	out, err := runCLI(t, "", "openapi")
	if err != nil {
		t.Fatal(err)
	}
	_, raw, err := httpapi.OpenAPI()
	if err != nil {
		t.Fatal(err)
	}
	var printed, served bytes.Buffer
	if err := json.Compact(&printed, []byte(out)); err != nil {
		t.Fatalf("output is not JSON: %v", err)
	}
	if err := json.Compact(&served, raw); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(printed.Bytes(), served.Bytes()) {
		t.Errorf("printed document (%d bytes) differs from the served one (%d bytes)", printed.Len(), served.Len())
	}
}
