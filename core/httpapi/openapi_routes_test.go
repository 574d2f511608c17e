package httpapi_test

import (
	"net/http"
	"regexp"
	"sort"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/google/go-cmp/cmp"

	"github.com/ezscale/platform/core/database"
	"github.com/ezscale/platform/core/database/databasetest"
	"github.com/ezscale/platform/core/httpapi"
)

// muxVar matches a gorilla/mux variable, with its optional pattern.
var muxVar = regexp.MustCompile(`\{([^}:]+)(:[^}]*)?\}`)

// TestRoutesAndDocumentAreTheSameSet: the routes the application registers (every
// module app.New wires) and the operations of the OpenAPI document are the
// same set, and the document's security matches each route's auth.
func TestRoutesAndDocumentAreTheSameSet(t *testing.T) {
	t.Parallel()
	tb := startApp(t, database.SQLite, databasetest.URL(t, database.SQLite))
	doc, _, err := httpapi.OpenAPI()
	if err != nil {
		t.Fatal(err)
	}

	registered := map[string]httpapi.Route{}
	for _, rt := range tb.app.HTTP.Routes() {
		registered[rt.Method+" "+muxVar.ReplaceAllString(rt.Path, "{$1}")] = rt
	}
	documented := map[string]bool{}
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			key := method + " " + path
			documented[key] = true
			rt, ok := registered[key]
			if !ok {
				continue
			}
			public := op.Security != nil && len(*op.Security) == 0
			if public != (rt.Auth == httpapi.Public) {
				t.Errorf("%s: documented public=%v but the route's auth is %v", key, public, rt.Auth)
			}
			if rt.Idempotent && !hasParam(op.Parameters, "Idempotency-Key") {
				t.Errorf("%s: idempotent route without the Idempotency-Key parameter", key)
			}
		}
	}
	// The document describes itself; it is served outside Routes().
	registered["GET /api/v1/openapi.json"] = httpapi.Route{Auth: httpapi.Public}

	var missing, stale []string
	for k := range registered {
		if !documented[k] {
			missing = append(missing, k)
		}
	}
	for k := range documented {
		if _, ok := registered[k]; !ok {
			stale = append(stale, k)
		}
	}
	sort.Strings(missing)
	sort.Strings(stale)
	if diff := cmp.Diff([]string(nil), missing); diff != "" {
		t.Errorf("routes missing from the OpenAPI document (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string(nil), stale); diff != "" {
		t.Errorf("documented operations no route serves (-want +got):\n%s", diff)
	}
}

func hasParam(ps openapi3.Parameters, name string) bool {
	return ps.GetByInAndName("header", name) != nil
}

// TestOpenAPIServed: the document is served as JSON at /api/v1/openapi.json
// (validated by the transport like every other response), and the probes
// answer outside /api.
func TestOpenAPIServed(t *testing.T) {
	t.Parallel()
	tb := startApp(t, database.SQLite, databasetest.URL(t, database.SQLite))
	r := tb.client.do("GET", "/api/v1/openapi.json", "", nil).want(t, http.StatusOK)
	var doc struct {
		OpenAPI string         `json:"openapi"`
		Paths   map[string]any `json:"paths"`
	}
	r.decode(t, &doc)
	if doc.OpenAPI != "3.1.0" || doc.Paths["/api/v1/me"] == nil {
		t.Errorf("served document: openapi %q, %d paths", doc.OpenAPI, len(doc.Paths))
	}
	for _, p := range []string{"/healthz", "/readyz"} {
		tb.client.do("GET", p, "", nil).want(t, http.StatusOK)
	}
	// Metrics are not open on the API listener (see core/app's metrics
	// tests for where they are served).
	tb.client.do("GET", "/metrics", "", nil).wantProblem(t, http.StatusNotFound, "route_not_found")
	tb.client.do("GET", "/api/v1/no-such-route", "", nil).wantProblem(t, http.StatusNotFound, "route_not_found")
	tb.client.do("PUT", "/api/v1/me", "", nil).wantProblem(t, http.StatusMethodNotAllowed, "method_not_allowed")
}
