package fakepterodactyl_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/ezscale/platform/plugins/internal/jsonshape"
	"github.com/ezscale/platform/plugins/pterodactyl/fakepterodactyl"
)

type testBundle struct {
	fake *fakepterodactyl.Fake
	url  string
}

func setup(t *testing.T, opts fakepterodactyl.Options) *testBundle {
	t.Helper()
	fake := fakepterodactyl.New(opts)
	srv := httptest.NewServer(fake)
	t.Cleanup(srv.Close)
	return &testBundle{fake: fake, url: srv.URL}
}

type response struct {
	Status int
	Body   string
	Header http.Header
}

func (b *testBundle) call(t *testing.T, method, path, key, body string) response {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, b.url+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	return response{resp.StatusCode, strings.TrimSpace(string(raw)), resp.Header}
}

const app = fakepterodactyl.DefaultApplicationKey

const createBody = `{"name":"Game #12","user":1,"egg":1,"external_id":"svc-12",
 "docker_image":"ghcr.io/pterodactyl/yolks:java_17",
 "startup":"java -Xms128M -Xmx{{SERVER_MEMORY}}M -jar {{SERVER_JARFILE}}",
 "environment":{"SERVER_JARFILE":"server.jar","VANILLA_VERSION":"latest"},
 "limits":{"memory":2048,"swap":0,"disk":10240,"io":500,"cpu":100,"threads":null},
 "feature_limits":{"databases":1,"allocations":1,"backups":2},
 "allocation":{"default":17,"additional":[]},
 "skip_scripts":false,"oom_disabled":true,"start_on_completion":true}`

func TestAuthBodiesAndRateLimitHeaders(t *testing.T) {
	t.Parallel()
	b := setup(t, fakepterodactyl.Options{})

	got := b.call(t, "GET", "/api/application/users", "", "")
	want := `{"errors":[{"code":"AuthenticationException","status":"401","detail":"Unauthenticated."}]}`
	if diff := cmp.Diff(want, got.Body); got.Status != 401 || diff != "" {
		t.Errorf("no key: %d (-want +got):\n%s", got.Status, diff)
	}
	got = b.call(t, "GET", "/api/application/users", app, "")
	if got.Status != 200 || got.Header.Get("X-RateLimit-Limit") != "240" || got.Header.Get("X-RateLimit-Remaining") != "238" {
		t.Errorf("rate limit headers: %d %v", got.Status, got.Header)
	}
	got = b.call(t, "GET", "/api/client/servers/abcdefgh", fakepterodactyl.DefaultClientKey, "")
	if got.Status != 404 || got.Header.Get("X-RateLimit-Limit") != "720" {
		t.Errorf("client API: %d %v", got.Status, got.Header)
	}
}

func TestShapesMatchReference(t *testing.T) {
	t.Parallel()
	b := setup(t, fakepterodactyl.Options{})

	created := b.call(t, "POST", "/api/application/servers", app, createBody)
	if created.Status != 201 {
		t.Fatalf("create: %d %s", created.Status, created.Body)
	}
	server := b.call(t, "GET", "/api/application/servers/external/svc-12", app, "")
	if server.Status != 200 {
		t.Fatalf("get: %d %s", server.Status, server.Body)
	}
	// start_on_completion: the server runs once installed.
	ident := strings.Split(strings.Split(server.Body, `"identifier":"`)[1], `"`)[0]
	stats := b.call(t, "GET", "/api/client/servers/"+ident+"/resources", fakepterodactyl.DefaultClientKey, "")
	if !strings.Contains(stats.Body, `"current_state":"running"`) {
		t.Errorf("started on completion: %s", stats.Body)
	}
	for file, got := range map[string]string{
		"server.json":     created.Body,
		"users.json":      b.call(t, "GET", "/api/application/users", app, "").Body,
		"stats.json":      stats.Body,
		"allocation.json": b.call(t, "GET", "/api/application/nodes/1/allocations", app, "").Body,
	} {
		want, err := os.ReadFile("testdata/" + file)
		if err != nil {
			t.Fatal(err)
		}
		missing, err := jsonshape.Missing(want, []byte(got))
		if err != nil {
			t.Fatalf("%s: %v in %s", file, err, got)
		}
		if len(missing) > 0 {
			t.Errorf("%s: fake lacks %v", file, missing)
		}
	}
	if !strings.Contains(created.Body, `"status":"installing"`) {
		t.Errorf("a new server is installing: %s", created.Body)
	}
}

func TestValidationErrorShape(t *testing.T) {
	t.Parallel()
	b := setup(t, fakepterodactyl.Options{})

	body := strings.Replace(createBody, `"feature_limits":{"databases":1,"allocations":1,"backups":2},`, `"feature_limits":{"allocations":1},`, 1)
	got := b.call(t, "POST", "/api/application/servers", app, body)
	want := `{"errors":[` +
		`{"code":"ValidationException","status":"422","detail":"The feature_limits.databases field must be present.","meta":{"source_field":"feature_limits.databases","rule":"present"}},` +
		`{"code":"ValidationException","status":"422","detail":"The feature_limits.backups field must be present.","meta":{"source_field":"feature_limits.backups","rule":"present"}}]}`
	if diff := cmp.Diff(want, got.Body); got.Status != 422 || diff != "" {
		t.Errorf("%d (-want +got):\n%s", got.Status, diff)
	}
	got = b.call(t, "POST", "/api/application/users", app, `{`)
	if got.Status != 400 {
		t.Errorf("malformed JSON: %d %s", got.Status, got.Body)
	}
}

