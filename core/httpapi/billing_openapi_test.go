package httpapi

import (
	"io/fs"
	"strings"
	"testing"

	"go.yaml.in/yaml/v4"
)

// TestBillingRoutesAreDocumented: every billing route (catalog, billing,
// payments) is in the OpenAPI document with its method, and the document
// has no billing path that is not served.
func TestBillingRoutesAreDocumented(t *testing.T) {
	t.Parallel()
	doc, _, err := OpenAPI()
	if err != nil {
		t.Fatal(err)
	}
	s := New(Deps{}, Options{}, &CatalogAPI{}, &BillingAPI{}, &PaymentsAPI{})
	served := map[string]bool{}
	n := 0
	for _, rt := range s.Routes() {
		served[rt.Method+" "+rt.Path] = true
		item := doc.Paths.Find(rt.Path)
		if item == nil || item.GetOperation(rt.Method) == nil {
			t.Errorf("%s %s is not in the OpenAPI document", rt.Method, rt.Path)
		}
		n++
	}
	if n < 60 {
		t.Fatalf("only %d routes registered", n)
	}
	// The reverse: every operation of the billing fragment is served.
	raw, err := fs.ReadFile(openapiFS, "openapi/20_billing.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var frag struct {
		Paths map[string]map[string]any `yaml:"paths"`
	}
	if err := yaml.Unmarshal(raw, &frag); err != nil {
		t.Fatal(err)
	}
	for path, ops := range frag.Paths {
		for method := range ops {
			if !served[strings.ToUpper(method)+" "+path] {
				t.Errorf("the billing fragment has %s %s, which is not served", strings.ToUpper(method), path)
			}
		}
	}
}
