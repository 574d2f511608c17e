package community

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/riverqueue/river"
	"github.com/uptrace/bun"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/ezscale/platform/core/apperr"
	"github.com/ezscale/platform/core/audit"
	"github.com/ezscale/platform/core/database"
	"github.com/ezscale/platform/core/jobs"
	"github.com/ezscale/platform/sdk"
	pb "github.com/ezscale/platform/sdk/pluginv1"
)

// Community roles the core manages (names from the discord plugin's
// roles setting).
const (
	RoleVPS    = "vps"
	RoleGaming = "gaming"
	RoleVIP    = "vip"
)

// Holdings is what a user's accounts have, as far as community roles go.
type Holdings struct {
	// VPS: an active VPS or dedicated server.
	VPS bool
	// Gaming: an active game server.
	Gaming bool
	// VIP: whatever the operator rewards (billing decides).
	VIP bool
}

// Roles are the community roles the holdings earn.
func (h Holdings) Roles() []string {
	var out []string
	if h.VPS {
		out = append(out, RoleVPS)
	}
	if h.Gaming {
		out = append(out, RoleGaming)
	}
	if h.VIP {
		out = append(out, RoleVIP)
	}
	return out
}

// HoldingsProvider says what a user holds (billing implements it over its
// services and plans).
type HoldingsProvider interface {
	Holdings(ctx context.Context, userID string) (Holdings, error)
}

// HoldingsFunc adapts a function to HoldingsProvider.
type HoldingsFunc func(ctx context.Context, userID string) (Holdings, error)

// Holdings implements HoldingsProvider.
func (f HoldingsFunc) Holdings(ctx context.Context, userID string) (Holdings, error) {
	return f(ctx, userID)
}

// Directory says who belongs to which account (accounts implements it).
type Directory interface {
	// PrimaryAccount is the account the user joined first ("" when
	// none): invite and link calls name it for Discord's audit log.
	PrimaryAccount(ctx context.Context, userID string) (string, error)
	// MemberIDs lists the users of an account.
	MemberIDs(ctx context.Context, accountID string) ([]string, error)
}

// Plugins finds the community plugin by its config name (*pluginhost.Host).
type Plugins interface {
	Community(name string) (sdk.Community, error)
}

// Options configure the community (config.Notifications keeps its
// settings, where operators have always set them).
type Options struct {
	// Plugin names the community plugin; "" turns the community off.
	Plugin string
	// InviteMaxAge is the life of a signup invite (24 h).
	InviteMaxAge time.Duration
	// RoleSyncInterval is how often every linked user's roles are synced
	// (6 h), so roles follow holdings even when no change asked.
	RoleSyncInterval time.Duration
}

// DefaultOptions are the community's settings when nothing is configured.
func DefaultOptions() Options {
	return Options{InviteMaxAge: 24 * time.Hour, RoleSyncInterval: 6 * time.Hour}
}

// Deps are what the community needs from the rest of the platform.
type Deps struct {
	DB   *database.DB
	Jobs *jobs.Registry
	// Plugins reaches the community plugin; nil makes its calls fail as
	// unavailable (and be retried).
	Plugins  Plugins
	Holdings HoldingsProvider
	Accounts Directory
	// Now is the clock (tests drive it); nil: the wall clock.
	Now func() time.Time
}

// Service is the Discord community.
type Service struct {
	db       *database.DB
	jobs     *jobs.Inserter
	plugins  Plugins
	holdings HoldingsProvider
	accounts Directory
	opts     Options
	now      func() time.Time
	// maxTimeout caps the job kinds' timeouts below the engine's rescue
	// horizon.
	maxTimeout time.Duration
}

// New builds the community and registers its jobs with d.Jobs.
func New(d Deps, opts Options) *Service {
	def := DefaultOptions()
	opts.InviteMaxAge = cmp.Or(max(opts.InviteMaxAge, 0), def.InviteMaxAge)
	opts.RoleSyncInterval = cmp.Or(max(opts.RoleSyncInterval, 0), def.RoleSyncInterval)
	s := &Service{
		db: d.DB, jobs: d.Jobs.Inserter(), plugins: d.Plugins, holdings: d.Holdings, accounts: d.Accounts,
		opts: opts, now: d.Now, maxTimeout: d.Jobs.MaxTimeout(),
	}
	if s.now == nil {
		s.now = func() time.Time { return time.Now().UTC() }
	}
	s.registerJobs(d.Jobs)
	return s
}

