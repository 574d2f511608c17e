package httpapi_test

import (
	"bufio"
	"fmt"
	"os"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/google/go-cmp/cmp"

	"github.com/ezscale/platform/core/database"
	"github.com/ezscale/platform/core/database/databasetest"
	"github.com/ezscale/platform/core/httpapi"
	"github.com/ezscale/platform/core/ratelimit"
)

// operationIDRecord lists every released operationId; see its header.
const operationIDRecord = "testdata/operation-ids.txt"

// operationIDPattern is camelCase: a lower-case verb, then words.
var operationIDPattern = regexp.MustCompile(`^[a-z]+(?:[A-Z][a-z0-9]*)*$`)

type documentedOp struct {
	key string // METHOD PATH
	op  *openapi3.Operation
}

func documentedOps(t *testing.T) []documentedOp {
	t.Helper()
	doc, _, err := httpapi.OpenAPI()
	if err != nil {
		t.Fatal(err)
	}
	var ops []documentedOp
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			ops = append(ops, documentedOp{key: method + " " + path, op: op})
		}
	}
	sort.Slice(ops, func(i, j int) bool { return ops[i].key < ops[j].key })
	return ops
}

// TestEveryOperationHasAUniqueOperationID: each operation of the document
// has an operationId in camelCase, no two share one, the staff area's
// (/api/v1/admin/…) and only those start with "admin", and each operation
// has one tag that the document describes.
func TestEveryOperationHasAUniqueOperationID(t *testing.T) {
	t.Parallel()
	doc, _, err := httpapi.OpenAPI()
	if err != nil {
		t.Fatal(err)
	}
	tags := map[string]bool{}
	for _, tag := range doc.Tags {
		if tag.Description == "" {
			t.Errorf("tag %q has no description", tag.Name)
		}
		tags[tag.Name] = true
	}
	owner := map[string]string{}
	for _, d := range documentedOps(t) {
		id := d.op.OperationID
		switch {
		case id == "":
			t.Errorf("%s has no operationId", d.key)
			continue
		case !operationIDPattern.MatchString(id):
			t.Errorf("%s: operationId %q is not camelCase (a verb, then nouns)", d.key, id)
		}
		admin := strings.Contains(d.key, " /api/v1/admin/")
		if admin != strings.HasPrefix(id, "admin") {
			t.Errorf("%s: operationId %q: operations of /api/v1/admin/ and only those start with \"admin\"", d.key, id)
		}
		if prev, dup := owner[id]; dup {
			t.Errorf("operationId %q is used by %s and %s", id, prev, d.key)
		}
		owner[id] = d.key
		if len(d.op.Tags) != 1 || !tags[d.op.Tags[0]] {
			t.Errorf("%s: tags %q, want one of the document's tags", d.key, d.op.Tags)
		}
	}
}

// TestOperationIDsAreStable: the document's operationIds are the record's
// (testdata/operation-ids.txt): none renamed or dropped, and a new
// operation is added to the record, which is what makes it released.
func TestOperationIDsAreStable(t *testing.T) {
	t.Parallel()
	record := readOperationIDRecord(t)
	documented := map[string]string{}
	var unrecorded []string
	for _, d := range documentedOps(t) {
		documented[d.key] = d.op.OperationID
		if _, ok := record[d.key]; !ok && d.op.OperationID != "" {
			unrecorded = append(unrecorded, d.key+" "+d.op.OperationID)
		}
	}
	for key, want := range record {
		got, ok := documented[key]
		switch {
		case !ok:
			t.Errorf("%s (%s) is in %s but not in the document: clients call it; remove its line only with the operation", key, want, operationIDRecord)
		case got != want:
			t.Errorf("%s: operationId %q, released as %q: clients name their methods by it, keep %q", key, got, want, want)
		}
	}
	if len(unrecorded) > 0 {
		t.Errorf("operations missing from %s; add these lines:\n%s", operationIDRecord, strings.Join(unrecorded, "\n"))
	}
}

func readOperationIDRecord(t *testing.T) map[string]string {
	t.Helper()
	f, err := os.Open(operationIDRecord)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	record := map[string]string{}
	ids := map[string]string{}
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		fields := strings.Fields(line)
		if len(fields) != 3 {
			t.Fatalf("%s:%d: want METHOD PATH operationId, got %q", operationIDRecord, n, line)
		}
		key := fields[0] + " " + fields[1]
		if _, dup := record[key]; dup {
			t.Fatalf("%s:%d: %s is listed twice", operationIDRecord, n, key)
		}
		if prev, dup := ids[fields[2]]; dup {
			t.Fatalf("%s:%d: operationId %s is listed for %s and %s", operationIDRecord, n, fields[2], prev, key)
		}
		record[key], ids[fields[2]] = fields[2], key
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return record
}

