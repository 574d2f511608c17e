package notify

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/uptrace/bun"

	"github.com/ezscale/platform/core/apperr"
	"github.com/ezscale/platform/core/audit"
	"github.com/ezscale/platform/core/database"
)

// Preference is one cell of a user's matrix: a type on a channel.
type Preference struct {
	Type        Type     `json:"type"`
	Category    Category `json:"category"`
	Description string   `json:"description"`
	Channel     Channel  `json:"channel"`
	Enabled     bool     `json:"enabled"`
	// Default is the value when the user has not chosen.
	Default bool `json:"default"`
	// Locked cells cannot be turned off (security messages).
	Locked    bool `json:"locked"`
	Marketing bool `json:"marketing"`
}

// PreferenceChange turns a type on or off on a channel.
type PreferenceChange struct {
	Type    Type    `json:"type"`
	Channel Channel `json:"channel"`
	Enabled bool    `json:"enabled"`
}

// Settings are a user's delivery settings besides the matrix.
type Settings struct {
	// DiscordWebhook is where the user's discord channel posts (their own
	// server's webhook); shown masked.
	DiscordWebhook string `json:"discord_webhook"`
}

type prefRow struct {
	bun.BaseModel `bun:"table:notification_preferences"`

	UserID    string    `bun:"user_id,pk"`
	Type      string    `bun:"type,pk"`
	Channel   string    `bun:"channel,pk"`
	Enabled   bool      `bun:"enabled"`
	UpdatedAt time.Time `bun:"updated_at"`
}

// Preferences returns the user's matrix: every visible type on each of its
// channels, with the user's choice or the default. The discord column is
// offered only when the discord channel is configured.
func (s *Service) Preferences(ctx context.Context, userID string) ([]Preference, error) {
	var rows []prefRow
	if err := s.db.Conn(ctx).NewSelect().Model(&rows).Where("user_id = ?", userID).Scan(ctx); err != nil {
		return nil, fmt.Errorf("notify: loading preferences: %w", err)
	}
	chosen := map[[2]string]bool{}
	for _, r := range rows {
		chosen[[2]string{r.Type, r.Channel}] = r.Enabled
	}
	var out []Preference
	for _, info := range registry {
		if info.Hidden {
			continue
		}
		for _, ch := range info.Channels {
			if ch == ChannelDiscord && s.opts.DiscordPlugin == "" {
				continue
			}
			p := Preference{
				Type: info.Type, Category: info.Category, Description: info.Description, Channel: ch,
				Default: info.On(ch), Locked: info.IsLocked(ch), Marketing: info.Marketing,
			}
			p.Enabled = p.Default
			if v, ok := chosen[[2]string{string(info.Type), string(ch)}]; ok && !p.Locked {
				p.Enabled = v
			}
			out = append(out, p)
		}
	}
	return out, nil
}

// UpdatePreferences applies changes (all or none) and returns the new
// matrix. The user may call it for themself. Errors: Invalid naming
// changes[i] (unknown type or channel, or a locked cell turned off).
func (s *Service) UpdatePreferences(ctx context.Context, userID string, changes []PreferenceChange) ([]Preference, error) {
	var fields apperr.Fields
	for i, c := range changes {
		info, ok := byType[c.Type]
		field := fmt.Sprintf("preferences[%d]", i)
		switch {
		case !ok || info.Hidden:
			fields.Add(field+".type", "is not a notification type with preferences")
		case !info.Has(c.Channel) || (c.Channel == ChannelDiscord && s.opts.DiscordPlugin == ""):
			fields.Add(field+".channel", "%s is not offered for %s", c.Channel, c.Type)
		case info.IsLocked(c.Channel) && !c.Enabled:
			fields.Add(field+".enabled", "security messages on %s cannot be turned off", c.Channel)
		}
	}
	if err := fields.Err(); err != nil {
		return nil, err
	}
	err := s.db.Tx(ctx, func(ctx context.Context, tx bun.Tx) error {
		if err := s.storePreferences(ctx, tx, userID, changes); err != nil {
			return err
		}
		if len(changes) == 0 {
			return nil
		}
		_, err := audit.Append(ctx, tx, audit.Event{
			Action: "notification.preferences.update", TargetType: "user", TargetID: userID,
			Changes: map[string]any{"preferences": changes},
		})
		return err
	})
	if err != nil {
		return nil, err
	}
	return s.Preferences(ctx, userID)
}

