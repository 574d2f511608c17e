package main

import (
	"context"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/ezscale/platform/plugins/discord/discordapi"
	"github.com/ezscale/platform/sdk"
	pb "github.com/ezscale/platform/sdk/pluginv1"
)

// Channel is the notification channel this plugin delivers.
const Channel = "discord"

// DefaultRecipient names the configured webhook_url.
const DefaultRecipient = "default"

// Discord's embed limits.
const (
	maxEmbedTitle       = 256
	maxEmbedDescription = 4096
)

// categoryColors gives each notification category an embed colour so alerts
// can be told apart at a glance.
var categoryColors = map[string]int{
	"security":      0xE74C3C,
	"billing":       0x3498DB,
	"services":      0x2ECC71,
	"support":       0xF1C40F,
	"system":        0x95A5A6,
	"marketing":     0x9B59B6,
	"transactional": 0x3498DB,
}

// Deliver posts an alert through a Discord webhook. The recipient is
// "default" (the configured webhook_url) or a webhook URL on Discord's host;
// direct messages to users are not supported. A repeat with the same
// idempotency key returns the first message id without posting again.
func (p *Plugin) Deliver(ctx context.Context, req *pb.DeliverRequest) (*pb.DeliverResponse, error) {
	s, err := p.Settings()
	if err != nil {
		return nil, err
	}
	if req.GetChannel() != Channel {
		return nil, sdk.FieldErrorf("channel", "this plugin delivers the %q channel, not %q", Channel, req.GetChannel())
	}
	webhookURL, err := s.resolveRecipient(req.GetRecipient())
	if err != nil {
		return nil, err
	}
	msg, err := s.webhookMessage(req)
	if err != nil {
		return nil, err
	}
	id, err := p.delivered.Do(ctx, req.GetIdempotencyKey(), func() (string, error) {
		m, err := s.client.ExecuteWebhook(ctx, webhookURL, msg, true)
		if err != nil {
			return "", toSDK(err)
		}
		return m.ID, nil
	})
	if err != nil {
		return nil, err
	}
	return &pb.DeliverResponse{ProviderMessageId: id}, nil
}

func (s *settings) resolveRecipient(recipient string) (string, error) {
	switch {
	case recipient == "":
		return "", sdk.FieldErrorf("recipient", "is required: %q or a Discord webhook URL", DefaultRecipient)
	case recipient == DefaultRecipient:
		if s.webhookURL == "" {
			return "", sdk.FieldErrorf("recipient", "%q needs webhook_url in the plugin's config", DefaultRecipient)
		}
		return s.webhookURL, nil
	case discordapi.IsSnowflake(recipient):
		return "", sdk.FieldErrorf("recipient", "direct messages to Discord users are not supported; use a webhook")
	}
	u, _, _, err := discordapi.ParseWebhookURL(recipient)
	if err != nil {
		return "", sdk.FieldErrorf("recipient", "must be %q or a Discord webhook URL", DefaultRecipient)
	}
	// The token in the URL is the credential; only Discord's own hosts get it.
	if !s.allowedHosts[u.Host] {
		return "", sdk.FieldErrorf("recipient", "webhook host %q is not Discord's", url.PathEscape(u.Host))
	}
	return recipient, nil
}

// webhookMessage renders a notification as one embed. The text body is used:
// Discord does not render HTML.
func (s *settings) webhookMessage(req *pb.DeliverRequest) (discordapi.WebhookMessage, error) {
	subject := strings.TrimSpace(req.GetSubject())
	text := strings.TrimSpace(req.GetTextBody())
	if text == "" && subject == "" {
		if req.GetHtmlBody() != "" {
			return discordapi.WebhookMessage{}, sdk.FieldErrorf("text_body", "is required: Discord does not render HTML")
		}
		return discordapi.WebhookMessage{}, sdk.FieldErrorf("text_body", "a subject or a text body is required")
	}
	color, ok := categoryColors[req.GetCategory()]
	if !ok {
		color = categoryColors["system"]
	}
	now := time.Now().UTC()
	embed := discordapi.Embed{
		Title:       truncate(subject, maxEmbedTitle),
		Description: truncate(text, maxEmbedDescription),
		Color:       color,
		Timestamp:   &now,
	}
	if c := req.GetCategory(); c != "" {
		embed.Footer = &discordapi.EmbedFooter{Text: truncate(c, 64)}
	}
	return discordapi.WebhookMessage{
		Username: s.username,
		Embeds:   []discordapi.Embed{embed},
		// Text comes from product events (service names, customer input):
		// never let it ping @everyone or a role.
		AllowedMentions: discordapi.NoMentions(),
	}, nil
}

// truncate shortens s to at most n characters, marking the cut.
func truncate(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
}
