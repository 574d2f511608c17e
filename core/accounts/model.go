package accounts

import (
	"slices"
	"time"

	"github.com/uptrace/bun"
)

// Staff roles, in increasing power. Staff roles are separate from the
// customer roles a user holds in accounts.
const (
	StaffSupport = "support"
	StaffAdmin   = "admin"
	StaffOwner   = "owner"
)

var staffRank = map[string]int{StaffSupport: 1, StaffAdmin: 2, StaffOwner: 3}

// Customer roles within an account.
const (
	RoleOwner     = "owner"
	RoleAdmin     = "admin"
	RoleBilling   = "billing"
	RoleTechnical = "technical"
	RoleReadOnly  = "read_only"
)

// User is a login identity.
type User struct {
	bun.BaseModel `bun:"table:users"`

	ID              string     `bun:"id,pk"`
	Email           string     `bun:"email"`
	PasswordHash    string     `bun:"password_hash"`
	EmailVerifiedAt *time.Time `bun:"email_verified_at"`
	TOTPSecret      *string    `bun:"totp_secret"`
	TOTPEnabled     bool       `bun:"totp_enabled"`
	TOTPLastStep    int64      `bun:"totp_last_step"`
	StaffRole       *string    `bun:"staff_role"`
	DisabledAt      *time.Time `bun:"disabled_at"`
	// DeletedAt is when the user was deleted (anonymized; DeleteUser).
	DeletedAt *time.Time `bun:"deleted_at"`
	CreatedAt time.Time  `bun:"created_at"`
	UpdatedAt time.Time  `bun:"updated_at"`
}

// Account is the billing entity.
type Account struct {
	bun.BaseModel `bun:"table:accounts"`

	ID        string    `bun:"id,pk"`
	Name      string    `bun:"name"`
	CreatedAt time.Time `bun:"created_at"`
	UpdatedAt time.Time `bun:"updated_at"`
}

// Membership is a user's role in an account.
type Membership struct {
	bun.BaseModel `bun:"table:memberships"`

	AccountID string    `bun:"account_id,pk"`
	UserID    string    `bun:"user_id,pk"`
	Role      string    `bun:"role"`
	CreatedAt time.Time `bun:"created_at"`

	AccountName      string    `bun:"account_name,scanonly"`
	AccountCreatedAt time.Time `bun:"account_created_at,scanonly"`
}

// Token kinds.
const (
	KindSession  = "session"
	KindPersonal = "personal"
)

// APIToken is a session or personal token (its secret is not kept).
type APIToken struct {
	bun.BaseModel `bun:"table:api_tokens"`

	ID         string     `bun:"id,pk"`
	UserID     string     `bun:"user_id"`
	Kind       string     `bun:"kind"`
	Name       string     `bun:"name"`
	TokenHash  string     `bun:"token_hash"`
	Prefix     string     `bun:"prefix"`
	Scopes     string     `bun:"scopes"`
	CreatedAt  time.Time  `bun:"created_at"`
	LastUsedAt *time.Time `bun:"last_used_at"`
	ExpiresAt  *time.Time `bun:"expires_at"`
	RevokedAt  *time.Time `bun:"revoked_at"`
	IP         string     `bun:"ip"`
	UserAgent  string     `bun:"user_agent"`
}

type recoveryCode struct {
	bun.BaseModel `bun:"table:recovery_codes"`

	ID       string     `bun:"id,pk"`
	UserID   string     `bun:"user_id"`
	CodeHash string     `bun:"code_hash"`
	UsedAt   *time.Time `bun:"used_at"`
}

type oneTimeToken struct {
	bun.BaseModel `bun:"table:one_time_tokens"`

	ID        string     `bun:"id,pk"`
	UserID    string     `bun:"user_id"`
	Purpose   string     `bun:"purpose"`
	TokenHash string     `bun:"token_hash"`
	CreatedAt time.Time  `bun:"created_at"`
	ExpiresAt time.Time  `bun:"expires_at"`
	UsedAt    *time.Time `bun:"used_at"`
}

// Principal is who an authenticated request acts as.
type Principal struct {
	UserID      string
	Email       string
	TokenID     string
	TokenKind   string
	Scopes      []string
	StaffRole   string
	TOTPEnabled bool
}

// HasScope reports whether the token grants scope. Session tokens grant
// every scope the user is entitled to.
func (p *Principal) HasScope(scope string) bool {
	if p.TokenKind == KindSession {
		return true
	}
	return slices.Contains(p.Scopes, scope)
}

// IsStaff reports whether the user has at least the staff role min.
func (p *Principal) IsStaff(min string) bool {
	return p.StaffRole != "" && staffRank[p.StaffRole] >= staffRank[min]
}
