package fakediscord

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"
)

// Named is a channel or role: its id and name.
type Named struct {
	ID, Name string
}

// WebhookSeed is a webhook with a fixed id and token on one of the seed's
// channels.
type WebhookSeed struct {
	ID, Token, ChannelID string
}

// GuildSeed is a guild whose ids the caller chooses, so that a configuration
// file can name them (the sandbox's config/examples/demo.hcl does). AddGuild
// and its siblings pick ids themselves.
type GuildSeed struct {
	ID, Name string
	Channels []Named
	Roles    []Named
	Webhooks []WebhookSeed
}

// Seed creates the guild, its channels, roles and webhooks. Every id must be
// a snowflake the fake does not use yet, and every webhook must be on one of
// the seed's channels; nothing is created otherwise.
func (s *Server) Seed(g GuildSeed) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	seen := map[string]bool{}
	check := func(what, id string) error {
		if !isSnowflake(id) {
			return fmt.Errorf("fakediscord: %s id %q is not a snowflake", what, id)
		}
		if seen[id] || s.guilds[id] != nil || s.channels[id] != nil || s.webhooks[id] != nil || s.roleInUse(id) {
			return fmt.Errorf("fakediscord: %s id %s is already used", what, id)
		}
		seen[id] = true
		return nil
	}
	if err := check("guild", g.ID); err != nil {
		return err
	}
	var errs []error
	for _, c := range g.Channels {
		errs = append(errs, check("channel", c.ID))
	}
	for _, r := range g.Roles {
		errs = append(errs, check("role", r.ID))
	}
	for _, w := range g.Webhooks {
		errs = append(errs, check("webhook", w.ID))
		if !slices.ContainsFunc(g.Channels, func(c Named) bool { return c.ID == w.ChannelID }) {
			errs = append(errs, fmt.Errorf("fakediscord: webhook %s is on channel %s, which the seed does not create", w.ID, w.ChannelID))
		}
		if w.Token == "" {
			errs = append(errs, fmt.Errorf("fakediscord: webhook %s has no token", w.ID))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return err
	}
	gd := &guild{id: g.ID, name: g.Name, roles: make(map[string]string),
		members: make(map[string]*member), denied: make(map[string]bool)}
	s.guilds[g.ID] = gd
	for _, c := range g.Channels {
		s.channels[c.ID] = &channel{id: c.ID, guildID: g.ID, name: c.Name}
	}
	for _, r := range g.Roles {
		gd.roles[r.ID] = r.Name
	}
	for _, w := range g.Webhooks {
		s.webhooks[w.ID] = &webhook{id: w.ID, token: w.Token, channelID: w.ChannelID}
	}
	return nil
}

func (s *Server) roleInUse(id string) bool {
	for _, g := range s.guilds {
		if _, ok := g.roles[id]; ok {
			return true
		}
	}
	return false
}

// ErrUnknownInvite is JoinWithInvite's answer for a code that does not
// exist, expired or was used up (Discord deletes such invites).
var ErrUnknownInvite = errors.New("fakediscord: Unknown Invite")

// JoinWithInvite does what accepting an invite does on Discord: the user
// becomes a member of the invite's guild (with no roles) and the invite's
// use is counted; an invite that reached its max_uses is deleted. A user who
// is already a member stays as they are and uses nothing.
func (s *Server) JoinWithInvite(code, userID, username string) (guildID string, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.join(code, userID, username)
}

func (s *Server) join(code, userID, username string) (string, error) {
	if !isSnowflake(userID) {
		return "", fmt.Errorf("fakediscord: user id %q is not a snowflake", userID)
	}
	now := time.Now()
	i := slices.IndexFunc(s.invites, func(inv *inviteObject) bool { return inv.Code == code && !inv.deleted })
	if i < 0 {
		return "", ErrUnknownInvite
	}
	inv := s.invites[i]
	if inv.ExpiresAt != nil && !now.Before(time.Time(*inv.ExpiresAt)) {
		inv.deleted = true
		return "", ErrUnknownInvite
	}
	g := s.guilds[inv.Guild.ID]
	if g.members[userID] != nil {
		return g.id, nil
	}
	g.members[userID] = &member{user: userObject{ID: userID, Username: username, Discriminator: "0"}, joinedAt: now.UTC()}
	inv.Uses++
	if inv.MaxUses > 0 && inv.Uses >= inv.MaxUses {
		inv.deleted = true
	}
	s.logf("%s (%s) joined %q with invite %s", username, userID, g.name, code)
	return g.id, nil
}

// isSnowflake reports whether id is a Discord id: digits, at most 20.
func isSnowflake(id string) bool {
	if id == "" || len(id) > 20 {
		return false
	}
	_, err := strconv.ParseUint(id, 10, 64)
	return err == nil
}
