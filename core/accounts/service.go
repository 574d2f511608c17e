package accounts

import (
	"cmp"
	"context"
	"fmt"
	"net/mail"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
	"github.com/uptrace/bun"

	"github.com/ezscale/platform/core/apperr"
	"github.com/ezscale/platform/core/audit"
	"github.com/ezscale/platform/core/database"
	"github.com/ezscale/platform/core/notify"
	"github.com/ezscale/platform/core/ratelimit"
)

// Options configure the service (see config.Auth).
type Options struct {
	SessionTTL    time.Duration
	LoginLimit    int
	LoginWindow   time.Duration
	SignupLimit   int
	ResetTokenTTL time.Duration
	TOTPIssuer    string
	// PublicURL is where links in emails point.
	PublicURL string
	// ResetEmailLimit reset emails per recipient per ResetEmailWindow
	// (defaults 3 per hour); requests beyond it send nothing, silently.
	ResetEmailLimit  int
	ResetEmailWindow time.Duration
	// Now is the clock (default: the wall clock, UTC).
	Now func() time.Time
	// Secrets seals TOTP secrets at rest; without it two-factor
	// enrollment is unavailable.
	Secrets *Keyring
}

// DefaultOptions are the identity service's settings when nothing is
// configured: the configuration's defaults (config.Default) are composed
// from them, and New fills unset settings from them.
func DefaultOptions() Options {
	return Options{
		SessionTTL:       30 * 24 * time.Hour,
		LoginLimit:       10,
		LoginWindow:      15 * time.Minute,
		SignupLimit:      20,
		ResetTokenTTL:    time.Hour,
		TOTPIssuer:       "EZSCALE",
		ResetEmailLimit:  3,
		ResetEmailWindow: time.Hour,
	}
}

// Notifier sends the messages of identity events (verification and reset
// links, security notices) in the caller's transaction. *notify.Service
// implements it.
type Notifier interface {
	Notify(ctx context.Context, tx bun.Tx, ev notify.Event) error
}

// SignupHook runs in a signup's transaction, after the user, their account
// and the membership are written (the Discord community schedules its
// invite). An error rolls the signup back.
type SignupHook func(ctx context.Context, tx bun.Tx, userID, accountID string) error

// Service is the identity service.
type Service struct {
	db      *database.DB
	notify  Notifier
	signup  []SignupHook
	limiter *ratelimit.Limiter
	opts    Options
	now     func() time.Time
	live    LiveServices
}

// New returns the identity service.
func New(db *database.DB, n Notifier, limiter *ratelimit.Limiter, opts Options) *Service {
	d := DefaultOptions()
	opts.SessionTTL = cmp.Or(max(opts.SessionTTL, 0), d.SessionTTL)
	opts.LoginLimit = cmp.Or(max(opts.LoginLimit, 0), d.LoginLimit)
	opts.LoginWindow = cmp.Or(max(opts.LoginWindow, 0), d.LoginWindow)
	opts.SignupLimit = cmp.Or(max(opts.SignupLimit, 0), d.SignupLimit)
	opts.ResetTokenTTL = cmp.Or(max(opts.ResetTokenTTL, 0), d.ResetTokenTTL)
	opts.TOTPIssuer = cmp.Or(opts.TOTPIssuer, d.TOTPIssuer)
	opts.ResetEmailLimit = cmp.Or(max(opts.ResetEmailLimit, 0), d.ResetEmailLimit)
	opts.ResetEmailWindow = cmp.Or(max(opts.ResetEmailWindow, 0), d.ResetEmailWindow)
	now := opts.Now
	if now == nil {
		now = func() time.Time { return time.Now().UTC() }
	}
	return &Service{db: db, notify: n, limiter: limiter, opts: opts, now: now}
}

// security tells the user about a security event on their account, with
// where the request came from.
func (s *Service) security(ctx context.Context, tx bun.Tx, userID string, t notify.Type, ip, userAgent string) error {
	return s.securityWith(ctx, tx, userID, t, ip, userAgent, nil)
}

