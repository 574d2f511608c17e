package httpapi

import (
	"strings"
	"testing"
)

// TestBillingRoutesAreDocumented: every billing route is in the OpenAPI
// document with its method, and the document has no billing path that is
// not served.
func TestBillingRoutesAreDocumented(t *testing.T) {
	t.Parallel()
	doc, _, err := OpenAPI()
	if err != nil {
		t.Fatal(err)
	}
	s := New(Deps{}, Options{}, &BillingAPI{})
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
	for path, item := range doc.Paths.Map() {
		for method := range item.Operations() {
			if strings.Contains(path, "/billing") || strings.Contains(path, "/plans") || strings.Contains(path, "/invoices") ||
				strings.Contains(path, "/credit") || strings.Contains(path, "/services") {
				if !served[method+" "+path] {
					t.Errorf("the document has %s %s, which is not served", method, path)
				}
			}
		}
	}
}
