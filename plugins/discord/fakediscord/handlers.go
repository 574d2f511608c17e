package fakediscord

import (
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// discordTime marshals as Discord writes timestamps (ISO 8601 with +00:00).
type discordTime time.Time

func (t discordTime) MarshalJSON() ([]byte, error) {
	return json.Marshal(time.Time(t).UTC().Format("2006-01-02T15:04:05.000000+00:00"))
}

type userObject struct {
	ID            string  `json:"id"`
	Username      string  `json:"username"`
	Discriminator string  `json:"discriminator"`
	GlobalName    *string `json:"global_name"`
	Avatar        *string `json:"avatar"`
	Bot           bool    `json:"bot,omitempty"`
}

type inviteObject struct {
	Type      int          `json:"type"`
	Code      string       `json:"code"`
	Guild     guildObject  `json:"guild"`
	Channel   channelObj   `json:"channel"`
	Inviter   userObject   `json:"inviter"`
	Uses      int          `json:"uses"`
	MaxUses   int          `json:"max_uses"`
	MaxAge    int          `json:"max_age"`
	Temporary bool         `json:"temporary"`
	CreatedAt discordTime  `json:"created_at"`
	ExpiresAt *discordTime `json:"expires_at"`

	reason string
	// deleted: used up or expired; Discord deletes such invites.
	deleted bool
}

type guildObject struct {
	ID       string   `json:"id"`
	Name     string   `json:"name"`
	Icon     *string  `json:"icon"`
	Features []string `json:"features"`
}

type channelObj struct {
	ID   string `json:"id"`
	Name string `json:"name"`
	Type int    `json:"type"`
}

func auditReason(r *request) string {
	reason, err := url.PathUnescape(r.Header.Get("X-Audit-Log-Reason"))
	if err != nil {
		return r.Header.Get("X-Audit-Log-Reason")
	}
	return reason
}

func (s *Server) createInvite(w http.ResponseWriter, r *request) {
	ch := s.channels[r.params["channel.id"]]
	if ch == nil {
		writeError(w, http.StatusNotFound, 10003, "Unknown Channel")
		return
	}
	g := s.guilds[ch.guildID]
	if g.denied[PermCreateInstantInvite] {
		writeError(w, http.StatusForbidden, 50013, "Missing Permissions")
		return
	}
	var p struct {
		MaxAge    *int  `json:"max_age"`
		MaxUses   *int  `json:"max_uses"`
		Temporary *bool `json:"temporary"`
		Unique    *bool `json:"unique"`
	}
	if json.Unmarshal(r.body, &p) != nil {
		// The body is required; Discord answers an empty or broken one so.
		writeError(w, http.StatusBadRequest, 50109, "The request body contains invalid JSON.")
		return
	}
	maxAge, maxUses, temporary, unique := 86400, 0, false, false
	if p.MaxAge != nil {
		maxAge = *p.MaxAge
	}
	if p.MaxUses != nil {
		maxUses = *p.MaxUses
	}
	if p.Temporary != nil {
		temporary = *p.Temporary
	}
	if p.Unique != nil {
		unique = *p.Unique
	}
	switch {
	case maxAge < 0:
		fieldError(w, "max_age", "NUMBER_TYPE_MIN", "int value should be greater than or equal to 0.")
		return
	case maxAge > 604800:
		fieldError(w, "max_age", "NUMBER_TYPE_MAX", "int value should be less than or equal to 604800.")
		return
	case maxUses < 0:
		fieldError(w, "max_uses", "NUMBER_TYPE_MIN", "int value should be greater than or equal to 0.")
		return
	case maxUses > 100:
		fieldError(w, "max_uses", "NUMBER_TYPE_MAX", "int value should be less than or equal to 100.")
		return
	}
	now := time.Now()
	if !unique {
		// Without unique Discord may hand back an existing invite with the
		// same settings; callers that need a fresh single-use invite must
		// ask for unique.
		for _, inv := range s.invites {
			live := inv.ExpiresAt == nil || now.Before(time.Time(*inv.ExpiresAt))
			if !inv.deleted && inv.Channel.ID == ch.id && inv.MaxAge == maxAge && inv.MaxUses == maxUses &&
				inv.Temporary == temporary && live {
				writeJSON(w, http.StatusOK, inv)
				return
			}
		}
	}
	inv := &inviteObject{
		Code:      randomString(10),
		Guild:     guildObject{ID: g.id, Name: g.name, Features: []string{}},
		Channel:   channelObj{ID: ch.id, Name: ch.name},
		Inviter:   s.bot,
		MaxUses:   maxUses,
		MaxAge:    maxAge,
		Temporary: temporary,
		CreatedAt: discordTime(now),
		reason:    auditReason(r),
	}
	if maxAge > 0 {
		exp := discordTime(now.Add(time.Duration(maxAge) * time.Second))
		inv.ExpiresAt = &exp
	}
	s.invites = append(s.invites, inv)
	s.logf("invite %s to #%s created (max_uses %d, max_age %ds): %s", inv.Code, ch.name, maxUses, maxAge, inv.reason)
	writeJSON(w, http.StatusOK, inv)
}

type memberObject struct {
	User     userObject  `json:"user"`
	Nick     *string     `json:"nick"`
	Avatar   *string     `json:"avatar"`
	Roles    []string    `json:"roles"`
	JoinedAt discordTime `json:"joined_at"`
	Deaf     bool        `json:"deaf"`
	Mute     bool        `json:"mute"`
	Flags    int         `json:"flags"`
	Pending  bool        `json:"pending"`
}

func (s *Server) getMember(w http.ResponseWriter, r *request) {
	g := s.guilds[r.params["guild.id"]]
	if g == nil {
		writeError(w, http.StatusNotFound, 10004, "Unknown Guild")
		return
	}
	m := g.members[r.params["user.id"]]
	if m == nil {
		writeError(w, http.StatusNotFound, 10007, "Unknown Member")
		return
	}
	roles := slices.Clone(m.roles)
	if roles == nil {
		roles = []string{}
	}
	writeJSON(w, http.StatusOK, memberObject{User: m.user, Roles: roles, JoinedAt: discordTime(m.joinedAt)})
}

func (s *Server) addMemberRole(w http.ResponseWriter, r *request) {
	m, roleID, ok := s.roleTarget(w, r)
	if !ok {
		return
	}
	if !slices.Contains(m.roles, roleID) {
		m.roles = append(m.roles, roleID)
		s.logf("role %s given to %s (%s)", s.guilds[r.params["guild.id"]].roles[roleID], m.user.Username, m.user.ID)
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) removeMemberRole(w http.ResponseWriter, r *request) {
	m, roleID, ok := s.roleTarget(w, r)
	if !ok {
		return
	}
	if slices.Contains(m.roles, roleID) {
		m.roles = slices.DeleteFunc(m.roles, func(id string) bool { return id == roleID })
		s.logf("role %s taken from %s (%s)", s.guilds[r.params["guild.id"]].roles[roleID], m.user.Username, m.user.ID)
	}
	w.WriteHeader(http.StatusNoContent)
}

// roleTarget resolves the guild, role and member of a role call, writing
// Discord's error when one is unknown or the bot lacks MANAGE_ROLES.
func (s *Server) roleTarget(w http.ResponseWriter, r *request) (*member, string, bool) {
	g := s.guilds[r.params["guild.id"]]
	if g == nil {
		writeError(w, http.StatusNotFound, 10004, "Unknown Guild")
		return nil, "", false
	}
	if g.denied[PermManageRoles] {
		writeError(w, http.StatusForbidden, 50013, "Missing Permissions")
		return nil, "", false
	}
	roleID := r.params["role.id"]
	if _, ok := g.roles[roleID]; !ok {
		writeError(w, http.StatusNotFound, 10011, "Unknown Role")
		return nil, "", false
	}
	m := g.members[r.params["user.id"]]
	if m == nil {
		writeError(w, http.StatusNotFound, 10007, "Unknown Member")
		return nil, "", false
	}
	return m, roleID, true
}

type messageObject struct {
	ID        string            `json:"id"`
	Type      int               `json:"type"`
	ChannelID string            `json:"channel_id"`
	WebhookID string            `json:"webhook_id"`
	Author    userObject        `json:"author"`
	Content   string            `json:"content"`
	Embeds    []json.RawMessage `json:"embeds"`
	Timestamp discordTime       `json:"timestamp"`
}

func (s *Server) executeWebhook(w http.ResponseWriter, r *request) {
	wh := s.webhooks[r.params["webhook.id"]]
	if wh == nil {
		writeError(w, http.StatusNotFound, 10015, "Unknown Webhook")
		return
	}
	if r.params["webhook.token"] != wh.token {
		writeError(w, http.StatusUnauthorized, 50027, "Invalid Webhook Token")
		return
	}
	var msg struct {
		Content  string            `json:"content"`
		Username string            `json:"username"`
		Embeds   []json.RawMessage `json:"embeds"`
	}
	if json.Unmarshal(r.body, &msg) != nil {
		writeError(w, http.StatusBadRequest, 50109, "The request body contains invalid JSON.")
		return
	}
	switch {
	case utf8.RuneCountInString(msg.Content) > 2000:
		fieldError(w, "content", "BASE_TYPE_MAX_LENGTH", "Must be 2000 or fewer in length.")
		return
	case len(msg.Embeds) > 10:
		fieldError(w, "embeds", "BASE_TYPE_MAX_LENGTH", "Must be 10 or fewer in length.")
		return
	case strings.Contains(strings.ToLower(msg.Username), "discord"):
		fieldError(w, "username", "USERNAME_INVALID_CONTAINS", `Username cannot contain "discord"`)
		return
	case strings.TrimSpace(msg.Content) == "" && len(msg.Embeds) == 0:
		writeError(w, http.StatusBadRequest, 50006, "Cannot send an empty message")
		return
	}
	id := s.newID()
	s.delivered = append(s.delivered, WebhookMessage{WebhookID: wh.id, MessageID: id, Body: json.RawMessage(r.body)})
	s.logf("webhook message %s to #%s: %s", id, s.channels[wh.channelID].name, summary(msg.Content, msg.Embeds))
	if r.URL.Query().Get("wait") != "true" {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	username := msg.Username
	if username == "" {
		username = "Captain Hook"
	}
	embeds := msg.Embeds
	if embeds == nil {
		embeds = []json.RawMessage{}
	}
	writeJSON(w, http.StatusOK, messageObject{
		ID: id, ChannelID: wh.channelID, WebhookID: wh.id,
		Author:  userObject{ID: wh.id, Username: username, Discriminator: "0000", Bot: true},
		Content: msg.Content, Embeds: embeds, Timestamp: discordTime(time.Now()),
	})
}

// summary is what the log shows of a webhook message: its first embed's
// title, else its text, cut short.
func summary(content string, embeds []json.RawMessage) string {
	text := content
	if len(embeds) > 0 {
		var e struct {
			Title string `json:"title"`
		}
		if json.Unmarshal(embeds[0], &e) == nil && e.Title != "" {
			text = e.Title
		}
	}
	if r := []rune(text); len(r) > 120 {
		text = string(r[:120]) + "…"
	}
	return strconv.Quote(text)
}