// securityWith is security with more template data.
func (s *Service) securityWith(ctx context.Context, tx bun.Tx, userID string, t notify.Type, ip, userAgent string, extra map[string]any) error {
	meta := audit.MetaFrom(ctx)
	if ip == "" {
		ip, userAgent = meta.IP, meta.UserAgent
	}
	data := map[string]any{"ip": ip, "user_agent": userAgent}
	for k, v := range extra {
		data[k] = v
	}
	return s.notify.Notify(ctx, tx, notify.Event{Type: t, UserIDs: []string{userID}, Link: "/account/security", Data: data})
}

func newID() string { return uuid.Must(uuid.NewV7()).String() }

// reader is the handle for a read under ctx: the ambient transaction when
// there is one (it must see its own writes), else the read pool. On SQLite
// that keeps plain reads (every GET /api/v1/me, every login's user lookup)
// from queueing behind writers for the single write connection.
func (s *Service) reader(ctx context.Context) bun.IDB {
	if tx, ok := database.TxFrom(ctx); ok {
		return tx
	}
	return s.db.Read
}

// Password rules: long enough and not guessable (see guessable), short
// enough that hashing it cannot be used to exhaust the CPU.
const (
	minPasswordLen = 10
	maxPasswordLen = 256
)

func checkPassword(field, pw, email string) *apperr.Error {
	switch {
	case utf8.RuneCountInString(pw) < minPasswordLen:
		return apperr.Field(field, "must be at least %d characters", minPasswordLen)
	case len(pw) > maxPasswordLen:
		return apperr.Field(field, "must be at most %d bytes", maxPasswordLen)
	case email != "" && strings.EqualFold(pw, email):
		return apperr.Field(field, "must not be your email address")
	case guessable(pw, email):
		return apperr.Field(field, "is too easy to guess (a common password, word or pattern); use a passphrase of several unrelated words")
	}
	return nil
}

// NormalizeEmail validates and lower-cases an email address.
func NormalizeEmail(field, email string) (string, error) {
	email = strings.TrimSpace(email)
	addr, err := mail.ParseAddress(email)
	if err != nil || addr.Address != email || len(email) > 254 || !strings.Contains(email, "@") {
		return "", apperr.Field(field, "must be an email address such as name@example.com")
	}
	return strings.ToLower(email), nil
}

// SignupInput is a new customer's request.
type SignupInput struct {
	Email       string
	Password    string
	AccountName string
	IP          string
}

// Signup creates a user, their account (as owner) and an email verification
// message. Anyone may call it; it is rate-limited per IP.
// Errors: Invalid (fields), Conflict (email taken), RateLimited.
func (s *Service) Signup(ctx context.Context, in SignupInput) (*User, *Account, error) {
	email, err := NormalizeEmail("email", in.Email)
	if err != nil {
		return nil, nil, err
	}
	if perr := checkPassword("password", in.Password, email); perr != nil {
		return nil, nil, perr
	}
	name := strings.TrimSpace(in.AccountName)
	if name == "" {
		name = email
	}
	if len(name) > 200 {
		return nil, nil, apperr.Field("account_name", "must be at most 200 characters")
	}
	if in.IP != "" {
		ok, retry, err := s.limiter.Hit(ctx, "signup:ip:"+in.IP, ratelimit.Rule{Limit: s.opts.SignupLimit, Window: s.opts.LoginWindow})
		if err != nil {
			return nil, nil, err
		}
		if !ok {
			return nil, nil, &apperr.Error{Code: apperr.RateLimited, Message: "too many signups from this address", RetryAfter: retry}
		}
	}
	hash, err := HashPassword(in.Password)
	if err != nil {
		return nil, nil, err
	}
	now := s.now()
	u := &User{ID: newID(), Email: email, PasswordHash: hash, CreatedAt: now, UpdatedAt: now}
	a := &Account{ID: newID(), Name: name, CreatedAt: now, UpdatedAt: now}
	err = s.db.Tx(ctx, func(ctx context.Context, tx bun.Tx) error {
		if _, err := tx.NewInsert().Model(u).Exec(ctx); err != nil {
			if database.IsUniqueViolation(err) {
				return apperr.New(apperr.Conflict, "an account with this email already exists").WithReason("email_taken")
			}
			return fmt.Errorf("accounts: inserting user: %w", err)
		}
		if _, err := tx.NewInsert().Model(a).Exec(ctx); err != nil {
			return fmt.Errorf("accounts: inserting account: %w", err)
		}
		m := &Membership{AccountID: a.ID, UserID: u.ID, Role: RoleOwner, CreatedAt: now}
		if _, err := tx.NewInsert().Model(m).Exec(ctx); err != nil {
			return fmt.Errorf("accounts: inserting membership: %w", err)
		}
		if err := s.sendVerification(ctx, tx, u); err != nil {
			return err
		}
		for _, h := range s.signup {
			if err := h(ctx, tx, u.ID, a.ID); err != nil {
				return err
			}
		}
		_, err := audit.Append(ctx, tx, audit.Event{
			Action: "auth.signup", AccountID: a.ID, TargetType: "user", TargetID: u.ID,
			ActorType: audit.ActorUser, ActorID: u.ID,
			Changes: map[string]any{"email": email, "account_name": name},
		})
		return err
	})
	if err != nil {
		return nil, nil, err
	}
	return u, a, nil
}