// requiredResponses are the 4xx answers the route's declaration and its
// operation make possible before or around the handler, with why.
func requiredResponses(rt httpapi.Route, path string, op *openapi3.Operation) map[string]string {
	need := map[string]string{}
	if op.RequestBody != nil {
		need["400"] = "it takes a body"
	}
	if rt.Idempotent {
		need["400"] = "it takes an Idempotency-Key"
		need["409"] = "a request with the same Idempotency-Key may be running"
		need["422"] = "an Idempotency-Key may be reused with another body"
	}
	if rt.Auth != httpapi.Public {
		need["401"] = "it needs a token"
		need["429"] = "too many invalid tokens from an address are refused"
	}
	switch {
	case rt.Auth == httpapi.Staff:
		need["403"] = "it needs a staff role"
	case rt.Scope != "":
		need["403"] = "it needs the scope " + rt.Scope
	case rt.Session:
		need["403"] = "it needs a login session"
	case rt.Auth == httpapi.User && strings.Contains(path, "{account_id}"):
		need["403"] = "it admits roles of the account"
	}
	if strings.Contains(path, "{") {
		need["404"] = "its path names objects"
	}
	if rt.RateLimit != nil {
		need["429"] = "it is rate limited"
	}
	return need
}

// TestOperationsListTheir4xxResponses: every route's operation lists the
// 4xx answers its declaration makes possible (body or Idempotency-Key:
// 400; Idempotent: 409 and 422; a token: 401 and 429; a staff role, scope,
// session or account roles: 403; path objects: 404; a rate limit: 429), as
// problem+json.
func TestOperationsListTheir4xxResponses(t *testing.T) {
	t.Parallel()
	tb := startApp(t, database.SQLite, databasetest.URL(t, database.SQLite))
	doc, _, err := httpapi.OpenAPI()
	if err != nil {
		t.Fatal(err)
	}
	var missing []string
	for _, rt := range tb.app.HTTP.Routes() {
		path := muxVar.ReplaceAllString(rt.Path, "{$1}")
		item := doc.Paths.Value(path)
		if item == nil || item.GetOperation(rt.Method) == nil {
			continue // TestRoutesAndDocumentAreTheSameSet reports it
		}
		op := item.GetOperation(rt.Method)
		need := requiredResponses(rt, path, op)
		codes := make([]string, 0, len(need))
		for c := range need {
			codes = append(codes, c)
		}
		sort.Strings(codes)
		for _, code := range codes {
			resp := op.Responses.Value(code)
			if resp == nil {
				missing = append(missing, fmt.Sprintf("%s %s: %s (%s)", rt.Method, path, code, need[code]))
				continue
			}
			if resp.Value == nil || resp.Value.Content.Get("application/problem+json") == nil {
				t.Errorf("%s %s: the %s response is not problem+json", rt.Method, path, code)
			}
		}
	}
	if len(missing) > 0 {
		t.Errorf("operations without the 4xx responses their routes can give (use #/components/responses/…):\n%s", strings.Join(missing, "\n"))
	}
}

// TestOperationResponseRulesFollowTheRoute pins requiredResponses on
// declarations of each kind, so the check above cannot go vacuous.
func TestOperationResponseRulesFollowTheRoute(t *testing.T) {
	t.Parallel()
	withBody := &openapi3.Operation{RequestBody: &openapi3.RequestBodyRef{Value: openapi3.NewRequestBody()}}
	bare := &openapi3.Operation{}
	for name, tc := range map[string]struct {
		rt   httpapi.Route
		path string
		op   *openapi3.Operation
		want []string
	}{
		"public read":        {httpapi.Route{Auth: httpapi.Public}, "/api/v1/plans", bare, nil},
		"public object":      {httpapi.Route{Auth: httpapi.Public}, "/api/v1/plans/{plan}", bare, []string{"404"}},
		"public idempotent":  {httpapi.Route{Auth: httpapi.Public, Idempotent: true}, "/api/v1/auth/signup", withBody, []string{"400", "409", "422"}},
		"rate-limited form":  {httpapi.Route{Auth: httpapi.Public, RateLimit: &ratelimit.Rule{Limit: 1, Window: time.Minute}}, "/api/v1/auth/verify-email", withBody, []string{"400", "429"}},
		"user without scope": {httpapi.Route{Auth: httpapi.User}, "/api/v1/auth/logout", bare, []string{"401", "429"}},
		"session only":       {httpapi.Route{Auth: httpapi.User, Session: true}, "/api/v1/me/2fa/enroll", bare, []string{"401", "403", "429"}},
		"account route":      {httpapi.Route{Auth: httpapi.User}, "/api/v1/accounts/{account_id}", bare, []string{"401", "403", "404", "429"}},
		"staff":              {httpapi.Route{Auth: httpapi.Staff, StaffRole: "admin"}, "/api/v1/admin/jobs", bare, []string{"401", "403", "429"}},
	} {
		var got []string
		for c := range requiredResponses(tc.rt, tc.path, tc.op) {
			got = append(got, c)
		}
		sort.Strings(got)
		if diff := cmp.Diff(tc.want, got); diff != "" {
			t.Errorf("%s (-want +got):\n%s", name, diff)
		}
	}
}
