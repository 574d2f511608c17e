package httpapi

import (
	"strings"
	"testing"
	"testing/fstest"

	"github.com/google/go-cmp/cmp"
)

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
	s := New(Deps{}, Options{}, &PluginsAPI{}, &QueueAPI{}, &NotificationsAPI{}, &SchedulerAPI{})
	for _, rt := range s.Routes() {
		item := doc.Paths.Value(rt.Path)
		if item == nil || item.GetOperation(rt.Method) == nil {
			t.Errorf("%s %s is not in the OpenAPI document", rt.Method, rt.Path)
		}
	}
}

// TestOpenAPIFragmentsMergeTags: each fragment may list the tags its
// operations use; the document has them all, in file order, and a tag
// defined by two fragments is refused like a path defined twice.
func TestOpenAPIFragmentsMergeTags(t *testing.T) {
	t.Parallel()
	base := "openapi: 3.1.0\ninfo: {title: t, version: \"1\"}\npaths: {}\n"
	frag := func(tag string) *fstest.MapFile {
		return &fstest.MapFile{Data: []byte("tags:\n  - name: " + tag + "\n    description: d\n")}
	}
	doc, _, err := loadOpenAPI(fstest.MapFS{"openapi/00.yaml": {Data: []byte(base)}, "openapi/10.yaml": frag("B"), "openapi/20.yaml": frag("A")})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, tag := range doc.Tags {
		names = append(names, tag.Name)
	}
	if diff := cmp.Diff([]string{"B", "A"}, names); diff != "" {
		t.Errorf("tags (-want +got):\n%s", diff)
	}
	_, _, err = loadOpenAPI(fstest.MapFS{"openapi/00.yaml": {Data: []byte(base)}, "openapi/10.yaml": frag("A"), "openapi/20.yaml": frag("A")})
	if err == nil || !strings.Contains(err.Error(), `openapi/20.yaml redefines the tag "A" of openapi/10.yaml`) {
		t.Errorf("a tag defined twice: %v", err)
	}
}