// CreateStaff creates a staff user (the first one through `ezscale admin
// create`). Errors: Invalid, Conflict.
func (s *Service) CreateStaff(ctx context.Context, email, password, role string) (*User, error) {
	email, err := NormalizeEmail("email", email)
	if err != nil {
		return nil, err
	}
	if _, ok := staffRank[role]; !ok {
		return nil, apperr.Field("role", "must be support, admin or owner")
	}
	if perr := checkPassword("password", password, email); perr != nil {
		return nil, perr
	}
	hash, err := HashPassword(password)
	if err != nil {
		return nil, err
	}
	now := s.now()
	// Created by the operator at the console: the address is theirs.
	u := &User{ID: newID(), Email: email, PasswordHash: hash, StaffRole: &role, EmailVerifiedAt: &now, CreatedAt: now, UpdatedAt: now}
	err = s.db.Tx(ctx, func(ctx context.Context, tx bun.Tx) error {
		if _, err := tx.NewInsert().Model(u).Exec(ctx); err != nil {
			if database.IsUniqueViolation(err) {
				return apperr.New(apperr.Conflict, "a user with this email already exists").WithReason("email_taken")
			}
			return fmt.Errorf("accounts: inserting staff user: %w", err)
		}
		_, err := audit.Append(ctx, tx, audit.Event{
			Action: "staff.create", TargetType: "user", TargetID: u.ID,
			Changes: map[string]any{"email": email, "staff_role": role},
		})
		return err
	})
	if err != nil {
		return nil, err
	}
	return u, nil
}

// LoginInput is a login attempt.
type LoginInput struct {
	Email        string
	Password     string
	TOTPCode     string
	RecoveryCode string
	IP           string
	UserAgent    string
}

// Session is a new session token; Token is shown once.
type Session struct {
	Token     string
	TokenID   string
	ExpiresAt time.Time
}

