package fakepterodactyl_test

import (
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
