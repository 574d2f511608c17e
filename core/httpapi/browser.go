package httpapi

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"net/http"
	"net/url"
	"time"

	"github.com/ezscale/platform/core/accounts"
	"github.com/ezscale/platform/core/apperr"
)

// Browser sessions: the console logs in with POST /api/v1/auth/session,
// which keeps the session token in an HttpOnly cookie that page scripts
// cannot read, instead of handing it to them. The API accepts that cookie
// where a bearer token is missing, on every route that needs a user.
//
// Cookie-authenticated requests that change state carry a CSRF proof: the
// X-CSRF-Token header must hold the session's CSRF token, a one-way digest
// of the session token that the login answer returns and that a second,
// script-readable cookie repeats for page reloads. Another site can neither
// read that cookie nor set a custom header on a cross-site form post, so
// such a post is refused even by a browser that would send the session
// cookie along (the cookie is SameSite=Strict, so current browsers do not).
const (
	// SessionCookie holds the session token (HttpOnly, path /api/).
	SessionCookie = "ezscale_session"
	// CSRFCookie repeats the session's CSRF token for the console's
	// scripts (readable, path /).
	CSRFCookie = "ezscale_csrf"
	// CSRFHeader carries the CSRF token on state-changing requests.
	CSRFHeader = "X-CSRF-Token"
)

func (s *Server) registerBrowserSessions() {
	s.Handle(Route{Method: "POST", Path: "/api/v1/auth/session", Auth: Public, Handler: s.browserLogin})
	s.Handle(Route{Method: "DELETE", Path: "/api/v1/auth/session", Auth: User, Handler: s.browserLogout})
}

// CSRFToken returns the CSRF token of a session token: a digest that
// names the session without revealing it.
func CSRFToken(sessionToken string) string {
	sum := sha256.Sum256([]byte("ezscale csrf\x00" + sessionToken))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// secureCookies reports whether cookies get the Secure attribute: when
// the console is served over https.
func (s *Server) secureCookies() bool {
	u, err := url.Parse(s.opts.PublicURL)
	return err == nil && u.Scheme == "https"
}

func (s *Server) setSessionCookies(w http.ResponseWriter, token string, expires time.Time) {
	secure := s.secureCookies()
	http.SetCookie(w, &http.Cookie{Name: SessionCookie, Value: token, Path: "/api/", Expires: expires,
		HttpOnly: true, Secure: secure, SameSite: http.SameSiteStrictMode})
	http.SetCookie(w, &http.Cookie{Name: CSRFCookie, Value: CSRFToken(token), Path: "/", Expires: expires,
		Secure: secure, SameSite: http.SameSiteStrictMode})
}

func (s *Server) clearSessionCookies(w http.ResponseWriter) {
	secure := s.secureCookies()
	http.SetCookie(w, &http.Cookie{Name: SessionCookie, Value: "", Path: "/api/", MaxAge: -1,
		HttpOnly: true, Secure: secure, SameSite: http.SameSiteStrictMode})
	http.SetCookie(w, &http.Cookie{Name: CSRFCookie, Value: "", Path: "/", MaxAge: -1,
		Secure: secure, SameSite: http.SameSiteStrictMode})
}

// credential returns the request's token and whether it came from the
// session cookie. Public routes ignore the cookie: they need no user, and a
// stale cookie must not count as a guessed token on the login page.
func credential(r *http.Request, rt Route) (token string, ok, viaCookie bool) {
	if token, ok = bearerToken(r); ok || rt.Auth == Public {
		return token, ok, false
	}
	c, err := r.Cookie(SessionCookie)
	if err != nil || c.Value == "" {
		return "", false, false
	}
	return c.Value, true, true
}

// checkCookieRequest applies the rules for a cookie-authenticated request:
// only login sessions live in the cookie, and unsafe methods need the CSRF
// proof.
func (s *Server) checkCookieRequest(r *http.Request, p *accounts.Principal, token string) error {
	if p.TokenKind != accounts.KindSession {
		s.auditDenied(r, "cookie_not_session")
		return apperr.New(apperr.Unauthenticated, "the session cookie does not hold a login session").WithReason("invalid_token")
	}
	switch r.Method {
	case http.MethodGet, http.MethodHead, http.MethodOptions:
		return nil
	}
	got := r.Header.Get(CSRFHeader)
	if got == "" || subtle.ConstantTimeCompare([]byte(got), []byte(CSRFToken(token))) != 1 {
		s.auditDenied(r, "csrf_failed")
		return apperr.New(apperr.Forbidden, "a request authenticated by the session cookie needs the %s header from the %s cookie", CSRFHeader, CSRFCookie).WithReason("csrf_failed")
	}
	return nil
}

// browserSessionView is the answer of POST /api/v1/auth/session: the
// session's expiry and CSRF token, never the session token.
type browserSessionView struct {
	ExpiresAt time.Time `json:"expires_at"`
	CSRFToken string    `json:"csrf_token"`
	User      UserView  `json:"user"`
}

func (s *Server) browserLogin(w http.ResponseWriter, r *http.Request) error {
	sess, u, err := s.decodeAndLogin(r)
	if err != nil {
		return err
	}
	s.setSessionCookies(w, sess.Token, sess.ExpiresAt)
	return writeJSON(w, http.StatusOK, browserSessionView{ExpiresAt: sess.ExpiresAt, CSRFToken: CSRFToken(sess.Token), User: userView(u)})
}

func (s *Server) browserLogout(w http.ResponseWriter, r *http.Request) error {
	p := PrincipalFrom(r.Context())
	if p.TokenKind != accounts.KindSession {
		return apperr.New(apperr.Invalid, "personal tokens are revoked with DELETE /api/v1/me/tokens/{id}").WithReason("not_a_session")
	}
	if err := s.Accounts.Logout(r.Context(), p); err != nil {
		return err
	}
	s.clearSessionCookies(w)
	w.WriteHeader(http.StatusNoContent)
	return nil
}