// Login checks credentials (and the second factor when enabled) and opens a
// session. Every attempt counts against the client IP's limit; failures
// slow the account down (see throttle.go) without locking out a user who
// has the password and a second factor. Errors: Unauthenticated (reason
// invalid_credentials, totp_required, invalid_totp, invalid_recovery_code),
// RateLimited.
func (s *Service) Login(ctx context.Context, in LoginInput) (*Session, *User, error) {
	rule := ratelimit.Rule{Limit: s.opts.LoginLimit, Window: s.opts.LoginWindow}
	email := strings.ToLower(strings.TrimSpace(in.Email))
	if in.IP != "" {
		ok, retry, err := s.limiter.Hit(ctx, "login:ip:"+in.IP, rule)
		if err != nil {
			return nil, nil, err
		}
		if !ok {
			return nil, nil, s.refuse(ctx, email, "", "rate_limited", &apperr.Error{Code: apperr.RateLimited, Message: "too many login attempts from this address", RetryAfter: retry})
		}
	}
	until, err := s.slowedUntil(ctx, email)
	if err != nil {
		return nil, nil, err
	}
	slowed := !until.IsZero()
	slowErr := func(until time.Time) *apperr.Error {
		return &apperr.Error{Code: apperr.RateLimited, RetryAfter: s.retryAfter(until),
			Message: "too many failed logins for this account: wait, or sign in with the password and a two-factor code"}
	}
	if slowed && in.TOTPCode == "" && in.RecoveryCode == "" {
		// Refused unread: only a second factor passes the slowdown.
		return nil, nil, s.refuse(ctx, email, "", "slowed", slowErr(until))
	}
	fail := func(userID, reason string, e *apperr.Error) (*Session, *User, error) {
		next, err := s.loginFailed(ctx, email)
		if err != nil {
			return nil, nil, err
		}
		if slowed {
			// An early attempt learns nothing about what was wrong.
			e = slowErr(next)
		}
		return nil, nil, s.refuse(ctx, email, userID, reason, e)
	}
	badCreds := apperr.New(apperr.Unauthenticated, "email or password is incorrect").WithReason("invalid_credentials")

	u := &User{}
	err = s.reader(ctx).NewSelect().Model(u).Where("email = ?", email).Scan(ctx)
	if database.IsNoRows(err) {
		_, _ = CheckPassword(dummyHash, in.Password)
		return fail("", "unknown_user", badCreds)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("accounts: loading user: %w", err)
	}
	match, err := CheckPassword(u.PasswordHash, in.Password)
	if err != nil {
		return nil, nil, err
	}
	if !match {
		return fail(u.ID, "bad_password", badCreds)
	}
	if u.DisabledAt != nil {
		return fail(u.ID, "disabled", badCreds)
	}
	switch {
	case u.TOTPEnabled && in.TOTPCode != "":
		if ok, err := s.useTOTP(ctx, u, in.TOTPCode); err != nil {
			return nil, nil, err
		} else if !ok {
			return fail(u.ID, "bad_totp", apperr.New(apperr.Unauthenticated, "the two-factor code is incorrect or was already used").WithReason("invalid_totp"))
		}
	case u.TOTPEnabled && in.RecoveryCode != "":
		if ok, err := s.useRecoveryCode(ctx, u.ID, in.RecoveryCode); err != nil {
			return nil, nil, err
		} else if !ok {
			return fail(u.ID, "bad_recovery_code", apperr.New(apperr.Unauthenticated, "the recovery code is incorrect or was already used").WithReason("invalid_recovery_code"))
		}
	case u.TOTPEnabled:
		// Not a failure of the password: the client asks for the code.
		return nil, nil, apperr.New(apperr.Unauthenticated, "a two-factor code is required").WithReason("totp_required")
	case slowed:
		// No second factor to pass the slowdown with: wait like anyone.
		return nil, nil, s.refuse(ctx, email, u.ID, "slowed", slowErr(until))
	}
	sess, err := s.openSession(ctx, u, in.IP, in.UserAgent)
	if err != nil {
		return nil, nil, err
	}
	if err := s.loginSucceeded(ctx, email); err != nil {
		return nil, nil, err
	}
	return sess, u, nil
}

// retryAfter is the wait until t in whole seconds, at least one.
func (s *Service) retryAfter(t time.Time) time.Duration {
	d := t.Sub(s.now())
	if d < time.Second {
		return time.Second
	}
	return d.Round(time.Second)
}

// reauthFailed records a failed authentication inside a request that will
// fail (a wrong current password, a wrong two-factor code, an unknown or
// used link) as a detached audit event, and returns e. userID is the user
// concerned, when known.
func (s *Service) reauthFailed(ctx context.Context, action, userID, reason string, e error) error {
	ev := audit.Event{Action: action, Result: audit.Failure, Changes: map[string]any{"reason": reason}}
	if userID != "" {
		ev.TargetType, ev.TargetID = "user", userID
	}
	if err := audit.LogDetached(ctx, s.db, ev, nil); err != nil {
		return err
	}
	return e
}

