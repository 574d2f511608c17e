package accounts

import (
	"context"
	"crypto/subtle"
	"fmt"
	"strings"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"
	"github.com/uptrace/bun"

	"github.com/ezscale/platform/core/apperr"
	"github.com/ezscale/platform/core/audit"
	"github.com/ezscale/platform/core/notify"
)

const (
	totpPeriod        = 30
	recoveryCodeCount = 10
)

// TOTPEnrollment is shown once to the user to set up their authenticator.
type TOTPEnrollment struct {
	Secret string
	URL    string
}

// EnrollTOTP creates a new pending secret. Two-factor is not on until
// ConfirmTOTP proves the authenticator works. Errors: Conflict (already on).
func (s *Service) EnrollTOTP(ctx context.Context, p *Principal) (*TOTPEnrollment, error) {
	if s.opts.Secrets == nil {
		return nil, apperr.New(apperr.Unavailable, "two-factor authentication is not available: the server has no secrets key (auth.secrets_key)")
	}
	u, err := s.User(ctx, p.UserID)
	if err != nil {
		return nil, err
	}
	if u.TOTPEnabled {
		return nil, apperr.New(apperr.Conflict, "two-factor authentication is already on; disable it first").WithReason("totp_enabled")
	}
	key, err := totp.Generate(totp.GenerateOpts{Issuer: s.opts.TOTPIssuer, AccountName: u.Email, Period: totpPeriod, Algorithm: otp.AlgorithmSHA1, Digits: otp.DigitsSix})
	if err != nil {
		return nil, fmt.Errorf("accounts: generating totp secret: %w", err)
	}
	secret := key.Secret()
	err = s.db.Tx(ctx, func(ctx context.Context, tx bun.Tx) error {
		// Encrypted at rest: a copy of the database alone does not give
		// away anyone's second factor.
		sealed := s.opts.Secrets.Seal(secret, totpAAD(u.ID))
		if _, err := tx.NewUpdate().Model((*User)(nil)).Set("totp_secret = ?", sealed).Set("updated_at = ?", s.now()).
			Where("id = ?", u.ID).Where("totp_enabled = ?", false).Exec(ctx); err != nil {
			return fmt.Errorf("accounts: storing totp secret: %w", err)
		}
		_, err := audit.Append(ctx, tx, audit.Event{Action: "user.2fa.enroll", TargetType: "user", TargetID: u.ID})
		return err
	})
	if err != nil {
		return nil, err
	}
	return &TOTPEnrollment{Secret: secret, URL: key.URL()}, nil
}

