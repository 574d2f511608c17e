package main

import (
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/ezscale/platform/plugins/discord/discordapi"
	"github.com/ezscale/platform/sdk"
)

// maxInviteAge is Discord's limit for an invite's max_age (7 days).
const maxInviteAge = 7 * 24 * time.Hour

func schema() *sdk.Schema {
	return sdk.NewSchema().
		String("webhook_url", sdk.Secret(),
			sdk.Doc("Discord webhook for admin alerts (…/api/webhooks/{id}/{token}); the recipient \"default\" delivers here")).
		String("username", sdk.Default("EZSCALE"),
			sdk.Doc("name shown on webhook messages; Discord refuses names containing \"discord\" or \"clyde\"")).
		String("bot_token", sdk.Secret(),
			sdk.Doc("bot token for invites, roles and linking; the bot needs CREATE_INSTANT_INVITE and MANAGE_ROLES")).
		String("guild_id", sdk.Doc("the community server (guild) id")).
		String("invite_channel_id", sdk.Doc("channel the invites lead to")).
		StringList("roles", sdk.Doc(`managed roles as "name=role_id", e.g. ["vps=123…", "gaming=456…", "vip=789…"]; SyncRoles adds and removes only these`)).
		Duration("invite_max_age", sdk.Default("24h"), sdk.Doc("lifetime of an invite when the request names none; at most 168h")).
		String("api_base_url", sdk.Default(discordapi.DefaultBaseURL), sdk.Doc("Discord API root; point it at a fake for tests")).
		Duration("timeout", sdk.Default("15s"), sdk.Doc("per HTTP request to Discord")).
		Duration("max_rate_limit_wait", sdk.Default("10s"),
			sdk.Doc("longest wait for a Discord rate limit inside one call; longer limits fail as unavailable with retry-after"))
}

// settings is a parsed, validated config and the client built from it.
type settings struct {
	webhookURL   string
	username     string
	bot          bool
	guildID      string
	channelID    string
	roles        map[string]string // name → role id
	roleNames    []string          // sorted
	inviteMaxAge time.Duration
	// allowedHosts are the hosts a recipient webhook URL may point at.
	allowedHosts map[string]bool
	client       *discordapi.Client
}

var roleName = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,31}$`)

// parseConfig validates cfg beyond the schema and builds the settings.
func parseConfig(cfg sdk.Config) (*settings, sdk.Diagnostics) {
	var diags sdk.Diagnostics
	fail := func(field, format string, args ...any) {
		diags = append(diags, sdk.FieldDiagnostic(field, "%s", fmt.Sprintf(format, args...))...)
	}
	s := &settings{
		webhookURL:   cfg.String("webhook_url"),
		username:     cfg.String("username"),
		guildID:      cfg.String("guild_id"),
		channelID:    cfg.String("invite_channel_id"),
		roles:        map[string]string{},
		inviteMaxAge: cfg.Duration("invite_max_age"),
		allowedHosts: map[string]bool{},
	}
	token := cfg.String("bot_token")

	base, err := url.Parse(cfg.String("api_base_url"))
	if err != nil || (base.Scheme != "http" && base.Scheme != "https") || base.Host == "" {
		fail("api_base_url", "must be an absolute http(s) URL")
	} else {
		s.allowedHosts[base.Host] = true
		if base.Host == "discord.com" {
			for _, h := range []string{"discordapp.com", "ptb.discord.com", "canary.discord.com"} {
				s.allowedHosts[h] = true
			}
		}
	}
	if s.webhookURL != "" {
		if u, _, _, err := discordapi.ParseWebhookURL(s.webhookURL); err != nil {
			fail("webhook_url", "must be a Discord webhook URL ending in /webhooks/{id}/{token}")
		} else {
			s.allowedHosts[u.Host] = true
		}
	}
	lower := strings.ToLower(s.username)
	if len(s.username) > 80 || strings.Contains(lower, "discord") || strings.Contains(lower, "clyde") {
		fail("username", "must be at most 80 characters and contain neither \"discord\" nor \"clyde\"")
	}

	botFields := map[string]string{"bot_token": token, "guild_id": s.guildID, "invite_channel_id": s.channelID}
	set := 0
	for _, v := range botFields {
		if v != "" {
			set++
		}
	}
	switch {
	case set == len(botFields):
		s.bot = true
	case set > 0:
		for _, f := range []string{"bot_token", "guild_id", "invite_channel_id"} {
			if botFields[f] == "" {
				fail(f, "is required with the other bot settings (bot_token, guild_id, invite_channel_id)")
			}
		}
	}
	for _, f := range []string{"guild_id", "invite_channel_id"} {
		if v := botFields[f]; v != "" && !discordapi.IsSnowflake(v) {
			fail(f, "%q is not a Discord id", v)
		}
	}
	for _, entry := range cfg.StringList("roles") {
		name, id, ok := strings.Cut(entry, "=")
		name, id = strings.TrimSpace(name), strings.TrimSpace(id)
		switch {
		case !ok || !roleName.MatchString(name) || !discordapi.IsSnowflake(id):
			fail("roles", "%q must be name=role_id with a lower-case name and a Discord id", entry)
		case s.roles[name] != "":
			fail("roles", "role %q is listed twice", name)
		default:
			s.roles[name] = id
			s.roleNames = append(s.roleNames, name)
		}
	}
	slices.Sort(s.roleNames)
	if len(s.roles) > 0 && !s.bot && set == 0 {
		fail("roles", "needs the bot settings (bot_token, guild_id, invite_channel_id)")
	}
	if s.webhookURL == "" && set == 0 {
		fail("", "nothing to do: set webhook_url for alerts, the bot settings for the community, or both")
	}
	if s.inviteMaxAge < time.Second || s.inviteMaxAge > maxInviteAge {
		fail("invite_max_age", "must be between 1s and 168h")
	}
	if cfg.Duration("timeout") <= 0 {
		fail("timeout", "must be positive")
	}
	if cfg.Duration("max_rate_limit_wait") <= 0 {
		fail("max_rate_limit_wait", "must be positive")
	}
	if diags.HasErrors() {
		return nil, diags
	}

	client, err := discordapi.New(discordapi.Config{
		BaseURL:    base.String(),
		BotToken:   token,
		Version:    Version,
		HTTPClient: newHTTPClient(cfg.Duration("timeout")),
		MaxWait:    cfg.Duration("max_rate_limit_wait"),
	})
	if err != nil {
		return nil, sdk.FieldDiagnostic("api_base_url", "%s", err.Error())
	}
	s.client = client
	return s, diags
}