// refuse audits a failed authentication and returns e.
func (s *Service) refuse(ctx context.Context, email, userID, reason string, e *apperr.Error) error {
	actorType := audit.ActorAnonymous
	if userID != "" {
		actorType = audit.ActorUser
	}
	err := audit.LogDetached(ctx, s.db, audit.Event{
		Action: "auth.login", Result: audit.Failure, TargetType: "user", TargetID: userID,
		ActorType: actorType, ActorID: userID,
		Changes: map[string]any{"email": email, "reason": reason},
	}, nil)
	if err != nil {
		return err
	}
	return e
}

func (s *Service) openSession(ctx context.Context, u *User, ip, ua string) (*Session, error) {
	secret := newSecret(prefixSession)
	now := s.now()
	exp := now.Add(s.opts.SessionTTL)
	t := &APIToken{
		ID: newID(), UserID: u.ID, Kind: KindSession, TokenHash: hashSecret(secret),
		Prefix: secret[:len(prefixSession)+4], CreatedAt: now, ExpiresAt: &exp, IP: ip, UserAgent: database.Text(ua, 300),
	}
	err := s.db.Tx(ctx, func(ctx context.Context, tx bun.Tx) error {
		// A sign-in from an address none of the user's sessions came from
		// is news to them (the very first sign-in is not).
		var seenBefore, seenHere bool
		if err := tx.NewRaw("SELECT EXISTS (SELECT 1 FROM api_tokens WHERE user_id = ? AND kind = ?), "+
			"EXISTS (SELECT 1 FROM api_tokens WHERE user_id = ? AND kind = ? AND ip = ?)",
			u.ID, KindSession, u.ID, KindSession, ip).Scan(ctx, &seenBefore, &seenHere); err != nil {
			return fmt.Errorf("accounts: checking previous sessions: %w", err)
		}
		if _, err := tx.NewInsert().Model(t).Exec(ctx); err != nil {
			return fmt.Errorf("accounts: inserting session: %w", err)
		}
		if seenBefore && !seenHere {
			if err := s.security(ctx, tx, u.ID, notify.SecurityNewLogin, ip, ua); err != nil {
				return err
			}
		}
		_, err := audit.Append(ctx, tx, audit.Event{
			Action: "auth.login", TargetType: "session", TargetID: t.ID, ActorType: audit.ActorUser, ActorID: u.ID,
		})
		return err
	})
	if err != nil {
		return nil, err
	}
	return &Session{Token: secret, TokenID: t.ID, ExpiresAt: exp}, nil
}

// touchEvery bounds last_used_at writes to one per token per interval, so
// reads do not turn into writes on every request.
const touchEvery = time.Minute

// Authenticate resolves a bearer token. Errors: Unauthenticated.
func (s *Service) Authenticate(ctx context.Context, token string) (*Principal, error) {
	unauth := apperr.New(apperr.Unauthenticated, "missing, invalid or expired token").WithReason("invalid_token")
	if !strings.HasPrefix(token, prefixSession) && !strings.HasPrefix(token, prefixPersonal) {
		return nil, unauth
	}
	var row struct {
		APIToken `bun:",extend"`

		Email       string     `bun:"email"`
		StaffRole   *string    `bun:"staff_role"`
		TOTPEnabled bool       `bun:"totp_enabled"`
		DisabledAt  *time.Time `bun:"disabled_at"`
	}
	err := s.db.Read.NewSelect().Model(&row).
		ColumnExpr("t.*").ColumnExpr("u.email, u.staff_role, u.totp_enabled, u.disabled_at").
		ModelTableExpr("api_tokens AS t").
		Join("JOIN users AS u ON u.id = t.user_id").
		Where("t.token_hash = ?", hashSecret(token)).Scan(ctx)
	if database.IsNoRows(err) {
		return nil, unauth
	}
	if err != nil {
		return nil, fmt.Errorf("accounts: authenticating: %w", err)
	}
	now := s.now()
	if row.RevokedAt != nil || row.DisabledAt != nil || (row.ExpiresAt != nil && !now.Before(*row.ExpiresAt)) {
		return nil, unauth
	}
	if row.LastUsedAt == nil || now.Sub(*row.LastUsedAt) > touchEvery {
		if _, err := s.db.Conn(ctx).NewUpdate().Model((*APIToken)(nil)).Set("last_used_at = ?", now).Where("id = ?", row.ID).Exec(ctx); err != nil {
			return nil, fmt.Errorf("accounts: touching token: %w", err)
		}
	}
	p := &Principal{
		UserID: row.UserID, Email: row.Email, TokenID: row.ID, TokenKind: row.Kind,
		TOTPEnabled: row.TOTPEnabled,
	}
	if row.Scopes != "" {
		p.Scopes = strings.Fields(row.Scopes)
	}
	if row.StaffRole != nil {
		p.StaffRole = *row.StaffRole
	}
	return p, nil
}

