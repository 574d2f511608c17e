package httpapi

import (
	"net/http"
	"time"

	"github.com/gorilla/mux"

	"github.com/ezscale/platform/core/accounts"
	"github.com/ezscale/platform/core/apperr"
)

func (s *Server) registerIdentity() {
	s.Handle(Route{Method: "POST", Path: "/api/v1/auth/signup", Auth: Public, Idempotent: true, Handler: s.signup})
	s.Handle(Route{Method: "POST", Path: "/api/v1/auth/login", Auth: Public, Handler: s.login})
	s.Handle(Route{Method: "POST", Path: "/api/v1/auth/logout", Auth: User, Handler: s.logout})
	s.Handle(Route{Method: "POST", Path: "/api/v1/auth/verify-email", Auth: Public, RateLimit: s.sensitive(), Handler: s.verifyEmail})
	s.Handle(Route{Method: "POST", Path: "/api/v1/auth/password-reset", Auth: Public, RateLimit: s.sensitive(), Handler: s.requestPasswordReset})
	s.Handle(Route{Method: "POST", Path: "/api/v1/auth/password-reset/confirm", Auth: Public, RateLimit: s.sensitive(), Handler: s.confirmPasswordReset})

	s.Handle(Route{Method: "GET", Path: "/api/v1/me", Auth: User, Scope: "account:read", Handler: s.me})
	s.Handle(Route{Method: "POST", Path: "/api/v1/me/password", Auth: User, Session: true, RateLimit: s.sensitive(), RateBucket: "password", Handler: s.changePassword})
	s.Handle(Route{Method: "POST", Path: "/api/v1/me/verify-email/resend", Auth: User, Scope: "account:write", RateLimit: s.sensitive(), Handler: s.resendVerification})
	s.Handle(Route{Method: "POST", Path: "/api/v1/me/2fa/enroll", Auth: User, Session: true, Handler: s.enrollTOTP})
	s.Handle(Route{Method: "POST", Path: "/api/v1/me/2fa/confirm", Auth: User, Session: true, RateLimit: s.sensitive(), RateBucket: "2fa", Handler: s.confirmTOTP})
	s.Handle(Route{Method: "POST", Path: "/api/v1/me/2fa/disable", Auth: User, Session: true, RateLimit: s.sensitive(), RateBucket: "2fa", Handler: s.disableTOTP})
	s.Handle(Route{Method: "POST", Path: "/api/v1/me/2fa/recovery-codes", Auth: User, Session: true, RateLimit: s.sensitive(), RateBucket: "2fa", Handler: s.regenerateRecoveryCodes})
	s.Handle(Route{Method: "GET", Path: "/api/v1/me/tokens", Auth: User, Scope: "account:read", Handler: s.listTokens})
	s.Handle(Route{Method: "POST", Path: "/api/v1/me/tokens", Auth: User, Session: true, Idempotent: true, Handler: s.createToken})
	s.Handle(Route{Method: "DELETE", Path: "/api/v1/me/tokens/{id}", Auth: User, Scope: "account:write", Handler: s.revokeToken})

	s.Handle(Route{Method: "GET", Path: "/api/v1/accounts", Auth: User, Scope: "account:read", Handler: s.listAccounts})
	s.Handle(Route{Method: "GET", Path: "/api/v1/accounts/{account_id}", Auth: User, Members: anyMember, StaffRole: accounts.StaffSupport, Scope: "account:read", Handler: s.getAccount})

	s.Handle(Route{Method: "GET", Path: "/api/v1/admin/users", Auth: Staff, StaffRole: accounts.StaffSupport, Scope: "admin:read", Handler: s.adminListUsers})
	s.Handle(Route{Method: "POST", Path: "/api/v1/admin/users/{id}/disable", Auth: Staff, StaffRole: accounts.StaffAdmin, Scope: "admin:write", HighRisk: &HighRisk{Action: "users.disable", TargetType: "user", TargetVar: "id"}, Handler: s.disableUser})
	s.Handle(Route{Method: "POST", Path: "/api/v1/admin/users/{id}/enable", Auth: Staff, StaffRole: accounts.StaffAdmin, Scope: "admin:write", HighRisk: &HighRisk{Action: "users.enable", TargetType: "user", TargetVar: "id"}, Handler: s.enableUser})
	s.Handle(Route{Method: "GET", Path: "/api/v1/admin/accounts", Auth: Staff, StaffRole: accounts.StaffSupport, Scope: "admin:read", Handler: s.adminListAccounts})
}

