package fakekasm_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

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

// TestRealKasmBehaviour: the answers a classic Kasm gives that clients trip
// on: get_user of an unknown user is 400 "Invalid Request" (not an empty
// answer); a starting session's status carries error_message beside
// operational_status; update_user needs the username; delete_user of an
// unknown user is 400 "Unknown user (<id>)".
func TestRealKasmBehaviour(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(fakekasm.New(fakekasm.Options{StartDuration: time.Hour}))
	t.Cleanup(srv.Close)
	url := srv.URL + "/api/public/"

	status, body := call(t, "POST", url+"get_user", map[string]any{"target_user": map[string]any{"username": "nobody"}})
	if status != 400 || strings.TrimSpace(body) != `{"error_message":"Invalid Request"}` {
		t.Errorf("get_user of an unknown user: %d %s", status, body)
	}
	_, user := call(t, "POST", url+"create_user", map[string]any{"target_user": map[string]any{"username": "amy"}})
	var u struct {
		User struct {
			UserID string `json:"user_id"`
		} `json:"user"`
	}
	if err := json.Unmarshal([]byte(user), &u); err != nil {
		t.Fatal(err)
	}
	_, kasm := call(t, "POST", url+"request_kasm", map[string]any{"user_id": u.User.UserID, "image_id": "01366df3a03b4bccbb8c913846594826"})
	var k struct {
		KasmID string `json:"kasm_id"`
	}
	_ = json.Unmarshal([]byte(kasm), &k)
	status, body = call(t, "POST", url+"get_kasm_status", map[string]any{"kasm_id": k.KasmID, "user_id": u.User.UserID})
	if status != 200 || !strings.Contains(body, `"operational_status":"starting"`) || !strings.Contains(body, `"error_message":"This session is currently starting."`) {
		t.Errorf("status while starting: %d %s", status, body)
	}
	status, body = call(t, "POST", url+"update_user", map[string]any{"target_user": map[string]any{"user_id": u.User.UserID, "disabled": true}})
	if status != 400 || !strings.Contains(body, "Username is not present") {
		t.Errorf("update_user without a username: %d %s", status, body)
	}
	if status, body = call(t, "POST", url+"update_user", map[string]any{"target_user": map[string]any{"user_id": u.User.UserID, "username": "amy", "disabled": true}}); status != 200 || !strings.Contains(body, `"disabled":true`) {
		t.Errorf("update_user: %d %s", status, body)
	}
	for i, want := range []string{`{}`, `{"error_message":"Unknown user (` + u.User.UserID + `)"}`} {
		status, body = call(t, "POST", url+"delete_user", map[string]any{"target_user": map[string]any{"user_id": u.User.UserID}, "force": true})
		if got := strings.TrimSpace(body); (i == 0) != (status == 200) || got != want {
			t.Errorf("delete_user %d: %d %s, want %s", i+1, status, got, want)
		}
	}
}
