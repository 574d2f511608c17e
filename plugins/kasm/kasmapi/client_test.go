package kasmapi_test

import (
	"errors"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/ezscale/platform/plugins/internal/fault"
	"github.com/ezscale/platform/plugins/kasm/fakekasm"
	"github.com/ezscale/platform/plugins/kasm/kasmapi"
)

type testBundle struct {
	fake   *fakekasm.Fake
	client *kasmapi.Client
	url    string
}

func setup(t *testing.T, opts fakekasm.Options) *testBundle {
	t.Helper()
	fake := fakekasm.New(opts)
	srv := httptest.NewServer(fake)
	t.Cleanup(srv.Close)
	c, err := kasmapi.New(kasmapi.Config{BaseURL: srv.URL, APIKey: fakekasm.DefaultAPIKey, APIKeySecret: fakekasm.DefaultAPISecret, Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	return &testBundle{fake: fake, client: c, url: srv.URL}
}

const chrome = "01366df3a03b4bccbb8c913846594826"

type result struct {
	Status  int
	Message string
}

func res(err error) result {
	e, ok := kasmapi.AsError(err)
	if !ok {
		if err == nil {
			return result{Message: "<nil>"}
		}
		return result{Message: err.Error()}
	}
	return result{e.StatusCode, e.Message}
}

func TestNewValidatesConfig(t *testing.T) {
	t.Parallel()
	if _, err := kasmapi.New(kasmapi.Config{BaseURL: "https://kasm.example.com", APIKey: "k"}); err == nil {
		t.Error("accepted a config without a secret")
	}
	if _, err := kasmapi.New(kasmapi.Config{BaseURL: "kasm", APIKey: "k", APIKeySecret: "s"}); err == nil {
		t.Error("accepted a base URL without a scheme")
	}
}

func TestAuthAndPermissions(t *testing.T) {
	t.Parallel()
	b := setup(t, fakekasm.Options{})
	ctx := t.Context()

	bad, _ := kasmapi.New(kasmapi.Config{BaseURL: b.url, APIKey: fakekasm.DefaultAPIKey, APIKeySecret: "wrong"})
	_, err := bad.Images(ctx)
	if diff := cmp.Diff(result{403, "Access Denied"}, res(err)); diff != "" || !kasmapi.IsAuth(err) {
		t.Errorf("wrong secret (-want +got):\n%s", diff)
	}

	b.fake.AddAPIKey("viewer", "s", fakekasm.PermImagesView, fakekasm.PermUser)
	viewer, _ := kasmapi.New(kasmapi.Config{BaseURL: b.url, APIKey: "viewer", APIKeySecret: "s"})
	if _, err := viewer.Images(ctx); err != nil {
		t.Fatalf("permitted call: %v", err)
	}
	_, err = viewer.CreateUser(ctx, kasmapi.NewUser{Username: "x@example.com"})
	if diff := cmp.Diff(result{401, "Unauthorized"}, res(err)); diff != "" {
		t.Errorf("missing Users Create (-want +got):\n%s", diff)
	}
	u, _ := b.client.CreateUser(ctx, kasmapi.NewUser{Username: "x@example.com"})
	_, err = viewer.RequestKasm(ctx, kasmapi.RequestKasm{UserID: u.UserID, ImageID: chrome})
	if diff := cmp.Diff(result{403, "Unauthorized"}, res(err)); diff != "" || !kasmapi.IsForbidden(err) {
		t.Errorf("request_kasm without Users Auth Session (-want +got):\n%s", diff)
	}
}

func TestUsers(t *testing.T) {
	t.Parallel()
	b := setup(t, fakekasm.Options{})
	ctx := t.Context()

	// An unknown user is an error answer (400 "Invalid Request"), which
	// the client reports as ErrNoSuchUser.
	_, err := b.client.UserByUsername(ctx, "bob@example.com")
	if diff := cmp.Diff(result{400, kasmapi.MsgInvalidRequest}, res(err)); diff != "" || !kasmapi.IsNotFound(err) || !errors.Is(err, kasmapi.ErrNoSuchUser) {
		t.Fatalf("unknown user: %v (-want +got):\n%s", err, diff)
	}
	u, err := b.client.CreateUser(ctx, kasmapi.NewUser{Username: "bob@example.com", FirstName: "Bob", LastName: "W", Password: "pw-123456"})
	if err != nil {
		t.Fatal(err)
	}
	if len(u.UserID) != 32 || u.Realm != "local" || len(u.Groups) != 1 {
		t.Fatalf("created: %+v", u)
	}
	got, err := b.client.UserByUsername(ctx, "BOB@example.com")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(u, got); diff != "" {
		t.Errorf("by username (-want +got):\n%s", diff)
	}
	// Kasm accepts ids with or without hyphens.
	hyph := u.UserID[0:8] + "-" + u.UserID[8:12] + "-" + u.UserID[12:16] + "-" + u.UserID[16:20] + "-" + u.UserID[20:]
	if got, err := b.client.User(ctx, hyph); err != nil || got.UserID != u.UserID {
		t.Fatalf("by hyphenated id: %v", err)
	}
	_, err = b.client.CreateUser(ctx, kasmapi.NewUser{Username: "bob@example.com"})
	if diff := cmp.Diff(result{200, "Username already exists"}, res(err)); diff != "" {
		t.Errorf("duplicate (-want +got):\n%s", diff)
	}

	k, err := b.client.RequestKasm(ctx, kasmapi.RequestKasm{UserID: u.UserID, ImageID: chrome})
	if err != nil {
		t.Fatal(err)
	}
	if err := b.client.DeleteUser(ctx, u.UserID, false); !kasmapi.IsInBodyError(err) {
		t.Fatalf("delete a user with a session without force: %v", err)
	}
	if err := b.client.DeleteUser(ctx, u.UserID, true); err != nil {
		t.Fatal(err)
	}
	if _, err := b.client.KasmStatus(ctx, k.KasmID, u.UserID); !kasmapi.IsNotFound(err) {
		t.Fatalf("forced delete left the session: %v", err)
	}
	err = b.client.DeleteUser(ctx, u.UserID, true)
	if diff := cmp.Diff(result{400, "Unknown user (" + u.UserID + ")"}, res(err)); diff != "" || !kasmapi.IsNotFound(err) {
		t.Fatalf("second delete: %v (-want +got):\n%s", err, diff)
	}
	if _, err := b.client.User(ctx, u.UserID); !kasmapi.IsNotFound(err) {
		t.Fatalf("a deleted user by id: %v", err)
	}
}

func TestSessions(t *testing.T) {
	t.Parallel()
	b := setup(t, fakekasm.Options{StartDuration: time.Hour})
	ctx := t.Context()
	u, _ := b.client.CreateUser(ctx, kasmapi.NewUser{Username: "amy@example.com"})

	_, err := b.client.RequestKasm(ctx, kasmapi.RequestKasm{UserID: u.UserID})
	if diff := cmp.Diff(result{200, "No Default Image Found"}, res(err)); diff != "" {
		t.Errorf("no image_id (-want +got):\n%s", diff)
	}
	_, err = b.client.RequestKasm(ctx, kasmapi.RequestKasm{UserID: "0123456789abcdef0123456789abcdef", ImageID: chrome})
	if diff := cmp.Diff(result{400, "Invalid user_id (0123456789abcdef0123456789abcdef)"}, res(err)); diff != "" || !kasmapi.IsNotFound(err) {
		t.Errorf("unknown user (-want +got):\n%s", diff)
	}
	k, err := b.client.RequestKasm(ctx, kasmapi.RequestKasm{UserID: u.UserID, ImageID: chrome})
	if err != nil {
		t.Fatal(err)
	}
	if k.Status != kasmapi.StatusStarting || !strings.HasPrefix(k.KasmURL, "/#/connect/kasm/"+k.KasmID+"/"+u.UserID+"/") || k.SessionToken == "" {
		t.Fatalf("request_kasm: %+v", k)
	}
	if got := b.client.URL(k.KasmURL); got != b.url+k.KasmURL {
		t.Errorf("URL = %q", got)
	}
	// Kasm says "starting" as the status and as an error message: the
	// status wins, it is not a failure.
	st, err := b.client.KasmStatus(ctx, k.KasmID, u.UserID)
	if err != nil || st.Kasm != nil || st.Status() != kasmapi.StatusStarting || st.OperationalProgress == 0 ||
		st.ErrorMessage != kasmapi.MsgSessionIsStarting {
		t.Fatalf("status while starting: %+v, %v", st, err)
	}
	list, err := b.client.Kasms(ctx)
	if err != nil || len(list) != 1 || list[0].KasmID != k.KasmID || list[0].Image.FriendlyName != "Chrome" || list[0].Memory == 0 {
		t.Fatalf("get_kasms: %+v, %v", list, err)
	}
	other, _ := b.client.CreateUser(ctx, kasmapi.NewUser{Username: "eve@example.com"})
	if err := b.client.DestroyKasm(ctx, k.KasmID, other.UserID); !kasmapi.IsInBodyError(err) {
		t.Fatalf("destroy another user's session: %v", err)
	}
	if err := b.client.DestroyKasm(ctx, kasmapi.NormalizeID(k.KasmID), u.UserID); err != nil {
		t.Fatal(err)
	}
	err = b.client.DestroyKasm(ctx, k.KasmID, u.UserID)
	if diff := cmp.Diff(result{400, "Invalid kasm_id (" + k.KasmID + ")"}, res(err)); diff != "" || !kasmapi.IsNotFound(err) {
		t.Errorf("destroy twice (-want +got):\n%s", diff)
	}
}

func TestSessionRuns(t *testing.T) {
	t.Parallel()
	b := setup(t, fakekasm.Options{})
	ctx := t.Context()
	u, _ := b.client.CreateUser(ctx, kasmapi.NewUser{Username: "amy@example.com"})
	k, _ := b.client.RequestKasm(ctx, kasmapi.RequestKasm{UserID: u.UserID, ImageID: chrome})
	st, err := b.client.KasmStatus(ctx, k.KasmID, u.UserID)
	if err != nil || st.Kasm == nil || st.Status() != kasmapi.StatusRunning || st.KasmURL != k.KasmURL {
		t.Fatalf("running: %+v, %v", st, err)
	}
	imgs, err := b.client.Images(ctx)
	if err != nil || len(imgs) != 3 {
		t.Fatalf("images: %v", err)
	}
	if _, err := b.client.RequestKasm(ctx, kasmapi.RequestKasm{UserID: u.UserID, ImageID: imgs[2].ImageID}); !kasmapi.IsInBodyError(err) {
		t.Fatalf("disabled image: %v", err)
	}
}

func TestErrorMapping(t *testing.T) {
	t.Parallel()

	tests := []struct {
		failure fault.Failure
		want    result
		retry   time.Duration
	}{
		{fault.Failure{Status: 200, Message: "Something broke"}, result{200, "Something broke"}, 0},
		{fault.Failure{Status: 401}, result{401, "Unauthorized"}, 0},
		{fault.Failure{Status: 403}, result{403, "Access Denied"}, 0},
		{fault.Failure{Status: 404}, result{404, "Not Found"}, 0},
		{fault.Failure{Status: 409}, result{409, "Conflict"}, 0},
		{fault.Failure{Status: 422}, result{422, "Unprocessable Entity"}, 0},
		{fault.Failure{Status: 423}, result{423, "Locked"}, 0},
		{fault.Failure{Status: 429, RetryAfter: 4 * time.Second}, result{429, "Too Many Requests"}, 4 * time.Second},
		{fault.Failure{Status: 500}, result{500, "Internal Server Error"}, 0},
		{fault.Failure{Status: 503}, result{503, "Service Unavailable"}, 0},
	}
	for _, tt := range tests {
		t.Run(strconv.Itoa(tt.failure.Status), func(t *testing.T) {
			t.Parallel()
			b := setup(t, fakekasm.Options{})
			b.fake.FailNext("POST /api/public/get_images", tt.failure)
			_, err := b.client.Images(t.Context())
			if diff := cmp.Diff(tt.want, res(err)); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
			if d, _ := kasmapi.RetryAfter(err); d != tt.retry {
				t.Errorf("retry after %v, want %v", d, tt.retry)
			}
		})
	}
}

func TestRateLimitAndTimeout(t *testing.T) {
	t.Parallel()
	b := setup(t, fakekasm.Options{})

	b.fake.SetRateLimit(1, time.Minute)
	if _, err := b.client.Images(t.Context()); err != nil {
		t.Fatal(err)
	}
	if _, err := b.client.Images(t.Context()); !kasmapi.IsRateLimited(err) {
		t.Fatalf("second call: %v", err)
	}
	b.fake.SetRateLimit(0, 0)
	b.fake.SetLatency(fault.Any, time.Second)
	c, _ := kasmapi.New(kasmapi.Config{BaseURL: b.url, APIKey: fakekasm.DefaultAPIKey, APIKeySecret: fakekasm.DefaultAPISecret, Timeout: 50 * time.Millisecond})
	if _, err := c.Images(t.Context()); !kasmapi.IsTransport(err) {
		t.Fatalf("timeout: %v", err)
	}
}

func TestUpdateUser(t *testing.T) {
	t.Parallel()
	b := setup(t, fakekasm.Options{})
	ctx := t.Context()
	u, _ := b.client.CreateUser(ctx, kasmapi.NewUser{Username: "amy@example.com"})

	yes, pw := true, "n3w-passw0rd"
	_, err := b.client.UpdateUser(ctx, kasmapi.UserUpdate{UserID: u.UserID, Disabled: &yes})
	if diff := cmp.Diff(result{400, kasmapi.MsgNoUsername}, res(err)); diff != "" {
		t.Errorf("update without a username (-want +got):\n%s", diff)
	}
	got, err := b.client.UpdateUser(ctx, kasmapi.UserUpdate{UserID: u.UserID, Username: u.Username, Disabled: &yes, Password: &pw})
	if err != nil || !got.Disabled {
		t.Fatalf("UpdateUser: %+v, %v", got, err)
	}
	if b.fake.Password(u.UserID) != pw {
		t.Error("password not set")
	}
	_, err = b.client.RequestKasm(ctx, kasmapi.RequestKasm{UserID: u.UserID, ImageID: chrome})
	if !kasmapi.IsInBodyError(err) {
		t.Errorf("session for a disabled user: %v", err)
	}
	_, err = b.client.UpdateUser(ctx, kasmapi.UserUpdate{UserID: "0123456789abcdef0123456789abcdef", Username: "nobody"})
	if diff := cmp.Diff(result{400, kasmapi.MsgInvalidRequest}, res(err)); diff != "" {
		t.Errorf("unknown user (-want +got):\n%s", diff)
	}
}
