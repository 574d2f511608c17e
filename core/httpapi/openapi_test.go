package httpapi

import "testing"

func TestOpenAPIDocumentLoads(t *testing.T) {
	t.Parallel()
	doc, raw, err := OpenAPI()
	if err != nil {
		t.Fatal(err)
	}
	if doc.OpenAPI != "3.1.0" || len(raw) == 0 {
		t.Fatalf("openapi %q, %d bytes", doc.OpenAPI, len(raw))
	}
}

// TestEveryRouteIsDocumented: each registered route, the modules' included,
// has its operation in the OpenAPI document.
func TestEveryRouteIsDocumented(t *testing.T) {
	t.Parallel()
	doc, _, err := OpenAPI()
	if err != nil {
		t.Fatal(err)
	}
	s := New(Deps{}, Options{}, &PluginsAPI{}, &QueueAPI{})
	for _, rt := range s.Routes() {
		item := doc.Paths.Value(rt.Path)
		if item == nil || item.GetOperation(rt.Method) == nil {
			t.Errorf("%s %s is not in the OpenAPI document", rt.Method, rt.Path)
		}
	}
}