// Logout revokes the session the principal is using.
func (s *Service) Logout(ctx context.Context, p *Principal) error {
	return s.db.Tx(ctx, func(ctx context.Context, tx bun.Tx) error {
		if _, err := tx.NewUpdate().Model((*APIToken)(nil)).Set("revoked_at = ?", s.now()).
			Where("id = ?", p.TokenID).Where("revoked_at IS NULL").Exec(ctx); err != nil {
			return fmt.Errorf("accounts: revoking session: %w", err)
		}
		_, err := audit.Append(ctx, tx, audit.Event{Action: "auth.logout", TargetType: "session", TargetID: p.TokenID})
		return err
	})
}

// revokeSessions revokes every session of a user except keepID.
func (s *Service) revokeSessions(ctx context.Context, tx bun.Tx, userID, keepID string) error {
	q := tx.NewUpdate().Model((*APIToken)(nil)).Set("revoked_at = ?", s.now()).
		Where("user_id = ?", userID).Where("kind = ?", KindSession).Where("revoked_at IS NULL")
	if keepID != "" {
		q = q.Where("id <> ?", keepID)
	}
	if _, err := q.Exec(ctx); err != nil {
		return fmt.Errorf("accounts: revoking sessions: %w", err)
	}
	return nil
}

// revokeAllTokens revokes every session and personal token of a user and
// returns how many personal tokens it revoked.
func (s *Service) revokeAllTokens(ctx context.Context, tx bun.Tx, userID string) (int, error) {
	var personal int
	if err := tx.NewSelect().Model((*APIToken)(nil)).ColumnExpr("COUNT(*)").Where("user_id = ?", userID).
		Where("kind = ?", KindPersonal).Where("revoked_at IS NULL").Scan(ctx, &personal); err != nil {
		return 0, fmt.Errorf("accounts: counting tokens: %w", err)
	}
	if _, err := tx.NewUpdate().Model((*APIToken)(nil)).Set("revoked_at = ?", s.now()).
		Where("user_id = ?", userID).Where("revoked_at IS NULL").Exec(ctx); err != nil {
		return 0, fmt.Errorf("accounts: revoking tokens: %w", err)
	}
	return personal, nil
}

// liveTokens describes the user's personal tokens that still work, for the
// password-changed message.
func (s *Service) liveTokens(ctx context.Context, tx bun.Tx, userID string) ([]map[string]any, error) {
	var toks []APIToken
	if err := tx.NewSelect().Model(&toks).Where("user_id = ?", userID).Where("kind = ?", KindPersonal).
		Where("revoked_at IS NULL").WhereGroup(" AND ", func(q *bun.SelectQuery) *bun.SelectQuery {
		return q.Where("expires_at IS NULL").WhereOr("expires_at > ?", s.now())
	}).Order("id ASC").Scan(ctx); err != nil {
		return nil, fmt.Errorf("accounts: listing tokens: %w", err)
	}
	out := make([]map[string]any, len(toks))
	for i, t := range toks {
		lastUsed := "never"
		if t.LastUsedAt != nil {
			lastUsed = t.LastUsedAt.UTC().Format("2006-01-02")
		}
		out[i] = map[string]any{"name": t.Name, "prefix": t.Prefix, "scopes": t.Scopes, "last_used": lastUsed,
			"created": t.CreatedAt.UTC().Format("2006-01-02")}
	}
	return out, nil
}

