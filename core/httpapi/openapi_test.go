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
