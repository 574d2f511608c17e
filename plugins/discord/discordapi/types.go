package discordapi

import "time"

// User is the part of Discord's user object that EZSCALE reads.
type User struct {
	ID            string  `json:"id"`
	Username      string  `json:"username"`
	Discriminator string  `json:"discriminator,omitempty"`
	GlobalName    *string `json:"global_name"`
	Bot           bool    `json:"bot,omitempty"`
}

// PartialGuild is the guild summary embedded in an invite.
type PartialGuild struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

// PartialChannel is the channel summary embedded in an invite.
type PartialChannel struct {
	ID   string `json:"id"`
	Name string `json:"name"`
	Type int    `json:"type"`
}

// Invite is Discord's invite object with the metadata returned on create.
type Invite struct {
	Type      int             `json:"type"`
	Code      string          `json:"code"`
	Guild     *PartialGuild   `json:"guild,omitempty"`
	Channel   *PartialChannel `json:"channel"`
	Inviter   *User           `json:"inviter,omitempty"`
	ExpiresAt *time.Time      `json:"expires_at"`
	Uses      int             `json:"uses"`
	MaxUses   int             `json:"max_uses"`
	MaxAge    int             `json:"max_age"`
	Temporary bool            `json:"temporary"`
	CreatedAt time.Time       `json:"created_at"`
}

// InviteBaseURL is where an invite code becomes a join link.
const InviteBaseURL = "https://discord.gg/"

// URL is the invite's join link.
func (i *Invite) URL() string { return InviteBaseURL + i.Code }

// Member is Discord's guild member object.
type Member struct {
	User     *User     `json:"user,omitempty"`
	Nick     *string   `json:"nick"`
	Roles    []string  `json:"roles"`
	JoinedAt time.Time `json:"joined_at"`
	Pending  bool      `json:"pending,omitempty"`
}

// WebhookMessage is the body of Execute Webhook. At least one of Content and
// Embeds must be set.
type WebhookMessage struct {
	// Content is up to 2000 characters of markdown.
	Content   string  `json:"content,omitempty"`
	Username  string  `json:"username,omitempty"`
	AvatarURL string  `json:"avatar_url,omitempty"`
	Embeds    []Embed `json:"embeds,omitempty"`
	// AllowedMentions limits who the message pings. Nil sends Discord's
	// default, which pings everything mentioned in the content.
	AllowedMentions *AllowedMentions `json:"allowed_mentions,omitempty"`
}

// NoMentions is the allowed_mentions value that pings nobody, for messages
// whose text comes from elsewhere (an @everyone in a service name must not
// ping a whole server).
func NoMentions() *AllowedMentions { return &AllowedMentions{Parse: []string{}} }

// AllowedMentions is Discord's allowed mentions object.
type AllowedMentions struct {
	// Parse lists the mention types to ping: "roles", "users", "everyone".
	// Empty (not nil) pings nobody.
	Parse []string `json:"parse"`
}

// Embed is a rich embed of a message.
type Embed struct {
	Title       string       `json:"title,omitempty"`
	Description string       `json:"description,omitempty"`
	URL         string       `json:"url,omitempty"`
	Color       int          `json:"color,omitempty"`
	Timestamp   *time.Time   `json:"timestamp,omitempty"`
	Footer      *EmbedFooter `json:"footer,omitempty"`
	Fields      []EmbedField `json:"fields,omitempty"`
}

// EmbedFooter is an embed's footer.
type EmbedFooter struct {
	Text string `json:"text"`
}

// EmbedField is one name/value pair of an embed.
type EmbedField struct {
	Name   string `json:"name"`
	Value  string `json:"value"`
	Inline bool   `json:"inline,omitempty"`
}

// Message is the message object Execute Webhook returns with ?wait=true.
type Message struct {
	ID        string    `json:"id"`
	ChannelID string    `json:"channel_id"`
	WebhookID string    `json:"webhook_id,omitempty"`
	Content   string    `json:"content"`
	Embeds    []Embed   `json:"embeds"`
	Timestamp time.Time `json:"timestamp"`
}