// User loads a user by id. Errors: NotFound.
func (s *Service) User(ctx context.Context, id string) (*User, error) {
	u := &User{}
	err := s.reader(ctx).NewSelect().Model(u).Where("id = ?", id).Scan(ctx)
	if database.IsNoRows(err) {
		return nil, apperr.NotFoundf("no such user")
	}
	if err != nil {
		return nil, fmt.Errorf("accounts: loading user: %w", err)
	}
	return u, nil
}

// OnSignup registers h to run in every signup's transaction (core/app
// registers every such reaction in one place). Not safe to call once
// requests are served.
func (s *Service) OnSignup(h SignupHook) { s.signup = append(s.signup, h) }

// PrimaryAccount is the account the user joined first ("" when none).
func (s *Service) PrimaryAccount(ctx context.Context, userID string) (string, error) {
	var ids []string
	err := s.db.Read.NewSelect().Model((*Membership)(nil)).Column("account_id").Where("user_id = ?", userID).
		Order("created_at ASC", "account_id ASC").Limit(1).Scan(ctx, &ids)
	if err != nil {
		return "", fmt.Errorf("accounts: finding the primary account of %s: %w", userID, err)
	}
	if len(ids) == 0 {
		return "", nil
	}
	return ids[0], nil
}

// Customer is what other domains tell third parties (a provisioner, a
// payment gateway) about an account: its name and its first owner's
// address.
type Customer struct {
	AccountID string `bun:"id"`
	Name      string `bun:"name"`
	Email     string `bun:"email"`
}

// Customers returns the accounts among ids as customers, as db sees them;
// unknown ids are absent.
func (s *Service) Customers(ctx context.Context, db bun.IDB, accountIDs []string) (map[string]Customer, error) {
	out := make(map[string]Customer, len(accountIDs))
	if len(accountIDs) == 0 {
		return out, nil
	}
	var rows []Customer
	err := db.NewSelect().TableExpr("accounts AS a").ColumnExpr("a.id, a.name").
		ColumnExpr("(SELECT u.email FROM memberships m JOIN users u ON u.id = m.user_id WHERE m.account_id = a.id AND m.role = ? ORDER BY m.created_at LIMIT 1) AS email", RoleOwner).
		Where("a.id IN (?)", bun.List(accountIDs)).Scan(ctx, &rows)
	if err != nil {
		return nil, fmt.Errorf("accounts: loading %d customers: %w", len(accountIDs), err)
	}
	for _, c := range rows {
		out[c.AccountID] = c
	}
	return out, nil
}

// AccountIDsOf lists the accounts the user is a member of.
func (s *Service) AccountIDsOf(ctx context.Context, userID string) ([]string, error) {
	var ids []string
	err := s.db.Read.NewSelect().Model((*Membership)(nil)).Column("account_id").Where("user_id = ?", userID).
		Order("account_id").Scan(ctx, &ids)
	if err != nil {
		return nil, fmt.Errorf("accounts: listing the accounts of %s: %w", userID, err)
	}
	return ids, nil
}

// LoginSecurity is what a user has done to secure their login.
type LoginSecurity struct {
	EmailVerified bool
	TwoFactor     bool
}

// SecurityOf reports, as db sees it, whether the user verified their email
// and turned two-factor on. Errors: NotFound.
func (s *Service) SecurityOf(ctx context.Context, db bun.IDB, userID string) (LoginSecurity, error) {
	u := &User{}
	err := db.NewSelect().Model(u).Column("email_verified_at", "totp_enabled").Where("id = ?", userID).Scan(ctx)
	if database.IsNoRows(err) {
		return LoginSecurity{}, apperr.NotFoundf("no such user")
	}
	if err != nil {
		return LoginSecurity{}, fmt.Errorf("accounts: reading the security of %s: %w", userID, err)
	}
	return LoginSecurity{EmailVerified: u.EmailVerifiedAt != nil, TwoFactor: u.TOTPEnabled}, nil
}