// UserView is the API shape of a user.
type UserView struct {
	ID            string    `json:"id"`
	Email         string    `json:"email"`
	EmailVerified bool      `json:"email_verified"`
	TOTPEnabled   bool      `json:"totp_enabled"`
	StaffRole     *string   `json:"staff_role"`
	CreatedAt     time.Time `json:"created_at"`
}

func userView(u *accounts.User) UserView {
	return UserView{ID: u.ID, Email: u.Email, EmailVerified: u.EmailVerifiedAt != nil, TOTPEnabled: u.TOTPEnabled, StaffRole: u.StaffRole, CreatedAt: u.CreatedAt}
}

// AccountView is the API shape of an account.
type AccountView struct {
	ID        string    `json:"id"`
	Name      string    `json:"name"`
	Role      string    `json:"role,omitempty"`
	CreatedAt time.Time `json:"created_at"`
}

// signupRequest is the body of POST /api/v1/auth/signup.
type signupRequest struct {
	Email       string `json:"email"`
	Password    string `json:"password"`
	AccountName string `json:"account_name"`
}

// loginRequest is the body of POST /api/v1/auth/login.
type loginRequest struct {
	Email        string `json:"email"`
	Password     string `json:"password"`
	TOTPCode     string `json:"totp_code"`
	RecoveryCode string `json:"recovery_code"`
}

// createTokenRequest is the body of POST /api/v1/me/tokens.
type createTokenRequest struct {
	Name      string     `json:"name"`
	Scopes    []string   `json:"scopes"`
	ExpiresAt *time.Time `json:"expires_at"`
}

func (s *Server) signup(w http.ResponseWriter, r *http.Request) error {
	var in signupRequest
	if err := Decode(r, &in); err != nil {
		return err
	}
	u, a, err := s.Accounts.Signup(r.Context(), accounts.SignupInput{Email: in.Email, Password: in.Password, AccountName: in.AccountName, IP: clientIP(r.Context())})
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, map[string]any{
		"user":    userView(u),
		"account": AccountView{ID: a.ID, Name: a.Name, Role: accounts.RoleOwner, CreatedAt: a.CreatedAt},
	})
}

// decodeAndLogin logs in with the credentials of a login request's body:
// the one path of POST /auth/login (a bearer token) and POST /auth/session
// (a browser cookie).
func (s *Server) decodeAndLogin(r *http.Request) (*accounts.Session, *accounts.User, error) {
	var in loginRequest
	if err := Decode(r, &in); err != nil {
		return nil, nil, err
	}
	return s.Accounts.Login(r.Context(), accounts.LoginInput{
		Email: in.Email, Password: in.Password, TOTPCode: in.TOTPCode, RecoveryCode: in.RecoveryCode,
		IP: clientIP(r.Context()), UserAgent: r.UserAgent(),
	})
}

func (s *Server) login(w http.ResponseWriter, r *http.Request) error {
	sess, u, err := s.decodeAndLogin(r)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, map[string]any{
		"token": sess.Token, "token_type": "Bearer", "expires_at": sess.ExpiresAt, "user": userView(u),
	})
}

func (s *Server) logout(w http.ResponseWriter, r *http.Request) error {
	p := PrincipalFrom(r.Context())
	if p.TokenKind != accounts.KindSession {
		return apperr.New(apperr.Invalid, "personal tokens are revoked with DELETE /api/v1/me/tokens/{id}").WithReason("not_a_session")
	}
	if err := s.Accounts.Logout(r.Context(), p); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) verifyEmail(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		Token string `json:"token"`
	}
	if err := Decode(r, &in); err != nil {
		return err
	}
	if err := s.Accounts.VerifyEmail(r.Context(), in.Token); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) requestPasswordReset(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		Email string `json:"email"`
	}
	if err := Decode(r, &in); err != nil {
		return err
	}
	if err := s.Accounts.RequestPasswordReset(r.Context(), in.Email); err != nil {
		return err
	}
	// The same answer whether or not the address has an account.
	return writeJSON(w, http.StatusAccepted, map[string]string{"status": "if the address has an account, a reset link is on its way"})
}

