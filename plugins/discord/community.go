package main

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/ezscale/platform/plugins/discord/discordapi"
	"github.com/ezscale/platform/sdk"
	pb "github.com/ezscale/platform/sdk/pluginv1"
)

// botSettings returns the settings when the bot is configured.
func (p *Plugin) botSettings() (*settings, error) {
	s, err := p.Settings()
	switch {
	case err != nil:
		return nil, err
	case !s.bot:
		return nil, sdk.Errorf(sdk.NotSupported, "community features need bot_token, guild_id and invite_channel_id in the plugin's config")
	}
	return s, nil
}

// CreateInvite creates a single-use invite to the invite channel, valid for
// the request's max_age or invite_max_age (24 h by default). A repeat with
// the same idempotency key returns the same invite.
func (p *Plugin) CreateInvite(ctx context.Context, req *pb.CreateInviteRequest) (*pb.CreateInviteResponse, error) {
	s, err := p.botSettings()
	if err != nil {
		return nil, err
	}
	if req.GetAccountId() == "" {
		return nil, sdk.FieldErrorf("account_id", "is required")
	}
	maxAge := s.inviteMaxAge
	if req.GetMaxAge() != nil {
		maxAge = req.GetMaxAge().AsDuration()
		if maxAge < time.Second || maxAge > maxInviteAge {
			return nil, sdk.FieldErrorf("max_age", "must be between 1s and 168h; an invite that never expires is not offered")
		}
	}
	inv, err := p.invites.Do(ctx, req.GetIdempotencyKey(), func() (*discordapi.Invite, error) {
		inv, err := s.client.CreateChannelInvite(ctx, s.channelID, discordapi.InviteParams{
			MaxAge:  int((maxAge + time.Second - 1) / time.Second),
			MaxUses: 1,
			// Unique: without it Discord may hand out an existing invite
			// with the same settings, which another customer may hold.
			Unique: true,
		}, "EZSCALE invite for account "+req.GetAccountId())
		return inv, toSDK(err)
	})
	if err != nil {
		return nil, err
	}
	out := &pb.CreateInviteResponse{Url: inv.URL(), Code: inv.Code}
	if inv.ExpiresAt != nil {
		out.ExpiresAt = timestamppb.New(*inv.ExpiresAt)
	}
	return out, nil
}

// SyncRoles makes the member's managed roles (those named in the config's
// roles) exactly desired_roles: missing ones are added, extra ones removed,
// and roles the plugin does not manage are left alone. Calling it again with
// the same roles changes nothing.
func (p *Plugin) SyncRoles(ctx context.Context, req *pb.SyncRolesRequest) (*pb.SyncRolesResponse, error) {
	s, err := p.botSettings()
	if err != nil {
		return nil, err
	}
	userID := req.GetUserExternalId()
	if !discordapi.IsSnowflake(userID) {
		return nil, sdk.FieldErrorf("user_external_id", "%q is not a Discord user id", userID)
	}
	desired := map[string]bool{}
	for _, name := range req.GetDesiredRoles() {
		if _, ok := s.roles[name]; !ok {
			return nil, sdk.FieldErrorf("desired_roles", "unknown role %q; the managed roles are %s",
				name, strings.Join(s.roleNames, ", "))
		}
		desired[name] = true
	}
	m, err := s.client.GetGuildMember(ctx, s.guildID, userID)
	if err != nil {
		return nil, memberError(err)
	}
	has := map[string]bool{}
	for _, id := range m.Roles {
		has[id] = true
	}
	out := &pb.SyncRolesResponse{Added: []string{}, Removed: []string{}}
	reason := "EZSCALE role sync"
	for _, name := range s.roleNames {
		id := s.roles[name]
		switch {
		case desired[name] && !has[id]:
			if err := s.client.AddGuildMemberRole(ctx, s.guildID, userID, id, reason); err != nil {
				return nil, toSDK(fmt.Errorf("adding role %s: %w", name, err))
			}
			out.Added = append(out.Added, name)
		case !desired[name] && has[id]:
			if err := s.client.RemoveGuildMemberRole(ctx, s.guildID, userID, id, reason); err != nil {
				return nil, toSDK(fmt.Errorf("removing role %s: %w", name, err))
			}
			out.Removed = append(out.Removed, name)
		}
	}
	slices.Sort(out.Added)
	slices.Sort(out.Removed)
	return out, nil
}

// LinkUser checks that the Discord user is a member of the guild before the
// core records the link, and returns the name the guild shows for them.
func (p *Plugin) LinkUser(ctx context.Context, req *pb.LinkUserRequest) (*pb.LinkUserResponse, error) {
	s, err := p.botSettings()
	if err != nil {
		return nil, err
	}
	if req.GetAccountId() == "" {
		return nil, sdk.FieldErrorf("account_id", "is required")
	}
	if !discordapi.IsSnowflake(req.GetUserExternalId()) {
		return nil, sdk.FieldErrorf("user_external_id", "%q is not a Discord user id", req.GetUserExternalId())
	}
	m, err := s.client.GetGuildMember(ctx, s.guildID, req.GetUserExternalId())
	if err != nil {
		return nil, memberError(err)
	}
	return &pb.LinkUserResponse{DisplayName: displayName(m)}, nil
}

// memberError explains the common case of a user who has not joined.
func memberError(err error) error {
	if discordapi.HasCode(err, discordapi.CodeUnknownMember) {
		return sdk.Errorf(sdk.NotFound, "the Discord user is not a member of the server; they must join with an invite first")
	}
	return toSDK(err)
}

func displayName(m *discordapi.Member) string {
	switch {
	case m.Nick != nil && *m.Nick != "":
		return *m.Nick
	case m.User == nil:
		return ""
	case m.User.GlobalName != nil && *m.User.GlobalName != "":
		return *m.User.GlobalName
	}
	return m.User.Username
}