// Enabled reports whether a community plugin is configured.
func (s *Service) Enabled() bool { return s.opts.Plugin != "" }

// Link is a user's linked Discord account.
type Link struct {
	bun.BaseModel `bun:"table:discord_links"`

	UserID        string     `bun:"user_id,pk" json:"-"`
	DiscordUserID string     `bun:"discord_user_id" json:"discord_user_id"`
	DisplayName   string     `bun:"display_name" json:"display_name"`
	Roles         string     `bun:"roles" json:"-"`
	SyncedAt      *time.Time `bun:"synced_at" json:"synced_at"`
	LinkedAt      time.Time  `bun:"linked_at" json:"linked_at"`
}

// Invite is a user's single-use invite.
type Invite struct {
	bun.BaseModel `bun:"table:discord_invites"`

	UserID    string    `bun:"user_id,pk" json:"-"`
	AccountID *string   `bun:"account_id" json:"-"`
	Code      string    `bun:"code" json:"code"`
	URL       string    `bun:"url" json:"url"`
	ExpiresAt time.Time `bun:"expires_at" json:"expires_at"`
	CreatedAt time.Time `bun:"created_at" json:"created_at"`
}

// Status is what the user sees of the community.
type Status struct {
	Enabled bool     `json:"enabled"`
	Link    *Link    `json:"link"`
	Invite  *Invite  `json:"invite"`
	Roles   []string `json:"roles"`
}

var errNoPlugins = errors.New("community: no plugin host")

func (s *Service) community() (sdk.Community, error) {
	if s.opts.Plugin == "" {
		return nil, apperr.New(apperr.Conflict, "the Discord community is not configured").WithReason("community_disabled")
	}
	if s.plugins == nil {
		return nil, &apperr.Error{Code: apperr.Unavailable, Message: "the Discord community is not available", Err: errNoPlugins}
	}
	c, err := s.plugins.Community(s.opts.Plugin)
	if err != nil {
		return nil, &apperr.Error{Code: apperr.Unavailable, Message: "the Discord community is not available", Err: err}
	}
	return c, nil
}

// reader joins the ambient transaction, so a caller's own writes are seen.
func (s *Service) reader(ctx context.Context) bun.IDB {
	if tx, ok := database.TxFrom(ctx); ok {
		return tx
	}
	return s.db.Read
}

// OnSignup schedules a new user's community onboarding in tx: a single-use
// invite, created by a job (a plugin call never runs inside a
// transaction). Nothing happens without a community plugin.
func (s *Service) OnSignup(ctx context.Context, tx bun.Tx, userID, accountID string) error {
	if s.opts.Plugin == "" {
		return nil
	}
	if _, err := s.jobs.InsertTx(ctx, tx, inviteArgs{UserID: userID, AccountID: accountID}, nil); err != nil {
		return fmt.Errorf("community: scheduling the Discord invite: %w", err)
	}
	return nil
}

// createInvite asks the plugin for an invite and records it. key makes the
// plugin call idempotent.
func (s *Service) createInvite(ctx context.Context, userID, accountID, key string) (*Invite, error) {
	c, err := s.community()
	if err != nil {
		return nil, err
	}
	resp, err := c.CreateInvite(ctx, &pb.CreateInviteRequest{
		IdempotencyKey: key, AccountId: accountID, MaxAge: durationpb.New(s.opts.InviteMaxAge),
	})
	if err != nil {
		return nil, err
	}
	inv := &Invite{UserID: userID, Code: resp.GetCode(), URL: resp.GetUrl(), CreatedAt: s.now()}
	if accountID != "" {
		inv.AccountID = &accountID
	}
	inv.ExpiresAt = s.now().Add(s.opts.InviteMaxAge)
	if resp.GetExpiresAt() != nil {
		inv.ExpiresAt = resp.GetExpiresAt().AsTime().UTC()
	}
	_, err = s.db.Conn(ctx).NewInsert().Model(inv).
		On("CONFLICT (user_id) DO UPDATE").
		Set("account_id = EXCLUDED.account_id").Set("code = EXCLUDED.code").Set("url = EXCLUDED.url").
		Set("expires_at = EXCLUDED.expires_at").Set("created_at = EXCLUDED.created_at").Exec(ctx)
	if err != nil {
		return nil, fmt.Errorf("community: recording the Discord invite: %w", err)
	}
	return inv, nil
}

