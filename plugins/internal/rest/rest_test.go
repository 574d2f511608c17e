package rest

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/ezscale/platform/plugins/internal/apierror"
)

func TestDo(t *testing.T) {
	t.Parallel()

	type seen struct{ Method, RawPath, Query, Auth, ContentType, Body string }
	var got seen
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body map[string]any
		_ = json.NewDecoder(r.Body).Decode(&body)
		b, _ := json.Marshal(body)
		got = seen{r.Method, r.URL.EscapedPath(), r.URL.RawQuery, r.Header.Get("Authorization"), r.Header.Get("Content-Type"), string(b)}
		switch r.URL.Query().Get("mode") {
		case "error":
			w.WriteHeader(http.StatusUnprocessableEntity)
			_, _ = w.Write([]byte(`{"detail":"bad name"}`))
		case "inbody":
			_, _ = w.Write([]byte(`{"error_message":"refused"}`))
		default:
			_, _ = w.Write([]byte(`{"ok":true}`))
		}
	}))
	t.Cleanup(srv.Close)

	c, err := New(srv.URL+"/api/v1/", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	c.PrepareFunc = func(r *http.Request) { r.Header.Set("Authorization", "Bearer x") }
	c.DecodeErrorFunc = func(e *apierror.Error, body []byte) {
		var b struct{ Detail string }
		_ = json.Unmarshal(body, &b)
		e.Message = b.Detail
	}

	var out struct{ OK bool }
	status, err := c.Do(t.Context(), Request{Method: "POST", Path: "/users/external/" + url.PathEscape("a/b c"), Body: map[string]int{"n": 1}}, &out)
	if err != nil || status != 200 || !out.OK {
		t.Fatalf("Do: %d, %v, %+v", status, err, out)
	}
	want := seen{"POST", "/api/v1/users/external/a%2Fb%20c", "", "Bearer x", "application/json; charset=utf-8", `{"n":1}`}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("request (-want +got):\n%s", diff)
	}

	_, err = c.Do(t.Context(), Request{Method: "GET", Path: "/x", Query: url.Values{"mode": {"error"}}}, nil)
	if e, ok := apierror.As(err); !ok || e.StatusCode != 422 || e.Message != "bad name" || e.Path != "/x" {
		t.Errorf("error answer: %v", err)
	}
	// An unexpected 2xx is an error too when Expect is set.
	if _, err := c.Do(t.Context(), Request{Method: "GET", Path: "/x", Expect: []int{201}}, nil); apierror.StatusCode(err) != 200 {
		t.Errorf("unexpected 200: %v", err)
	}
	c.BodyErrorFunc = func(b []byte) string {
		var m struct {
			ErrorMessage string `json:"error_message"`
		}
		_ = json.Unmarshal(b, &m)
		return m.ErrorMessage
	}
	if _, err := c.Do(t.Context(), Request{Method: "POST", Path: "/x", Query: url.Values{"mode": {"inbody"}}}, nil); apierror.StatusCode(err) != 200 {
		t.Errorf("in-body error: %v", err)
	}
	if _, err := New("localhost:8080", nil, 0); err == nil {
		t.Error("accepted a URL without a scheme")
	}
	if IsTransport(nil) {
		t.Error("nil is a transport error")
	}
}
