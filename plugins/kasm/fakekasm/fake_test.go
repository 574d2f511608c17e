package fakekasm_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"

	"github.com/ezscale/platform/plugins/internal/jsonshape"
	"github.com/ezscale/platform/plugins/kasm/fakekasm"
)

func setup(t *testing.T) string {
	t.Helper()
	srv := httptest.NewServer(fakekasm.New(fakekasm.Options{}))
	t.Cleanup(srv.Close)
	return srv.URL
}

func call(t *testing.T, method, url string, body map[string]any) (int, string) {
	t.Helper()
	if body != nil {
		body["api_key"], body["api_key_secret"] = fakekasm.DefaultAPIKey, fakekasm.DefaultAPISecret
	}
	raw, _ := json.Marshal(body)
	req, _ := http.NewRequestWithContext(t.Context(), method, url, strings.NewReader(string(raw)))
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(out)
}

func TestShapesMatchReference(t *testing.T) {
	t.Parallel()
	url := setup(t) + "/api/public/"

	_, user := call(t, "POST", url+"create_user", map[string]any{"target_user": map[string]any{
		"username": "test_user1@example.com", "first_name": "Bob", "last_name": "Williams", "phone": "123-456-7890", "organization": "example"}})
	var u struct {
		User struct {
			UserID string `json:"user_id"`
		} `json:"user"`
	}
	if err := json.Unmarshal([]byte(user), &u); err != nil || u.User.UserID == "" {
		t.Fatalf("create_user: %s", user)
	}
	_, kasm := call(t, "POST", url+"request_kasm", map[string]any{"user_id": u.User.UserID, "image_id": "01366df3a03b4bccbb8c913846594826"})
	var k struct {
		KasmID string `json:"kasm_id"`
	}
	_ = json.Unmarshal([]byte(kasm), &k)
	_, status := call(t, "POST", url+"get_kasm_status", map[string]any{"kasm_id": k.KasmID, "user_id": u.User.UserID})
	_, images := call(t, "POST", url+"get_images", map[string]any{})
	for file, got := range map[string]string{
		"create_user.json": user, "request_kasm.json": kasm, "get_kasm_status.json": status, "get_images.json": images,
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
}

func TestProtocol(t *testing.T) {
	t.Parallel()
	url := setup(t) + "/api/public/"

	if status, _ := call(t, "GET", url+"get_images", nil); status != http.StatusMethodNotAllowed {
		t.Errorf("GET: %d", status)
	}
	status, body := call(t, "POST", url+"get_images", nil)
	if status != http.StatusForbidden || strings.TrimSpace(body) != `{"error_message":"Access Denied"}` {
		t.Errorf("no credentials: %d %s", status, body)
	}
	status, body = call(t, "POST", url+"request_kasm", map[string]any{"user_id": "nope", "image_name": "kasmweb/chrome"})
	if status != http.StatusBadRequest || !strings.Contains(body, "Invalid user_id (nope)") {
		t.Errorf("unknown user: %d %s", status, body)
	}
}
