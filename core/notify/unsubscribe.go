package notify

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/uptrace/bun"

	"github.com/ezscale/platform/core/apperr"
	"github.com/ezscale/platform/core/audit"
	"github.com/ezscale/platform/core/database"
	"github.com/ezscale/platform/core/outbox"
)

// signer holds the key of unsubscribe tokens: the configured secret, or a
// random key created on first use and stored in notification_secrets, so
// every replica signs and verifies alike without configuration.
type signer struct {
	db *database.DB
	mu sync.Mutex
	// key is the configured secret or the loaded one.
	key []byte
}

func newSigner(db *database.DB, secret string) *signer {
	s := &signer{db: db}
	if secret != "" {
		s.key = []byte(secret)
	}
	return s
}

const unsubscribeKeyName = "unsubscribe"

func (s *signer) load(ctx context.Context) ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.key != nil {
		return s.key, nil
	}
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	conn := s.db.Conn(ctx)
	if _, err := conn.ExecContext(ctx, "INSERT INTO notification_secrets (name, value, created_at) VALUES (?, ?, ?) ON CONFLICT (name) DO NOTHING",
		unsubscribeKeyName, hex.EncodeToString(b), time.Now().UTC()); err != nil {
		return nil, fmt.Errorf("notify: creating the unsubscribe key: %w", err)
	}
	var v string
	if err := conn.NewSelect().Table("notification_secrets").Column("value").Where("name = ?", unsubscribeKeyName).Scan(ctx, &v); err != nil {
		return nil, fmt.Errorf("notify: loading the unsubscribe key: %w", err)
	}
	key, err := hex.DecodeString(v)
	if err != nil {
		return nil, fmt.Errorf("notify: the stored unsubscribe key is not hex: %w", err)
	}
	s.key = key
	return key, nil
}

func (s *signer) mac(key []byte, payload string) []byte {
	h := hmac.New(sha256.New, key)
	h.Write([]byte("ezscale.unsubscribe.v1\n" + payload))
	return h.Sum(nil)[:16]
}

// token returns "PAYLOAD.MAC" over user id and type. Tokens do not expire:
// an unsubscribe link in an old message must keep working.
func (s *signer) token(ctx context.Context, userID string, t Type) (string, error) {
	key, err := s.load(ctx)
	if err != nil {
		return "", err
	}
	payload := userID + "\n" + string(t)
	enc := base64.RawURLEncoding
	return enc.EncodeToString([]byte(payload)) + "." + enc.EncodeToString(s.mac(key, payload)), nil
}

// verify returns the user id and type of a genuine token.
func (s *signer) verify(ctx context.Context, token string) (string, Type, bool, error) {
	key, err := s.load(ctx)
	if err != nil {
		return "", "", false, err
	}
	p, m, ok := strings.Cut(strings.TrimSpace(token), ".")
	if !ok || len(token) > 512 {
		return "", "", false, nil
	}
	enc := base64.RawURLEncoding
	payload, err1 := enc.DecodeString(p)
	mac, err2 := enc.DecodeString(m)
	if err1 != nil || err2 != nil || !hmac.Equal(mac, s.mac(key, string(payload))) {
		return "", "", false, nil
	}
	user, typ, ok := strings.Cut(string(payload), "\n")
	if !ok {
		return "", "", false, nil
	}
	return user, Type(typ), true, nil
}

// UnsubscribeURL is the one-click endpoint for a user and type: the
// https URL of List-Unsubscribe, and the link in the message's footer.
func (s *Service) UnsubscribeURL(ctx context.Context, userID string, t Type) (string, error) {
	tok, err := s.signer.token(ctx, userID, t)
	if err != nil {
		return "", err
	}
	return s.opts.PublicURL + "/api/v1/unsubscribe?token=" + url.QueryEscape(tok), nil
}