func (s *Server) confirmPasswordReset(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		Token       string `json:"token"`
		NewPassword string `json:"new_password"`
	}
	if err := Decode(r, &in); err != nil {
		return err
	}
	if err := s.Accounts.ResetPassword(r.Context(), in.Token, in.NewPassword); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) me(w http.ResponseWriter, r *http.Request) error {
	p := PrincipalFrom(r.Context())
	u, err := s.Accounts.User(r.Context(), p.UserID)
	if err != nil {
		return err
	}
	ms, err := s.Accounts.Memberships(r.Context(), p.UserID)
	if err != nil {
		return err
	}
	views := make([]AccountView, len(ms))
	for i, m := range ms {
		views[i] = AccountView{ID: m.AccountID, Name: m.AccountName, Role: m.Role, CreatedAt: m.AccountCreatedAt}
	}
	return writeJSON(w, http.StatusOK, map[string]any{"user": userView(u), "accounts": views, "token": map[string]any{"kind": p.TokenKind, "scopes": scopesOf(p)}})
}

func scopesOf(p *accounts.Principal) []string {
	if p.TokenKind == accounts.KindSession {
		out := append([]string{}, accounts.CustomerScopes...)
		if p.StaffRole != "" {
			out = append(out, accounts.StaffScopes...)
		}
		return out
	}
	if p.Scopes == nil {
		return []string{}
	}
	return p.Scopes
}

func (s *Server) changePassword(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		CurrentPassword string `json:"current_password"`
		NewPassword     string `json:"new_password"`
	}
	if err := Decode(r, &in); err != nil {
		return err
	}
	if err := s.Accounts.ChangePassword(r.Context(), PrincipalFrom(r.Context()), in.CurrentPassword, in.NewPassword); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) resendVerification(w http.ResponseWriter, r *http.Request) error {
	if err := s.Accounts.ResendVerification(r.Context(), PrincipalFrom(r.Context())); err != nil {
		return err
	}
	return writeJSON(w, http.StatusAccepted, map[string]string{"status": "a new verification link is on its way"})
}

func (s *Server) enrollTOTP(w http.ResponseWriter, r *http.Request) error {
	e, err := s.Accounts.EnrollTOTP(r.Context(), PrincipalFrom(r.Context()))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, map[string]string{"secret": e.Secret, "otpauth_url": e.URL})
}

func (s *Server) confirmTOTP(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		Code string `json:"code"`
	}
	if err := Decode(r, &in); err != nil {
		return err
	}
	codes, err := s.Accounts.ConfirmTOTP(r.Context(), PrincipalFrom(r.Context()), in.Code)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, map[string]any{"recovery_codes": codes})
}

func (s *Server) disableTOTP(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		Password string `json:"password"`
		Code     string `json:"code"`
	}
	if err := Decode(r, &in); err != nil {
		return err
	}
	if err := s.Accounts.DisableTOTP(r.Context(), PrincipalFrom(r.Context()), in.Password, in.Code); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) regenerateRecoveryCodes(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		Code string `json:"code"`
	}
	if err := Decode(r, &in); err != nil {
		return err
	}
	codes, err := s.Accounts.RegenerateRecoveryCodes(r.Context(), PrincipalFrom(r.Context()), in.Code)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, map[string]any{"recovery_codes": codes})
}

// TokenView is the API shape of a personal token (never its secret).
type TokenView struct {
	ID         string     `json:"id"`
	Name       string     `json:"name"`
	Prefix     string     `json:"prefix"`
	Scopes     []string   `json:"scopes"`
	CreatedAt  time.Time  `json:"created_at"`
	LastUsedAt *time.Time `json:"last_used_at"`
	ExpiresAt  *time.Time `json:"expires_at"`
}

func tokenView(t *accounts.APIToken) TokenView {
	scopes := splitScopes(t.Scopes)
	return TokenView{ID: t.ID, Name: t.Name, Prefix: t.Prefix, Scopes: scopes, CreatedAt: t.CreatedAt, LastUsedAt: t.LastUsedAt, ExpiresAt: t.ExpiresAt}
}

func (s *Server) listTokens(w http.ResponseWriter, r *http.Request) error {
	return writePage(w, r, func(after string, limit int) ([]accounts.APIToken, error) {
		return s.Accounts.ListTokens(r.Context(), PrincipalFrom(r.Context()), after, limit)
	}, tokenView, func(v TokenView) string { return v.ID })
}

func (s *Server) createToken(w http.ResponseWriter, r *http.Request) error {
	var in createTokenRequest
	if err := Decode(r, &in); err != nil {
		return err
	}
	nt, err := s.Accounts.CreateToken(r.Context(), PrincipalFrom(r.Context()), in.Name, in.Scopes, in.ExpiresAt)
	if err != nil {
		return err
	}
	v := tokenView(nt.Token)
	return writeJSON(w, http.StatusCreated, map[string]any{"token": nt.Secret, "api_token": v})
}