// Status returns the user's link, current invite and managed roles.
func (s *Service) Status(ctx context.Context, userID string) (*Status, error) {
	st := &Status{Enabled: s.opts.Plugin != "", Roles: []string{}}
	link := &Link{}
	err := s.reader(ctx).NewSelect().Model(link).Where("user_id = ?", userID).Scan(ctx)
	switch {
	case err == nil:
		st.Link = link
		if link.Roles != "" {
			st.Roles = strings.Split(link.Roles, " ")
		}
	case !database.IsNoRows(err):
		return nil, fmt.Errorf("community: loading the Discord link: %w", err)
	}
	inv := &Invite{}
	err = s.reader(ctx).NewSelect().Model(inv).Where("user_id = ?", userID).Scan(ctx)
	switch {
	case err == nil:
		if inv.ExpiresAt.After(s.now()) {
			st.Invite = inv
		}
	case !database.IsNoRows(err):
		return nil, fmt.Errorf("community: loading the Discord invite: %w", err)
	}
	return st, nil
}

// NewInvite returns the user's live invite, or asks the plugin for a new
// one when it expired. Errors: Conflict (community not configured), and
// the plugin's errors as apperr.FromPlugin maps them.
func (s *Service) NewInvite(ctx context.Context, userID string) (*Invite, error) {
	st, err := s.Status(ctx, userID)
	if err != nil {
		return nil, err
	}
	if st.Invite != nil {
		return st.Invite, nil
	}
	account, err := s.accounts.PrimaryAccount(ctx, userID)
	if err != nil {
		return nil, err
	}
	// One invite per user per hour at most, whatever the retries.
	key := "invite:" + userID + ":" + s.now().Truncate(time.Hour).Format(time.RFC3339)
	inv, err := s.createInvite(ctx, userID, account, key)
	if err != nil {
		return nil, pluginError(err)
	}
	return inv, nil
}

// Link ties a Discord user id to the user after the plugin checks that
// this Discord user is a member of the server, then schedules a role sync.
// Without Discord OAuth the core cannot prove the id is the user's own;
// each Discord account can be linked to one user only.
// Errors: Invalid (discord_user_id), NotFound (not a member of the
// server: the plugin's NotFound means that here), Conflict (linked to
// another user, or community off), and the plugin's other errors as
// apperr.FromPlugin maps them.
func (s *Service) Link(ctx context.Context, userID, discordUserID string) (*Link, error) {
	discordUserID = strings.TrimSpace(discordUserID)
	if !isDiscordUserID(discordUserID) {
		return nil, apperr.Field("discord_user_id", "must be a Discord user id (a number of 17 to 20 digits)")
	}
	c, err := s.community()
	if err != nil {
		return nil, err
	}
	account, err := s.accounts.PrimaryAccount(ctx, userID)
	if err != nil {
		return nil, err
	}
	// The plugin call happens before, and outside, the transaction.
	resp, err := c.LinkUser(ctx, &pb.LinkUserRequest{AccountId: account, UserExternalId: discordUserID})
	if err != nil {
		if sdk.KindOf(err) == sdk.NotFound {
			return nil, apperr.New(apperr.NotFound, "this Discord user is not a member of the server; join with the invite first").WithReason("not_a_member")
		}
		return nil, pluginError(err)
	}
	link := &Link{UserID: userID, DiscordUserID: discordUserID, DisplayName: resp.GetDisplayName(), LinkedAt: s.now()}
	err = s.db.Tx(ctx, func(ctx context.Context, tx bun.Tx) error {
		var previous string
		err := tx.NewSelect().Model((*Link)(nil)).Column("discord_user_id").Where("user_id = ?", userID).Scan(ctx, &previous)
		if err != nil && !database.IsNoRows(err) {
			return fmt.Errorf("community: loading the Discord link: %w", err)
		}
		_, err = tx.NewInsert().Model(link).On("CONFLICT (user_id) DO UPDATE").
			Set("discord_user_id = EXCLUDED.discord_user_id").Set("display_name = EXCLUDED.display_name").
			Set("roles = ''").Set("synced_at = NULL").Set("linked_at = EXCLUDED.linked_at").Exec(ctx)
		if database.IsUniqueViolation(err) {
			return apperr.New(apperr.Conflict, "this Discord account is linked to another user").WithReason("discord_taken")
		}
		if err != nil {
			return fmt.Errorf("community: storing the Discord link: %w", err)
		}
		if previous != "" && previous != discordUserID {
			// The old Discord account loses the managed roles.
			if _, err := s.jobs.InsertTx(ctx, tx, roleSyncArgs{UserID: userID, DiscordUserID: previous, Clear: true}, nil); err != nil {
				return err
			}
		}
		if err := s.enqueueRoleSyncs(ctx, tx, []string{userID}); err != nil {
			return err
		}
		_, err = audit.Append(ctx, tx, audit.Event{
			Action: "notification.discord.link", TargetType: "user", TargetID: userID,
			Changes: map[string]any{"discord_user_id": discordUserID},
		})
		return err
	})
	if err != nil {
		return nil, err
	}
	return link, nil
}

