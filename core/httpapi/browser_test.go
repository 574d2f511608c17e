package httpapi_test

import (
	"net/http"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/ezscale/platform/config"
	"github.com/ezscale/platform/core/database"
	"github.com/ezscale/platform/core/database/databasetest"
	"github.com/ezscale/platform/core/httpapi"
)

// cookieOf returns the named Set-Cookie of a response.
func cookieOf(t *testing.T, r *response, name string) *http.Cookie {
	t.Helper()
	for _, c := range (&http.Response{Header: r.Header}).Cookies() {
		if c.Name == name {
			return c
		}
	}
	t.Fatalf("no %s cookie in %v", name, r.Header.Values("Set-Cookie"))
	return nil
}

// browserLogin opens a browser session and returns its session cookie
// header value and CSRF token.
func (tb *appBundle) browserLogin(t *testing.T, email, password string) (cookie, csrf string) {
	t.Helper()
	r := tb.client.do("POST", "/api/v1/auth/session", "", map[string]string{"email": email, "password": password}).want(t, http.StatusOK)
	var out map[string]any
	r.decode(t, &out)
	if _, leaked := out["token"]; leaked {
		t.Fatalf("the browser login answered the session token: %s", r.Body)
	}
	s, c := cookieOf(t, r, httpapi.SessionCookie), cookieOf(t, r, httpapi.CSRFCookie)
	if out["csrf_token"] != c.Value {
		t.Fatalf("csrf_token %v differs from the %s cookie %q", out["csrf_token"], httpapi.CSRFCookie, c.Value)
	}
	return httpapi.SessionCookie + "=" + s.Value, c.Value
}

// TestBrowserSessionCookie: the console's login keeps the session in an
// HttpOnly, SameSite=Strict cookie scoped to the API (Secure only over
// https), never in the answer; the API accepts the cookie instead of a
// bearer token; logging out revokes the session and clears the cookies.
func TestBrowserSessionCookie(t *testing.T) {
	t.Parallel()
	databasetest.EachURL(t, func(t *testing.T, d database.Dialect, url string) {
		tb := startApp(t, d, url)
		u := tb.signup(t, uniqueEmail("cookie"), "correct horse battery")
		r := tb.client.do("POST", "/api/v1/auth/session", "", map[string]string{"email": u.Email, "password": u.Password}).want(t, http.StatusOK)
		s, c := cookieOf(t, r, httpapi.SessionCookie), cookieOf(t, r, httpapi.CSRFCookie)
		type attrs struct {
			Path             string
			HttpOnly, Secure bool
			SameSite         http.SameSite
		}
		got := []attrs{{s.Path, s.HttpOnly, s.Secure, s.SameSite}, {c.Path, c.HttpOnly, c.Secure, c.SameSite}}
		want := []attrs{{"/api/", true, false, http.SameSiteStrictMode}, {"/", false, false, http.SameSiteStrictMode}}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("cookie attributes over http (-want +got):\n%s", diff)
		}
		cookie := httpapi.SessionCookie + "=" + s.Value

		tb.client.do("GET", "/api/v1/me", "", nil).wantProblem(t, http.StatusUnauthorized, "missing_token")
		var me meView
		tb.client.do("GET", "/api/v1/me", "", nil, "Cookie", cookie).want(t, http.StatusOK).decode(t, &me)
		if me.User.ID != u.ID || me.Token.Kind != "session" {
			t.Fatalf("GET /me by cookie = %+v", me)
		}

		out := tb.client.do("DELETE", "/api/v1/auth/session", "", nil, "Cookie", cookie, httpapi.CSRFHeader, c.Value).want(t, http.StatusNoContent)
		if sc := cookieOf(t, out, httpapi.SessionCookie); sc.MaxAge >= 0 || sc.Value != "" {
			t.Errorf("logout left the session cookie: %+v", sc)
		}
		// The revoked session is refused and the browser told to forget it.
		gone := tb.client.do("GET", "/api/v1/me", "", nil, "Cookie", cookie)
		gone.wantProblem(t, http.StatusUnauthorized, "invalid_token")
		if sc := cookieOf(t, gone, httpapi.SessionCookie); sc.MaxAge >= 0 {
			t.Errorf("a refused session cookie was not cleared: %+v", sc)
		}
	})
}

// TestBrowserSessionCookieSecureOverHTTPS: with an https public URL both
// cookies carry Secure.
func TestBrowserSessionCookieSecureOverHTTPS(t *testing.T) {
	t.Parallel()
	tb := startApp(t, database.SQLite, databasetest.URL(t, database.SQLite), func(c *config.Config) {
		c.Server.PublicURL = "https://portal.example.test"
	})
	u := tb.signup(t, uniqueEmail("secure"), "correct horse battery")
	r := tb.client.do("POST", "/api/v1/auth/session", "", map[string]string{"email": u.Email, "password": u.Password}).want(t, http.StatusOK)
	for _, name := range []string{httpapi.SessionCookie, httpapi.CSRFCookie} {
		if c := cookieOf(t, r, name); !c.Secure {
			t.Errorf("%s is not Secure over https", name)
		}
	}
}

// TestCrossSiteFormPostRefused: a state-changing request authenticated by
// the session cookie needs the CSRF header. A cross-site form post (form
// encoding, a foreign Origin, the cookie sent along as an old browser would)
// is refused 403 csrf_failed and changes nothing; a wrong token is refused
// the same way; the console's request with the header goes through, and
// bearer-token clients need no CSRF proof.
func TestCrossSiteFormPostRefused(t *testing.T) {
	t.Parallel()
	databasetest.EachURL(t, func(t *testing.T, d database.Dialect, url string) {
		tb := startApp(t, d, url)
		u := tb.signup(t, uniqueEmail("csrf"), "correct horse battery")
		cookie, csrf := tb.browserLogin(t, u.Email, u.Password)

		tb.client.do("POST", "/api/v1/auth/logout", "", raw("x=1"), "Cookie", cookie,
			"Content-Type", "application/x-www-form-urlencoded", "Origin", "https://evil.example").
			wantProblem(t, http.StatusForbidden, "csrf_failed")
		tb.client.do("POST", "/api/v1/auth/logout", "", nil, "Cookie", cookie, httpapi.CSRFHeader, httpapi.CSRFToken("another session")).
			wantProblem(t, http.StatusForbidden, "csrf_failed")
		// The session survived both.
		tb.client.do("GET", "/api/v1/me", "", nil, "Cookie", cookie).want(t, http.StatusOK)

		tb.client.do("POST", "/api/v1/auth/logout", "", nil, "Cookie", cookie, httpapi.CSRFHeader, csrf).want(t, http.StatusNoContent)
		tb.client.do("GET", "/api/v1/me", "", nil, "Cookie", cookie).wantProblem(t, http.StatusUnauthorized, "invalid_token")

		token := tb.login(t, u.Email, u.Password)
		tb.client.do("POST", "/api/v1/auth/logout", token, nil).want(t, http.StatusNoContent)

		// Nor can another site log a visitor into its own account: a form
		// cannot send JSON, and the browser login reads only JSON.
		r := tb.client.do("POST", "/api/v1/auth/session", "", raw("email="+u.Email+"&password=correct+horse+battery"),
			"Content-Type", "application/x-www-form-urlencoded", "Origin", "https://evil.example")
		r.wantProblem(t, http.StatusBadRequest, "unsupported_media_type")
		if c := r.Header.Values("Set-Cookie"); len(c) != 0 {
			t.Errorf("a cross-site form login set cookies: %v", c)
		}
	})
}
