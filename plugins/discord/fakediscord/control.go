package fakediscord

import (
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strings"
)

// Control routes, under /__fake/ (no Discord path starts so): what a person
// does in Discord's app, and a view of the fake's state. They need no token.
//
//	POST /__fake/invites/{code}/join  {"user_id":"…","username":"…"}  accept an invite
//	GET  /__fake/state                guilds (roles, members with their role names), invites, webhook messages
func (s *Server) serveControl(w http.ResponseWriter, r *http.Request) {
	rest := strings.TrimPrefix(r.URL.Path, "/__fake/")
	switch {
	case r.Method == http.MethodGet && rest == "state":
		writeJSON(w, http.StatusOK, s.state())
	case r.Method == http.MethodPost && strings.HasPrefix(rest, "invites/") && strings.HasSuffix(rest, "/join"):
		code := strings.TrimSuffix(strings.TrimPrefix(rest, "invites/"), "/join")
		var body struct {
			UserID   string `json:"user_id"`
			Username string `json:"username"`
		}
		if err := json.NewDecoder(r.Body).Decode(&body); err != nil || body.UserID == "" {
			writeError(w, http.StatusBadRequest, 0, `body must be {"user_id":"…","username":"…"}`)
			return
		}
		if body.Username == "" {
			body.Username = "user" + body.UserID[max(0, len(body.UserID)-4):]
		}
		guildID, err := s.join(code, body.UserID, body.Username)
		switch {
		case errors.Is(err, ErrUnknownInvite):
			writeError(w, http.StatusNotFound, 10006, "Unknown Invite")
		case err != nil:
			writeError(w, http.StatusBadRequest, 0, err.Error())
		default:
			writeJSON(w, http.StatusOK, map[string]string{"guild_id": guildID, "user_id": body.UserID})
		}
	default:
		writeError(w, http.StatusNotFound, 0, "404: Not Found")
	}
}

// StateMember is a member as the state view shows it.
type StateMember struct {
	ID       string   `json:"id"`
	Username string   `json:"username"`
	Roles    []string `json:"roles"` // role names, sorted
}

// StateGuild is a guild as the state view shows it.
type StateGuild struct {
	ID       string            `json:"id"`
	Name     string            `json:"name"`
	Channels map[string]string `json:"channels"` // id → name
	Roles    map[string]string `json:"roles"`    // id → name
	Members  []StateMember     `json:"members"`  // by id
}

// StateInvite is an invite as the state view shows it.
type StateInvite struct {
	Code      string `json:"code"`
	GuildID   string `json:"guild_id"`
	ChannelID string `json:"channel_id"`
	Uses      int    `json:"uses"`
	MaxUses   int    `json:"max_uses"`
	MaxAge    int    `json:"max_age"`
	Reason    string `json:"reason"`
	Deleted   bool   `json:"deleted"`
}

// State is what GET /__fake/state returns.
type State struct {
	Guilds          []StateGuild     `json:"guilds"`
	Invites         []StateInvite    `json:"invites"`
	WebhookMessages []WebhookMessage `json:"webhook_messages"`
}

// State returns the guilds, invites and webhook messages, for a person
// looking at the sandbox and for tests.
func (s *Server) State() State {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.state()
}

func (s *Server) state() State {
	st := State{Guilds: []StateGuild{}, Invites: []StateInvite{}, WebhookMessages: slices.Clone(s.delivered)}
	if st.WebhookMessages == nil {
		st.WebhookMessages = []WebhookMessage{}
	}
	for _, g := range s.guilds {
		sg := StateGuild{ID: g.id, Name: g.name, Channels: map[string]string{}, Roles: map[string]string{}, Members: []StateMember{}}
		for id, c := range s.channels {
			if c.guildID == g.id {
				sg.Channels[id] = c.name
			}
		}
		for id, name := range g.roles {
			sg.Roles[id] = name
		}
		for id, m := range g.members {
			names := []string{}
			for _, r := range m.roles {
				names = append(names, g.roles[r])
			}
			slices.Sort(names)
			sg.Members = append(sg.Members, StateMember{ID: id, Username: m.user.Username, Roles: names})
		}
		slices.SortFunc(sg.Members, func(a, b StateMember) int { return strings.Compare(a.ID, b.ID) })
		st.Guilds = append(st.Guilds, sg)
	}
	slices.SortFunc(st.Guilds, func(a, b StateGuild) int { return strings.Compare(a.ID, b.ID) })
	for _, inv := range s.invites {
		st.Invites = append(st.Invites, StateInvite{Code: inv.Code, GuildID: inv.Guild.ID, ChannelID: inv.Channel.ID,
			Uses: inv.Uses, MaxUses: inv.MaxUses, MaxAge: inv.MaxAge, Reason: inv.reason, Deleted: inv.deleted})
	}
	return st
}

func (s *Server) logf(format string, args ...any) {
	if s.opts.Logf != nil {
		s.opts.Logf(format, args...)
	}
}

// logPath hides a webhook's token, which is its credential.
func logPath(route, path string) string {
	if route != RouteExecuteWebhook {
		return path
	}
	if i := strings.LastIndexByte(path, '/'); i >= 0 {
		return path[:i+1] + "…"
	}
	return path
}