// ConfirmTOTP turns two-factor on once code matches the pending secret, and
// returns fresh recovery codes (shown once). Errors: Invalid, Conflict.
func (s *Service) ConfirmTOTP(ctx context.Context, p *Principal, code string) ([]string, error) {
	u, err := s.User(ctx, p.UserID)
	if err != nil {
		return nil, err
	}
	if u.TOTPEnabled {
		return nil, apperr.New(apperr.Conflict, "two-factor authentication is already on").WithReason("totp_enabled")
	}
	if u.TOTPSecret == nil {
		return nil, apperr.New(apperr.Conflict, "start enrollment first").WithReason("totp_not_enrolled")
	}
	ok, err := s.useTOTP(ctx, u, code)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, s.reauthFailed(ctx, "user.2fa.enable", u.ID, "bad_code", apperr.Field("code", "is incorrect or was already used"))
	}
	var codes []string
	err = s.db.Tx(ctx, func(ctx context.Context, tx bun.Tx) error {
		if _, err := tx.NewUpdate().Model((*User)(nil)).Set("totp_enabled = ?", true).Set("updated_at = ?", s.now()).
			Where("id = ?", u.ID).Exec(ctx); err != nil {
			return fmt.Errorf("accounts: enabling totp: %w", err)
		}
		codes, err = s.replaceRecoveryCodes(ctx, tx, u.ID)
		if err != nil {
			return err
		}
		if err := s.security(ctx, tx, u.ID, notify.SecurityTwoFactorEnabled, "", ""); err != nil {
			return err
		}
		if _, err := audit.Append(ctx, tx, audit.Event{Action: "user.2fa.enable", TargetType: "user", TargetID: u.ID}); err != nil {
			return err
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return codes, nil
}

// DisableTOTP turns two-factor off; it takes the password and a current code
// (or a recovery code) so a stolen session alone cannot do it.
// Errors: Invalid, Conflict.
func (s *Service) DisableTOTP(ctx context.Context, p *Principal, password, code string) error {
	u, err := s.User(ctx, p.UserID)
	if err != nil {
		return err
	}
	if !u.TOTPEnabled {
		return apperr.New(apperr.Conflict, "two-factor authentication is not on").WithReason("totp_disabled")
	}
	if ok, err := CheckPassword(u.PasswordHash, password); err != nil {
		return err
	} else if !ok {
		return s.reauthFailed(ctx, "user.2fa.disable", u.ID, "bad_password", apperr.Field("password", "is incorrect"))
	}
	if err := s.secondFactor(ctx, u, code); err != nil {
		return s.secondFactorFailed(ctx, "user.2fa.disable", u.ID, err)
	}
	return s.db.Tx(ctx, func(ctx context.Context, tx bun.Tx) error {
		if _, err := tx.NewUpdate().Model((*User)(nil)).Set("totp_enabled = ?", false).Set("totp_secret = NULL").
			Set("updated_at = ?", s.now()).Where("id = ?", u.ID).Exec(ctx); err != nil {
			return fmt.Errorf("accounts: disabling totp: %w", err)
		}
		if _, err := tx.NewDelete().Model((*recoveryCode)(nil)).Where("user_id = ?", u.ID).Exec(ctx); err != nil {
			return fmt.Errorf("accounts: deleting recovery codes: %w", err)
		}
		if err := s.security(ctx, tx, u.ID, notify.SecurityTwoFactorDisabled, "", ""); err != nil {
			return err
		}
		_, err := audit.Append(ctx, tx, audit.Event{Action: "user.2fa.disable", TargetType: "user", TargetID: u.ID})
		return err
	})
}

// RegenerateRecoveryCodes replaces the recovery codes after a current code.
func (s *Service) RegenerateRecoveryCodes(ctx context.Context, p *Principal, code string) ([]string, error) {
	u, err := s.User(ctx, p.UserID)
	if err != nil {
		return nil, err
	}
	if !u.TOTPEnabled {
		return nil, apperr.New(apperr.Conflict, "two-factor authentication is not on").WithReason("totp_disabled")
	}
	if err := s.secondFactor(ctx, u, code); err != nil {
		return nil, s.secondFactorFailed(ctx, "user.2fa.recovery_codes", u.ID, err)
	}
	var codes []string
	err = s.db.Tx(ctx, func(ctx context.Context, tx bun.Tx) error {
		codes, err = s.replaceRecoveryCodes(ctx, tx, u.ID)
		if err != nil {
			return err
		}
		_, err = audit.Append(ctx, tx, audit.Event{Action: "user.2fa.recovery_codes", TargetType: "user", TargetID: u.ID})
		return err
	})
	return codes, err
}

// secondFactor accepts a TOTP code or a recovery code.
func (s *Service) secondFactor(ctx context.Context, u *User, code string) error {
	code = strings.TrimSpace(code)
	if len(code) == 6 {
		ok, err := s.useTOTP(ctx, u, code)
		if err != nil {
			return err
		}
		if ok {
			return nil
		}
	} else if code != "" {
		ok, err := s.useRecoveryCode(ctx, u.ID, code)
		if err != nil {
			return err
		}
		if ok {
			return nil
		}
	}
	return apperr.Field("code", "is incorrect or was already used")
}

// secondFactorFailed audits a refused second factor (an Invalid error from
// secondFactor); other errors pass through.
func (s *Service) secondFactorFailed(ctx context.Context, action, userID string, err error) error {
	if apperr.CodeOf(err) != apperr.Invalid {
		return err
	}
	return s.reauthFailed(ctx, action, userID, "bad_code", err)
}

// useTOTP accepts code if it matches the current 30-second step or one
// step either side (clock skew) and that step is later than the last one
// used. The compare-and-set on totp_last_step refuses a replay even when two
// requests race with the same code.
func (s *Service) useTOTP(ctx context.Context, u *User, code string) (bool, error) {
	if u.TOTPSecret == nil {
		return false, nil
	}
	secret, err := s.openTOTPSecret(u)
	if err != nil {
		return false, err
	}
	code = strings.TrimSpace(code)
	now := s.now()
	step := now.Unix() / totpPeriod
	for _, st := range []int64{step - 1, step, step + 1} {
		want, err := totp.GenerateCodeCustom(secret, time.Unix(st*totpPeriod, 0), totp.ValidateOpts{Period: totpPeriod, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1})
		if err != nil {
			return false, fmt.Errorf("accounts: computing totp: %w", err)
		}
		if subtle.ConstantTimeCompare([]byte(want), []byte(code)) != 1 {
			continue
		}
		if st <= u.TOTPLastStep {
			return false, nil // replay
		}
		res, err := s.db.Conn(ctx).NewUpdate().Model((*User)(nil)).Set("totp_last_step = ?", st).
			Where("id = ?", u.ID).Where("totp_last_step < ?", st).Exec(ctx)
		if err != nil {
			return false, fmt.Errorf("accounts: recording totp step: %w", err)
		}
		n, _ := res.RowsAffected()
		return n == 1, nil
	}
	return false, nil
}

// totpAAD binds a sealed TOTP secret to its user.
func totpAAD(userID string) string { return "totp:" + userID }

// openTOTPSecret decrypts the user's stored TOTP secret.
func (s *Service) openTOTPSecret(u *User) (string, error) {
	if s.opts.Secrets == nil || !isSealed(*u.TOTPSecret) {
		return "", fmt.Errorf("accounts: the two-factor secret of user %s cannot be read: no secrets key, or stored unencrypted", u.ID)
	}
	secret, err := s.opts.Secrets.Open(*u.TOTPSecret, totpAAD(u.ID))
	if err != nil {
		return "", fmt.Errorf("accounts: the two-factor secret of user %s: %w", u.ID, err)
	}
	return secret, nil
}

func (s *Service) useRecoveryCode(ctx context.Context, userID, code string) (bool, error) {
	res, err := s.db.Conn(ctx).NewUpdate().Model((*recoveryCode)(nil)).Set("used_at = ?", s.now()).
		Where("user_id = ?", userID).Where("code_hash = ?", hashSecret(normalizeRecoveryCode(code))).
		Where("used_at IS NULL").Exec(ctx)
	if err != nil {
		return false, fmt.Errorf("accounts: using recovery code: %w", err)
	}
	n, _ := res.RowsAffected()
	return n == 1, nil
}

func (s *Service) replaceRecoveryCodes(ctx context.Context, tx bun.Tx, userID string) ([]string, error) {
	if _, err := tx.NewDelete().Model((*recoveryCode)(nil)).Where("user_id = ?", userID).Exec(ctx); err != nil {
		return nil, fmt.Errorf("accounts: deleting recovery codes: %w", err)
	}
	codes := make([]string, recoveryCodeCount)
	rows := make([]recoveryCode, recoveryCodeCount)
	for i := range codes {
		codes[i] = newRecoveryCode()
		rows[i] = recoveryCode{ID: newID(), UserID: userID, CodeHash: hashSecret(codes[i])}
	}
	if _, err := tx.NewInsert().Model(&rows).Exec(ctx); err != nil {
		return nil, fmt.Errorf("accounts: storing recovery codes: %w", err)
	}
	return codes, nil
}
