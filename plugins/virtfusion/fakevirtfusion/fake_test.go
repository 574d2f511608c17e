package fakevirtfusion_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/ezscale/platform/plugins/internal/jsonshape"
	"github.com/ezscale/platform/plugins/virtfusion/fakevirtfusion"
)

type testBundle struct {
	fake *fakevirtfusion.Fake
	url  string
}

func setup(t *testing.T) *testBundle {
	t.Helper()
	fake := fakevirtfusion.New(fakevirtfusion.Options{Token: "tok"})
	srv := httptest.NewServer(fake)
	t.Cleanup(srv.Close)
	return &testBundle{fake: fake, url: srv.URL}
}

// call sends a raw request and returns the status and body.
func (b *testBundle) call(t *testing.T, method, path, token, body string) (int, string, http.Header) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, b.url+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, strings.TrimSpace(string(raw)), resp.Header
}

func TestAuth(t *testing.T) {
	t.Parallel()
	b := setup(t)

	for _, token := range []string{"", "wrong"} {
		status, body, _ := b.call(t, "GET", "/api/v1/connect", token, "")
		if diff := cmp.Diff("401 "+`{"message":"Unauthenticated."}`, strconv.Itoa(status)+" "+body); diff != "" {
			t.Errorf("token %q (-want +got):\n%s", token, diff)
		}
	}
	if status, _, _ := b.call(t, "GET", "/api/v1/connect", "tok", ""); status != 200 {
		t.Errorf("good token: %d", status)
	}
	if status, body, _ := b.call(t, "GET", "/api/v1/nope", "tok", ""); status != 404 || !strings.Contains(body, "Not Found") {
		t.Errorf("unknown route: %d %s", status, body)
	}
}

// TestShapesMatchReference checks that the fake serves every field of the
// official example bodies kept in testdata/.
func TestShapesMatchReference(t *testing.T) {
	t.Parallel()
	b := setup(t)

	status, user, _ := b.call(t, "POST", "/api/v1/users", "tok", `{"name":"Jon Doe","email":"jon@doe.com","extRelationId":42,"selfService":0,"sendMail":false}`)
	if status != 201 {
		t.Fatalf("create user: %d %s", status, user)
	}
	status, server, _ := b.call(t, "POST", "/api/v1/servers", "tok", `{"packageId":1,"userId":1,"hypervisorId":1,"ipv4":1,"storage":20,"traffic":20,"memory":512,"cpuCores":1}`)
	if status != 201 {
		t.Fatalf("create server: %d %s", status, server)
	}
	_, list, _ := b.call(t, "GET", "/api/v1/servers?results=1", "tok", "")
	_, pkg, _ := b.call(t, "GET", "/api/v1/packages/1", "tok", "")
	for file, got := range map[string]string{
		"create_server_201.json": server,
		"list_servers.json":      list,
		"package.json":           pkg,
	} {
		want, err := os.ReadFile("testdata/" + file)
		if err != nil {
			t.Fatal(err)
		}
		missing, err := jsonshape.Missing(want, []byte(got))
		if err != nil {
			t.Fatal(err)
		}
		if len(missing) > 0 {
			t.Errorf("%s: fake lacks fields %v", file, missing)
		}
	}
}

func TestControlEndpoint(t *testing.T) {
	t.Parallel()
	b := setup(t)

	status, _, _ := b.call(t, "POST", "/__fake/failures", "", `{"route":"GET /api/v1/connect","status":503,"retry_after":"4s"}`)
	if status != http.StatusNoContent {
		t.Fatalf("control: %d", status)
	}
	status, body, h := b.call(t, "GET", "/api/v1/connect", "tok", "")
	if status != 503 || h.Get("Retry-After") != "4" || body != `{"message":"Server Error"}` {
		t.Fatalf("injected: %d %q %s", status, h.Get("Retry-After"), body)
	}
	if got := b.fake.Calls("GET /api/v1/connect"); got != 1 {
		t.Errorf("Calls = %d", got)
	}
}

// TestRealPanelBehaviour: what real panels do that clients trip on. The
// user's servers come paginated (20 per page); an SSO endpoint_complete is
// a path, not a URL; remoteState says "state" and no other running flag; and
// a lost answer to POST /servers (over /__fake/lose) still leaves an
// unnamed server in state allocated.
func TestRealPanelBehaviour(t *testing.T) {
	t.Parallel()
	b := setup(t)
	if status, body, _ := b.call(t, "POST", "/api/v1/users", "tok", `{"name":"Jon Doe","email":"jon@doe.com","extRelationId":42}`); status != 201 {
		t.Fatalf("create user: %d %s", status, body)
	}
	if status, _, _ := b.call(t, "POST", "/__fake/lose", "", `{"route":"POST /api/v1/servers"}`); status != http.StatusNoContent {
		t.Fatalf("lose: %d", status)
	}
	req, err := http.NewRequestWithContext(t.Context(), "POST", b.url+"/api/v1/servers", strings.NewReader(`{"packageId":1,"userId":1,"hypervisorId":1}`))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer tok")
	if resp, err := http.DefaultClient.Do(req); err == nil {
		resp.Body.Close()
		t.Fatalf("a lost answer arrived: %d", resp.StatusCode)
	}
	for range 21 {
		if status, body, _ := b.call(t, "POST", "/api/v1/servers", "tok", `{"packageId":1,"userId":1,"hypervisorId":1}`); status != 201 {
			t.Fatalf("create server: %d %s", status, body)
		}
	}
	_, page, _ := b.call(t, "GET", "/api/v1/servers/user/1", "tok", "")
	var list struct {
		Data []struct {
			ID   int64  `json:"id"`
			Name string `json:"name"`
		} `json:"data"`
		PerPage  int `json:"per_page"`
		LastPage int `json:"last_page"`
		Total    int `json:"total"`
	}
	if err := json.Unmarshal([]byte(page), &list); err != nil {
		t.Fatal(err)
	}
	type shape struct{ Items, PerPage, LastPage, Total int }
	if diff := cmp.Diff(shape{20, 20, 2, 22}, shape{len(list.Data), list.PerPage, list.LastPage, list.Total}); diff != "" {
		t.Errorf("user's servers (-want +got):\n%s", diff)
	}
	if list.Data[0].ID != 1 || list.Data[0].Name != "" {
		t.Errorf("the lost create's server: %+v", list.Data[0])
	}

	if _, body, _ := b.call(t, "POST", "/api/v1/servers/1/build", "tok", `{"operatingSystemId":1,"name":"srv"}`); !strings.Contains(body, `"state":"queued"`) {
		t.Fatalf("build: %s", body)
	}
	_, live, _ := b.call(t, "GET", "/api/v1/servers/1?remoteState=true", "tok", "")
	if !strings.Contains(live, `"remoteState":{"state":"running"`) || strings.Contains(live, `"running":`) {
		t.Errorf("remoteState: %s", live)
	}
	_, sso, _ := b.call(t, "POST", "/api/v1/users/42/serverAuthenticationTokens/1", "tok", "")
	if !strings.Contains(sso, `"endpoint_complete":"/authenticate/server/`) {
		t.Errorf("SSO tokens: %s", sso)
	}
}
