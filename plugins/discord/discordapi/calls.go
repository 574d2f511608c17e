package discordapi

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
)

// InviteParams is the body of Create Channel Invite.
type InviteParams struct {
	// MaxAge is the lifetime in seconds, 0–604800; 0 never expires.
	MaxAge int `json:"max_age"`
	// MaxUses is 0–100; 0 is unlimited.
	MaxUses   int  `json:"max_uses"`
	Temporary bool `json:"temporary"`
	// Unique forces a new invite; otherwise Discord may return an existing
	// one with the same settings.
	Unique bool `json:"unique"`
}

// CreateChannelInvite creates an invite to channelID. The bot needs
// CREATE_INSTANT_INVITE. reason, if not empty, goes to the guild's audit log.
func (c *Client) CreateChannelInvite(ctx context.Context, channelID string, p InviteParams, reason string) (*Invite, error) {
	if err := checkIDs(channelID); err != nil {
		return nil, err
	}
	var inv Invite
	err := c.do(ctx, call{
		method: http.MethodPost,
		route:  "POST /channels/{channel.id}/invites",
		major:  channelID,
		url:    c.botURL("channels", channelID, "invites"),
		body:   p,
		bot:    true,
		reason: reason,
	}, &inv)
	if err != nil {
		return nil, err
	}
	return &inv, nil
}

// GetGuildMember returns userID's membership of guildID; a user who is not a
// member is a 404 with code CodeUnknownMember.
func (c *Client) GetGuildMember(ctx context.Context, guildID, userID string) (*Member, error) {
	if err := checkIDs(guildID, userID); err != nil {
		return nil, err
	}
	var m Member
	err := c.do(ctx, call{
		method: http.MethodGet,
		route:  "GET /guilds/{guild.id}/members/{user.id}",
		major:  guildID,
		url:    c.botURL("guilds", guildID, "members", userID),
		bot:    true,
	}, &m)
	if err != nil {
		return nil, err
	}
	return &m, nil
}

// AddGuildMemberRole gives userID the role roleID; giving a role the member
// already has succeeds. The bot needs MANAGE_ROLES.
func (c *Client) AddGuildMemberRole(ctx context.Context, guildID, userID, roleID, reason string) error {
	return c.memberRole(ctx, http.MethodPut, guildID, userID, roleID, reason)
}

// RemoveGuildMemberRole takes the role roleID from userID; removing a role the
// member lacks succeeds. The bot needs MANAGE_ROLES.
func (c *Client) RemoveGuildMemberRole(ctx context.Context, guildID, userID, roleID, reason string) error {
	return c.memberRole(ctx, http.MethodDelete, guildID, userID, roleID, reason)
}

func (c *Client) memberRole(ctx context.Context, method, guildID, userID, roleID, reason string) error {
	if err := checkIDs(guildID, userID, roleID); err != nil {
		return err
	}
	return c.do(ctx, call{
		method: method,
		route:  method + " /guilds/{guild.id}/members/{user.id}/roles/{role.id}",
		major:  guildID,
		url:    c.botURL("guilds", guildID, "members", userID, "roles", roleID),
		bot:    true,
		reason: reason,
	}, nil)
}

// ExecuteWebhook posts msg through the webhook at webhookURL (as Discord shows
// it: .../api/webhooks/{id}/{token}). No Authorization header is sent; the
// token in the URL is the credential. With wait, Discord confirms the message
// and it is returned; without, the result is nil. A webhook that answers 404
// is deleted, and later calls to it fail without a request.
func (c *Client) ExecuteWebhook(ctx context.Context, webhookURL string, msg WebhookMessage, wait bool) (*Message, error) {
	u, id, token, err := ParseWebhookURL(webhookURL)
	if err != nil {
		return nil, err
	}
	const route = "POST /webhooks/{webhook.id}/{webhook.token}"
	key := id + "/" + token
	c.goneMu.Lock()
	gone := c.gone[key]
	c.goneMu.Unlock()
	if gone {
		return nil, &APIError{Route: route, StatusCode: http.StatusNotFound, Code: CodeUnknownWebhook,
			Message: "Unknown Webhook (answered 404 before; not called again)"}
	}
	if wait {
		q := u.Query()
		q.Set("wait", "true")
		u.RawQuery = q.Encode()
	}
	var out *Message
	if wait {
		out = new(Message)
	}
	err = c.do(ctx, call{
		method:  http.MethodPost,
		route:   route,
		major:   key,
		url:     u.String(),
		body:    msg,
		webhook: key,
	}, out)
	if err != nil {
		return nil, err
	}
	return out, nil
}

// ParseWebhookURL checks that raw is an absolute http(s) URL whose path ends
// in /webhooks/{id}/{token} and returns it with the id and token.
func ParseWebhookURL(raw string) (u *url.URL, id, token string, err error) {
	u, err = url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, "", "", ErrInvalidWebhookURL
	}
	parts := strings.Split(strings.Trim(u.Path, "/"), "/")
	n := len(parts)
	if n < 3 || parts[n-3] != "webhooks" || !IsSnowflake(parts[n-2]) || parts[n-1] == "" {
		return nil, "", "", ErrInvalidWebhookURL
	}
	u.RawQuery, u.Fragment = "", ""
	return u, parts[n-2], parts[n-1], nil
}

// IsSnowflake reports whether s looks like a Discord id: 1 to 20 decimal digits.
func IsSnowflake(s string) bool {
	if len(s) == 0 || len(s) > 20 {
		return false
	}
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

// checkIDs refuses anything but snowflakes, so an argument can never change
// the request path.
func checkIDs(ids ...string) error {
	for _, id := range ids {
		if !IsSnowflake(id) {
			return fmt.Errorf("discordapi: %q: %w", id, ErrInvalidID)
		}
	}
	return nil
}
