package httpapi

import (
	"net/http"

	"github.com/ezscale/platform/core/community"
)

// CommunityAPI serves a user's side of the Discord community: their link,
// invite and managed roles.
type CommunityAPI struct {
	Community *community.Service
}

// Routes implements Module.
func (m *CommunityAPI) Routes(s *Server) {
	s.Handle(Route{Method: "GET", Path: "/api/v1/me/discord", Auth: User, Scope: "account:read", Handler: m.status})
	s.Handle(Route{Method: "PUT", Path: "/api/v1/me/discord/link", Auth: User, Scope: "account:write", RateLimit: s.sensitive(), RateBucket: "discord", Handler: m.link})
	s.Handle(Route{Method: "DELETE", Path: "/api/v1/me/discord/link", Auth: User, Scope: "account:write", Handler: m.unlink})
	s.Handle(Route{Method: "POST", Path: "/api/v1/me/discord/invite", Auth: User, Scope: "account:write", RateLimit: s.sensitive(), RateBucket: "discord", Handler: m.invite})
}

func (m *CommunityAPI) status(w http.ResponseWriter, r *http.Request) error {
	st, err := m.Community.Status(r.Context(), PrincipalFrom(r.Context()).UserID)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, st)
}

func (m *CommunityAPI) link(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		DiscordUserID string `json:"discord_user_id"`
	}
	if err := Decode(r, &in); err != nil {
		return err
	}
	if _, err := m.Community.Link(r.Context(), PrincipalFrom(r.Context()).UserID, in.DiscordUserID); err != nil {
		return err
	}
	return m.status(w, r)
}

func (m *CommunityAPI) unlink(w http.ResponseWriter, r *http.Request) error {
	if err := m.Community.Unlink(r.Context(), PrincipalFrom(r.Context()).UserID); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (m *CommunityAPI) invite(w http.ResponseWriter, r *http.Request) error {
	inv, err := m.Community.NewInvite(r.Context(), PrincipalFrom(r.Context()).UserID)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, inv)
}