// TestFiltersMatchSubstrings: like the panel's Spatie QueryBuilder,
// filter[email] is a case-insensitive substring match, so a lookup of
// bob@example.net also returns xbob@example.net.
func TestFiltersMatchSubstrings(t *testing.T) {
	t.Parallel()
	b := setup(t, fakepterodactyl.Options{})
	for _, u := range []string{`{"email":"xbob@example.net","username":"xbob","first_name":"X","last_name":"Bob"}`,
		`{"email":"bob@example.net","username":"bob","first_name":"Bob","last_name":"B"}`} {
		if got := b.call(t, "POST", "/api/application/users", app, u); got.Status != 201 {
			t.Fatalf("create user: %d %s", got.Status, got.Body)
		}
	}
	var list struct {
		Data []struct {
			Attributes struct {
				Email string `json:"email"`
			} `json:"attributes"`
		} `json:"data"`
	}
	got := b.call(t, "GET", "/api/application/users?filter[email]=BOB@example.net", app, "")
	if err := json.Unmarshal([]byte(got.Body), &list); err != nil {
		t.Fatal(err)
	}
	var emails []string
	for _, d := range list.Data {
		emails = append(emails, d.Attributes.Email)
	}
	if diff := cmp.Diff([]string{"xbob@example.net", "bob@example.net"}, emails); diff != "" {
		t.Errorf("filter[email]=BOB@example.net (-want +got):\n%s", diff)
	}
}

// TestDeployNullPortRange: deploy.port_range is "array", not nullable: null
// is a 422 (an absent key is fine).
func TestDeployNullPortRange(t *testing.T) {
	t.Parallel()
	b := setup(t, fakepterodactyl.Options{})
	deploy := func(d string) string {
		return strings.Replace(createBody, `"allocation":{"default":17,"additional":[]},`, `"deploy":`+d+`,`, 1)
	}
	got := b.call(t, "POST", "/api/application/servers", app, deploy(`{"locations":[1],"dedicated_ip":false,"port_range":null}`))
	want := `{"errors":[{"code":"ValidationException","status":"422","detail":"The deploy.port range must be an array.","meta":{"source_field":"deploy.port_range","rule":"array"}}]}`
	if diff := cmp.Diff(want, got.Body); got.Status != 422 || diff != "" {
		t.Errorf("port_range null: %d (-want +got):\n%s", got.Status, diff)
	}
	if got := b.call(t, "POST", "/api/application/servers", app, deploy(`{"locations":[1],"dedicated_ip":false}`)); got.Status != 201 {
		t.Errorf("no port_range: %d %s", got.Status, got.Body)
	}
}

// TestBackupsLimitAndShape: Client API backups carry the panel's fields,
// count against feature_limits.backups (2 here) and the next one is
// refused with TooManyBackupsException; a deleted one frees room.
func TestBackupsLimitAndShape(t *testing.T) {
	t.Parallel()
	b := setup(t, fakepterodactyl.Options{})
	if got := b.call(t, "POST", "/api/application/servers", app, createBody); got.Status != 201 {
		t.Fatalf("create: %d %s", got.Status, got.Body)
	}
	server := b.call(t, "GET", "/api/application/servers/external/svc-12", app, "").Body
	ident := strings.Split(strings.Split(server, `"identifier":"`)[1], `"`)[0]
	path := "/api/client/servers/" + ident + "/backups"
	client := fakepterodactyl.DefaultClientKey

	first := b.call(t, "POST", path, client, `{"name":"ezscale-backup-20260101T0300Z"}`)
	if first.Status != 200 {
		t.Fatalf("backup: %d %s", first.Status, first.Body)
	}
	want, err := os.ReadFile("testdata/backup.json")
	if err != nil {
		t.Fatal(err)
	}
	if missing, err := jsonshape.Missing(want, []byte(first.Body)); err != nil || len(missing) > 0 {
		t.Errorf("backup lacks %v (%v): %s", missing, err, first.Body)
	}
	if !strings.Contains(first.Body, `"completed_at":null`) {
		t.Errorf("a new backup is running: %s", first.Body)
	}
	if got := b.call(t, "POST", path, client, `{}`); got.Status != 200 {
		t.Fatalf("second backup: %d %s", got.Status, got.Body)
	}
	got := b.call(t, "POST", path, client, `{}`)
	wantErr := `{"errors":[{"code":"TooManyBackupsException","status":"400","detail":"Cannot create a new backup, this server has reached its limit of 2 backups."}]}`
	if diff := cmp.Diff(wantErr, got.Body); got.Status != 400 || diff != "" {
		t.Errorf("third backup: %d (-want +got):\n%s", got.Status, diff)
	}
	list := b.call(t, "GET", path, client, "")
	if !strings.Contains(list.Body, `"backup_count":2`) || !strings.Contains(list.Body, `"per_page":20`) {
		t.Errorf("list: %s", list.Body)
	}
	uuid := strings.Split(strings.Split(first.Body, `"uuid":"`)[1], `"`)[0]
	if got := b.call(t, "DELETE", path+"/"+uuid, client, ""); got.Status != 204 {
		t.Errorf("delete: %d %s", got.Status, got.Body)
	}
	if got := b.call(t, "DELETE", path+"/"+uuid, client, ""); got.Status != 404 {
		t.Errorf("delete again: %d %s", got.Status, got.Body)
	}
	if got := b.call(t, "POST", path, client, `{}`); got.Status != 200 {
		t.Errorf("backup after a delete: %d %s", got.Status, got.Body)
	}
}