// prepare is the outbox's delivery hook: it re-checks the recipient's
// preferences (an unsubscribe or a preference change after the message was
// queued wins) and finishes marketing email (List-Unsubscribe headers and
// the per-user unsubscribe link). Messages of other origins pass through.
func (s *Service) prepare(ctx context.Context, m *outbox.Message) (string, error) {
	info, ok := byType[Type(m.Template)]
	if !ok || m.UserID == nil {
		return "", nil
	}
	ch := Channel(m.Channel)
	var row struct {
		DisabledAt *time.Time `bun:"disabled_at"`
		Enabled    *bool      `bun:"enabled"`
	}
	err := s.db.Read.NewSelect().TableExpr("users AS u").
		ColumnExpr("u.disabled_at, p.enabled").
		Join("LEFT JOIN notification_preferences AS p ON p.user_id = u.id AND p.type = ? AND p.channel = ?", string(info.Type), string(ch)).
		Where("u.id = ?", *m.UserID).Scan(ctx, &row)
	if database.IsNoRows(err) {
		return "recipient no longer exists", nil
	}
	if err != nil {
		return "", fmt.Errorf("notify: checking preferences for %s: %w", m.ID, err)
	}
	if row.DisabledAt != nil {
		return "recipient disabled", nil
	}
	if !info.IsLocked(ch) {
		on := info.On(ch)
		if row.Enabled != nil {
			on = *row.Enabled
		}
		if !on {
			if info.Marketing {
				return "unsubscribed", nil
			}
			return "turned off in preferences", nil
		}
	}
	if info.Marketing && ch == ChannelEmail {
		u, err := s.UnsubscribeURL(ctx, *m.UserID, info.Type)
		if err != nil {
			return "", err
		}
		if m.Headers == nil {
			m.Headers = map[string]string{}
		}
		list := "<" + u + ">"
		if s.opts.UnsubscribeMailto != "" {
			tok, _ := s.signer.token(ctx, *m.UserID, info.Type)
			list += ", <mailto:" + s.opts.UnsubscribeMailto + "?subject=" + url.PathEscape("unsubscribe "+tok) + ">"
		}
		// RFC 2369 and RFC 8058: one https URL that accepts the one-click
		// POST, and optionally a mailto.
		m.Headers["List-Unsubscribe"] = list
		m.Headers["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
		m.BodyText = strings.ReplaceAll(m.BodyText, unsubscribePlaceholder, u)
		m.BodyHTML = strings.ReplaceAll(m.BodyHTML, unsubscribePlaceholder, u)
	}
	return "", nil
}

// Unsubscribe turns marketing email off for the user a token was made for
// (every marketing type: one-click unsubscribes from the list, and the
// list is "news and announcements"). It needs no login; the token is the
// authority. Repeating it is harmless. Errors: Invalid (field token).
func (s *Service) Unsubscribe(ctx context.Context, token string) error {
	userID, typ, ok, err := s.signer.verify(ctx, token)
	if err != nil {
		return err
	}
	if !ok {
		return apperr.Field("token", "is not a valid unsubscribe token")
	}
	return s.db.Tx(ctx, func(ctx context.Context, tx bun.Tx) error {
		exists, err := tx.NewSelect().Table("users").Where("id = ?", userID).Exists(ctx)
		if err != nil {
			return fmt.Errorf("notify: unsubscribing: %w", err)
		}
		if !exists {
			return apperr.Field("token", "is not a valid unsubscribe token")
		}
		var changes []PreferenceChange
		for _, info := range registry {
			if info.Marketing {
				changes = append(changes, PreferenceChange{Type: info.Type, Channel: ChannelEmail, Enabled: false})
			}
		}
		if err := s.storePreferences(ctx, tx, userID, changes); err != nil {
			return err
		}
		_, err = audit.Append(ctx, tx, audit.Event{
			Action: "notification.unsubscribe", TargetType: "user", TargetID: userID,
			ActorType: audit.ActorUser, ActorID: userID,
			Changes: map[string]any{"list": "marketing", "via": string(typ)},
		})
		return err
	})
}
