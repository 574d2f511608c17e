package main

import (
	"net/http"

	"github.com/ezscale/platform/plugins/discord/fakediscord"
)

// The sandbox's Discord: fixed ids, so config/examples/demo.hcl can name
// them, and default tokens (none of it reaches Discord).
const (
	DefaultDiscordBotToken     = "demo-discord-bot-token"
	DefaultDiscordWebhookToken = "demo-discord-webhook-token"

	DiscordGuildID        = "1400000000000000001"
	DiscordWelcomeChannel = "1400000000000000002" // invites lead here
	DiscordAlertsChannel  = "1400000000000000003" // staff alerts
	DiscordRoleVPS        = "1400000000000000011"
	DiscordRoleGaming     = "1400000000000000012"
	DiscordRoleVIP        = "1400000000000000013"
	DiscordAlertsWebhook  = "1400000000000000021"
)

// sandboxGuild is the guild the sandbox's Discord plugin manages: the
// channel invites lead to, the roles the core syncs (vps, gaming, vip) and
// the staff alerts webhook. (A customer's own webhook must be a discord.com
// URL, so the sandbox has none.)
func sandboxGuild(alertsToken string) fakediscord.GuildSeed {
	return fakediscord.GuildSeed{
		ID: DiscordGuildID, Name: "EZSCALE Demo",
		Channels: []fakediscord.Named{
			{ID: DiscordWelcomeChannel, Name: "welcome"},
			{ID: DiscordAlertsChannel, Name: "staff-alerts"},
		},
		Roles: []fakediscord.Named{
			{ID: DiscordRoleVPS, Name: "vps"},
			{ID: DiscordRoleGaming, Name: "gaming"},
			{ID: DiscordRoleVIP, Name: "vip"},
		},
		Webhooks: []fakediscord.WebhookSeed{
			{ID: DiscordAlertsWebhook, Token: alertsToken, ChannelID: DiscordAlertsChannel},
		},
	}
}

// logRequests logs each request's method, path and status.
func logRequests(h http.Handler, logf func(string, ...any)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
		h.ServeHTTP(sw, r)
		logf("%s %s -> %d", r.Method, r.URL.Path, sw.status)
	})
}

type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	w.status = code
	w.ResponseWriter.WriteHeader(code)
}