func (s *Server) revokeToken(w http.ResponseWriter, r *http.Request) error {
	if err := s.Accounts.RevokeToken(r.Context(), PrincipalFrom(r.Context()), mux.Vars(r)["id"]); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) listAccounts(w http.ResponseWriter, r *http.Request) error {
	ms, err := s.Accounts.Memberships(r.Context(), PrincipalFrom(r.Context()).UserID)
	if err != nil {
		return err
	}
	views := make([]AccountView, len(ms))
	for i, m := range ms {
		views[i] = AccountView{ID: m.AccountID, Name: m.AccountName, Role: m.Role, CreatedAt: m.AccountCreatedAt}
	}
	// A user belongs to few accounts: one page, no cursor.
	return writeJSON(w, http.StatusOK, List[AccountView]{Data: views})
}

func (s *Server) getAccount(w http.ResponseWriter, r *http.Request) error {
	a, acc, err := s.Accounts.Account(r.Context(), PrincipalFrom(r.Context()), mux.Vars(r)["account_id"])
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, AccountView{ID: a.ID, Name: a.Name, Role: acc.Role, CreatedAt: a.CreatedAt})
}

func (s *Server) disableUser(w http.ResponseWriter, r *http.Request) error {
	if err := s.Accounts.DisableUser(r.Context(), PrincipalFrom(r.Context()), mux.Vars(r)["id"]); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) enableUser(w http.ResponseWriter, r *http.Request) error {
	if err := s.Accounts.EnableUser(r.Context(), PrincipalFrom(r.Context()), mux.Vars(r)["id"]); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// StaffUserView is a user as staff see it: with whether it is disabled.
type StaffUserView struct {
	UserView
	Disabled   bool       `json:"disabled"`
	DisabledAt *time.Time `json:"disabled_at"`
	// Deleted: the user was deleted (anonymized) and stays disabled.
	Deleted bool `json:"deleted"`
}

// MemberView is one member of an account, as staff see it.
type MemberView struct {
	UserID string `json:"user_id"`
	Email  string `json:"email"`
	Role   string `json:"role"`
}

// StaffAccountView is an account with its members, as staff see it.
type StaffAccountView struct {
	ID        string       `json:"id"`
	Name      string       `json:"name"`
	CreatedAt time.Time    `json:"created_at"`
	Members   []MemberView `json:"members"`
}

// queryFlag reads an optional boolean query parameter.
func queryFlag(r *http.Request, name string) (*bool, error) {
	switch r.URL.Query().Get(name) {
	case "":
		return nil, nil
	case "true":
		v := true
		return &v, nil
	case "false":
		v := false
		return &v, nil
	}
	return nil, apperr.Field(name, "must be true or false")
}

func (s *Server) adminListUsers(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query().Get("q")
	if !validText(q) {
		return apperr.Field("q", "must be valid UTF-8 text without NUL characters")
	}
	staff, err := queryFlag(r, "staff")
	if err != nil {
		return err
	}
	disabled, err := queryFlag(r, "disabled")
	if err != nil {
		return err
	}
	f := accounts.UserFilter{Query: q, Staff: staff, Disabled: disabled}
	return writePage(w, r, func(after string, limit int) ([]accounts.User, error) {
		return s.Accounts.ListUsers(r.Context(), PrincipalFrom(r.Context()), f, after, limit)
	}, func(u *accounts.User) StaffUserView {
		return staffUserView(u)
	}, func(v StaffUserView) string { return v.ID })
}

func (s *Server) adminListAccounts(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query().Get("q")
	if !validText(q) {
		return apperr.Field("q", "must be valid UTF-8 text without NUL characters")
	}
	return writePage(w, r, func(after string, limit int) ([]accounts.AccountSummary, error) {
		return s.Accounts.ListAccounts(r.Context(), PrincipalFrom(r.Context()), q, after, limit)
	}, func(a *accounts.AccountSummary) StaffAccountView {
		v := StaffAccountView{ID: a.ID, Name: a.Name, CreatedAt: a.CreatedAt, Members: make([]MemberView, len(a.Members))}
		for i, m := range a.Members {
			v.Members[i] = MemberView{UserID: m.UserID, Email: m.Email, Role: m.Role}
		}
		return v
	}, func(v StaffAccountView) string { return v.ID })
}