func (s *Service) storePreferences(ctx context.Context, tx bun.Tx, userID string, changes []PreferenceChange) error {
	if len(changes) == 0 {
		return nil
	}
	now := s.now()
	rows := make([]prefRow, len(changes))
	for i, c := range changes {
		rows[i] = prefRow{UserID: userID, Type: string(c.Type), Channel: string(c.Channel), Enabled: c.Enabled, UpdatedAt: now}
	}
	_, err := tx.NewInsert().Model(&rows).
		On("CONFLICT (user_id, type, channel) DO UPDATE").
		Set("enabled = EXCLUDED.enabled").Set("updated_at = EXCLUDED.updated_at").Exec(ctx)
	if err != nil {
		return fmt.Errorf("notify: storing preferences: %w", err)
	}
	return nil
}

// Settings returns the user's delivery settings, secrets masked.
func (s *Service) Settings(ctx context.Context, userID string) (*Settings, error) {
	var hook string
	err := s.db.Conn(ctx).NewSelect().Table("notification_settings").Column("discord_webhook_url").
		Where("user_id = ?", userID).Scan(ctx, &hook)
	if err != nil && !database.IsNoRows(err) {
		return nil, fmt.Errorf("notify: loading settings: %w", err)
	}
	return &Settings{DiscordWebhook: maskWebhook(hook)}, nil
}

// SetDiscordWebhook sets (or, with "", clears) the webhook the user's
// discord channel posts to. Errors: Invalid (field discord_webhook).
func (s *Service) SetDiscordWebhook(ctx context.Context, userID, hook string) error {
	hook = strings.TrimSpace(hook)
	if hook != "" && !isDiscordWebhook(hook) {
		return apperr.Field("discord_webhook", "must be a Discord webhook URL (https://discord.com/api/webhooks/ID/TOKEN)")
	}
	return s.db.Tx(ctx, func(ctx context.Context, tx bun.Tx) error {
		if _, err := tx.ExecContext(ctx, "INSERT INTO notification_settings (user_id, discord_webhook_url, updated_at) VALUES (?, ?, ?) "+
			"ON CONFLICT (user_id) DO UPDATE SET discord_webhook_url = EXCLUDED.discord_webhook_url, updated_at = EXCLUDED.updated_at",
			userID, hook, s.now()); err != nil {
			return fmt.Errorf("notify: storing settings: %w", err)
		}
		_, err := audit.Append(ctx, tx, audit.Event{
			Action: "notification.discord_webhook.update", TargetType: "user", TargetID: userID,
			Changes: map[string]any{"discord_webhook_set": hook != ""},
		})
		return err
	})
}

// isDiscordWebhook accepts Discord's webhook URLs only, so that the
// discord channel cannot be pointed at arbitrary hosts.
func isDiscordWebhook(s string) bool {
	u, err := url.Parse(s)
	if err != nil || u.Scheme != "https" || u.User != nil || u.Port() != "" {
		return false
	}
	switch u.Hostname() {
	case "discord.com", "discordapp.com", "ptb.discord.com", "canary.discord.com":
	default:
		return false
	}
	parts := strings.Split(strings.Trim(u.Path, "/"), "/")
	// api/webhooks/{id}/{token}, optionally api/v10/webhooks/…
	if len(parts) == 5 && strings.HasPrefix(parts[1], "v") {
		parts = append(parts[:1], parts[2:]...)
	}
	return len(parts) == 4 && parts[0] == "api" && parts[1] == "webhooks" && isSnowflake(parts[2]) && parts[3] != ""
}

func isSnowflake(s string) bool {
	if len(s) < 5 || len(s) > 20 {
		return false
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// maskWebhook hides the token part of a webhook URL.
func maskWebhook(s string) string {
	if s == "" {
		return ""
	}
	i := strings.LastIndexByte(s, '/')
	if i < 0 || len(s)-i-1 < 4 {
		return "…"
	}
	return s[:i+1] + "…" + s[len(s)-4:]
}