// Unlink removes the link and takes the managed roles back.
// Errors: NotFound when nothing is linked.
func (s *Service) Unlink(ctx context.Context, userID string) error {
	return s.db.Tx(ctx, func(ctx context.Context, tx bun.Tx) error {
		var discordID string
		err := tx.NewDelete().Model((*Link)(nil)).Where("user_id = ?", userID).Returning("discord_user_id").Scan(ctx, &discordID)
		if database.IsNoRows(err) {
			return apperr.NotFoundf("no Discord account is linked")
		}
		if err != nil {
			return fmt.Errorf("community: unlinking Discord: %w", err)
		}
		if _, err := tx.NewDelete().Model((*roleRequest)(nil)).Where("user_id = ?", userID).Exec(ctx); err != nil {
			return fmt.Errorf("community: dropping a pending role sync: %w", err)
		}
		if s.opts.Plugin != "" {
			if _, err := s.jobs.InsertTx(ctx, tx, roleSyncArgs{UserID: userID, DiscordUserID: discordID, Clear: true}, nil); err != nil {
				return err
			}
		}
		_, err = audit.Append(ctx, tx, audit.Event{
			Action: "notification.discord.unlink", TargetType: "user", TargetID: userID,
			Changes: map[string]any{"discord_user_id": discordID},
		})
		return err
	})
}

// RequestRoleSync schedules, in tx, a role sync for every linked member of
// the account: billing's status hook calls it on every service status
// change (a service that starts, is suspended or unsuspended, ends or
// fails changes what its account's members hold).
func (s *Service) RequestRoleSync(ctx context.Context, tx bun.Tx, accountID string) error {
	if s.opts.Plugin == "" {
		return nil
	}
	members, err := s.accounts.MemberIDs(ctx, accountID)
	if err != nil || len(members) == 0 {
		return err
	}
	var linked []string
	if err := tx.NewSelect().Model((*Link)(nil)).Column("user_id").Where("user_id IN (?)", bun.List(members)).
		Scan(ctx, &linked); err != nil {
		return fmt.Errorf("community: finding linked members: %w", err)
	}
	return s.enqueueRoleSyncs(ctx, tx, linked)
}

// roleRequest is a pending role sync (see syncRoles).
type roleRequest struct {
	bun.BaseModel `bun:"table:discord_role_requests"`

	UserID      string    `bun:"user_id,pk"`
	RequestedAt time.Time `bun:"requested_at"`
}

// enqueueRoleSyncs records, in tx, that the users' roles may have changed,
// and queues a sync job per user. The jobs are not de-duplicated by River:
// a duplicate of a job that is already running would be dropped although
// that job may have read the holdings before tx commits. The request rows
// do the de-duplication instead (syncRoles).
func (s *Service) enqueueRoleSyncs(ctx context.Context, tx bun.Tx, users []string) error {
	if len(users) == 0 {
		return nil
	}
	now := s.now()
	rows := make([]roleRequest, len(users))
	params := make([]river.InsertManyParams, len(users))
	for i, u := range users {
		rows[i] = roleRequest{UserID: u, RequestedAt: now}
		params[i] = river.InsertManyParams{Args: roleSyncArgs{UserID: u}}
	}
	// An update of a pending request, not "do nothing": it locks the row
	// until tx commits, so a sync claiming that request meanwhile waits and
	// then reads holdings that include this change. Left alone, the row
	// could be claimed (deleted) by a sync that read the holdings before
	// this change committed, leaving the change with no request at all.
	if _, err := tx.NewInsert().Model(&rows).On("CONFLICT (user_id) DO UPDATE").Set("requested_at = EXCLUDED.requested_at").Exec(ctx); err != nil {
		return fmt.Errorf("community: requesting role syncs: %w", err)
	}
	return s.jobs.InsertManyTx(ctx, tx, params)
}