// FirstOwner is the account's first owner as db sees it ("" when it has
// none).
func (s *Service) FirstOwner(ctx context.Context, db bun.IDB, accountID string) (string, error) {
	var ids []string
	err := db.NewSelect().Model((*Membership)(nil)).Column("user_id").Where("account_id = ?", accountID).
		Where("role = ?", RoleOwner).Order("created_at ASC", "user_id ASC").Limit(1).Scan(ctx, &ids)
	if err != nil {
		return "", fmt.Errorf("accounts: finding the owner of %s: %w", accountID, err)
	}
	if len(ids) == 0 {
		return "", nil
	}
	return ids[0], nil
}

// MemberIDs lists the users of an account.
func (s *Service) MemberIDs(ctx context.Context, accountID string) ([]string, error) {
	var ids []string
	err := s.db.Read.NewSelect().Model((*Membership)(nil)).Column("user_id").Where("account_id = ?", accountID).
		Order("user_id ASC").Scan(ctx, &ids)
	if err != nil {
		return nil, fmt.Errorf("accounts: listing the members of %s: %w", accountID, err)
	}
	return ids, nil
}

// Memberships lists the accounts a user belongs to, by account name.
func (s *Service) Memberships(ctx context.Context, userID string) ([]Membership, error) {
	var out []Membership
	err := s.db.Read.NewSelect().Model(&out).ModelTableExpr("memberships AS m").
		ColumnExpr("m.*").ColumnExpr("a.name AS account_name, a.created_at AS account_created_at").
		Join("JOIN accounts AS a ON a.id = m.account_id").
		Where("m.user_id = ?", userID).OrderExpr("a.name ASC, a.id ASC").Scan(ctx)
	if err != nil {
		return nil, fmt.Errorf("accounts: listing memberships: %w", err)
	}
	return out, nil
}

// ChangePassword replaces the password after checking the current one,
// revokes every other session (personal tokens stay) and tells the user,
// listing the personal tokens that still work. Errors: Invalid.
func (s *Service) ChangePassword(ctx context.Context, p *Principal, current, next string) error {
	u, err := s.User(ctx, p.UserID)
	if err != nil {
		return err
	}
	ok, err := CheckPassword(u.PasswordHash, current)
	if err != nil {
		return err
	}
	if !ok {
		return s.reauthFailed(ctx, "user.password.change", u.ID, "bad_password", apperr.Field("current_password", "is incorrect"))
	}
	if perr := checkPassword("new_password", next, u.Email); perr != nil {
		return perr
	}
	hash, err := HashPassword(next)
	if err != nil {
		return err
	}
	return s.db.Tx(ctx, func(ctx context.Context, tx bun.Tx) error {
		if _, err := tx.NewUpdate().Model((*User)(nil)).Set("password_hash = ?", hash).Set("updated_at = ?", s.now()).
			Where("id = ?", u.ID).Exec(ctx); err != nil {
			return fmt.Errorf("accounts: updating password: %w", err)
		}
		if err := s.revokeSessions(ctx, tx, u.ID, p.TokenID); err != nil {
			return err
		}
		// Personal tokens outlive a password change (automation keeps
		// working); the user is told which, so a stranger's is noticed.
		live, err := s.liveTokens(ctx, tx, u.ID)
		if err != nil {
			return err
		}
		if err := s.securityWith(ctx, tx, u.ID, notify.SecurityPasswordChanged, "", "", map[string]any{"tokens": live, "reset": false}); err != nil {
			return err
		}
		_, err = audit.Append(ctx, tx, audit.Event{Action: "user.password.change", TargetType: "user", TargetID: u.ID,
			Changes: map[string]any{"tokens_kept": len(live)}})
		return err
	})
}