// claimRoleSync takes the user's pending request, in its own short
// transaction. false: there is none, because another sync claimed it after
// this job's request committed, and so read holdings that include it.
func (s *Service) claimRoleSync(ctx context.Context, userID string) (bool, error) {
	var ids []string
	err := s.db.NewRaw("DELETE FROM discord_role_requests WHERE user_id = ? RETURNING user_id", userID).Scan(ctx, &ids)
	if err != nil && !database.IsNoRows(err) {
		return false, fmt.Errorf("community: claiming a role sync: %w", err)
	}
	return len(ids) > 0, nil
}

// requeueRoleSync puts a claimed request back after a failed sync, so the
// job's retry finds it.
func (s *Service) requeueRoleSync(ctx context.Context, userID string) {
	_, _ = s.db.NewInsert().Model(&roleRequest{UserID: userID, RequestedAt: s.now()}).On("CONFLICT (user_id) DO NOTHING").Exec(context.WithoutCancel(ctx))
}

// maxRoleSyncPasses bounds how often one job re-syncs holdings that keep
// changing under it before it hands over to its retry.
const maxRoleSyncPasses = 3

// syncRoles makes the user's managed roles match their holdings.
//
// A sync claims the user's pending request first, then reads the holdings:
// every change committed before the claim is seen, and a change committed
// after it requests (and queues) a sync of its own. Syncs of one user can
// run at once, and their calls may reach Discord out of order, so a sync
// reads the holdings again after its call and syncs again when they moved.
func (s *Service) syncRoles(ctx context.Context, a roleSyncArgs) error {
	c, err := s.community()
	if err != nil {
		return err
	}
	if a.Clear {
		_, err := c.SyncRoles(ctx, &pb.SyncRolesRequest{UserExternalId: a.DiscordUserID, DesiredRoles: []string{}})
		return err
	}
	claimed, err := s.claimRoleSync(ctx, a.UserID)
	if err != nil || !claimed {
		return err
	}
	if err := s.syncClaimed(ctx, c, a.UserID); err != nil {
		s.requeueRoleSync(ctx, a.UserID)
		return err
	}
	return nil
}

func (s *Service) syncClaimed(ctx context.Context, c sdk.Community, userID string) error {
	link := &Link{}
	err := s.db.Read.NewSelect().Model(link).Where("user_id = ?", userID).Scan(ctx)
	if database.IsNoRows(err) {
		return nil // unlinked since
	}
	if err != nil {
		return fmt.Errorf("community: loading the Discord link: %w", err)
	}
	roles, err := s.rolesOf(ctx, userID)
	if err != nil {
		return err
	}
	for pass := 1; ; pass++ {
		if _, err := c.SyncRoles(ctx, &pb.SyncRolesRequest{UserExternalId: link.DiscordUserID, DesiredRoles: roles}); err != nil {
			if sdk.KindOf(err) == sdk.NotFound {
				return river.JobCancel(fmt.Errorf("discord user %s left the server: %w", link.DiscordUserID, err))
			}
			return err
		}
		_, err = s.db.NewUpdate().Model((*Link)(nil)).Set("roles = ?", strings.Join(roles, " ")).Set("synced_at = ?", s.now()).
			Where("user_id = ?", userID).Where("discord_user_id = ?", link.DiscordUserID).Exec(ctx)
		if err != nil {
			return fmt.Errorf("community: recording synced roles: %w", err)
		}
		now, err := s.rolesOf(ctx, userID)
		if err != nil {
			return err
		}
		if slices.Equal(now, roles) {
			return nil
		}
		if pass == maxRoleSyncPasses {
			return fmt.Errorf("community: the holdings of %s kept changing during %d role syncs", userID, pass)
		}
		roles = now
	}
}

// rolesOf returns the roles the user's holdings earn, sorted.
func (s *Service) rolesOf(ctx context.Context, userID string) ([]string, error) {
	h, err := s.holdings.Holdings(ctx, userID)
	if err != nil {
		return nil, fmt.Errorf("community: holdings of %s: %w", userID, err)
	}
	roles := h.Roles()
	slices.Sort(roles)
	if roles == nil {
		roles = []string{}
	}
	return roles, nil
}

// pluginError turns a plugin failure into what an API caller may see: the
// platform's one mapping of plugin errors (apperr.FromPlugin).
func pluginError(err error) error {
	return apperr.FromPlugin(err, "Discord")
}

// isDiscordUserID reports whether s looks like a Discord user id: a
// snowflake of 17 to 20 digits.
func isDiscordUserID(s string) bool {
	if len(s) < 17 || len(s) > 20 {
		return false
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}
