package fakediscord

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Routes, as InjectFailure and Request.Route name them.
const (
	RouteCreateInvite     = "POST /channels/{channel.id}/invites"
	RouteGetMember        = "GET /guilds/{guild.id}/members/{user.id}"
	RouteAddMemberRole    = "PUT /guilds/{guild.id}/members/{user.id}/roles/{role.id}"
	RouteRemoveMemberRole = "DELETE /guilds/{guild.id}/members/{user.id}/roles/{role.id}"
	RouteExecuteWebhook   = "POST /webhooks/{webhook.id}/{webhook.token}"
)

// Permissions the fake checks; a bot has them all in every guild unless
// DenyPermission removed one.
const (
	PermCreateInstantInvite = "CREATE_INSTANT_INVITE"
	PermManageRoles         = "MANAGE_ROLES"
)

// Options configures a Server.
type Options struct {
	// BotToken is the only token accepted in "Authorization: Bot <token>".
	BotToken string
	// BucketLimit requests are allowed per bucket per BucketWindow
	// (defaults 50 and 1s). A bucket is a route's rate-limit bucket times its
	// major parameter, as on Discord.
	BucketLimit  int
	BucketWindow time.Duration
	// GlobalLimit is the bot's requests per second over all routes
	// (default 50, Discord's figure). Webhooks are not counted.
	GlobalLimit int
	// Logf, when set, is told about every API request and what it changed
	// (invites, members joining, roles given and taken, webhook messages),
	// so a person running the sandbox can follow along. Webhook tokens are
	// left out.
	Logf func(format string, args ...any)
}

// Server is the fake. Its methods are safe for concurrent use, including
// while it serves.
type Server struct {
	opts   Options
	routes []route
	bot    userObject

	mu        sync.Mutex
	nextID    uint64
	guilds    map[string]*guild
	channels  map[string]*channel
	webhooks  map[string]*webhook
	invites   []*inviteObject
	buckets   map[string]*window
	global    window
	failures  map[string][]*Failure
	requests  []Request
	delivered []WebhookMessage
}

// New returns a Server with no guilds.
func New(opts Options) *Server {
	if opts.BucketLimit <= 0 {
		opts.BucketLimit = 50
	}
	if opts.BucketWindow <= 0 {
		opts.BucketWindow = time.Second
	}
	if opts.GlobalLimit <= 0 {
		opts.GlobalLimit = 50
	}
	s := &Server{
		opts:     opts,
		nextID:   1100000000000000000,
		guilds:   make(map[string]*guild),
		channels: make(map[string]*channel),
		webhooks: make(map[string]*webhook),
		buckets:  make(map[string]*window),
		failures: make(map[string][]*Failure),
	}
	s.bot = userObject{ID: s.newID(), Username: "ezscale-bot", Discriminator: "0", Bot: true}
	s.routes = []route{
		{pattern: RouteCreateInvite, bot: true, major: "channel.id", handle: s.createInvite},
		{pattern: RouteGetMember, bot: true, major: "guild.id", handle: s.getMember},
		{pattern: RouteAddMemberRole, bot: true, major: "guild.id", handle: s.addMemberRole},
		{pattern: RouteRemoveMemberRole, bot: true, major: "guild.id", handle: s.removeMemberRole},
		{pattern: RouteExecuteWebhook, major: "webhook.id", handle: s.executeWebhook},
	}
	for i := range s.routes {
		s.routes[i].compile()
	}
	return s
}

type guild struct {
	id, name string
	roles    map[string]string // id → name
	members  map[string]*member
	denied   map[string]bool
}

type member struct {
	user     userObject
	roles    []string
	joinedAt time.Time
}

type channel struct {
	id, guildID, name string
}

type webhook struct {
	id, token, channelID string
}

// Webhook is a webhook created by AddWebhook.
type Webhook struct {
	ID, Token string
}

// URL is the webhook's URL on the fake served at serverURL, in the form
// Discord shows it (…/api/webhooks/{id}/{token}).
func (w Webhook) URL(serverURL string) string {
	return strings.TrimRight(serverURL, "/") + "/api/webhooks/" + w.ID + "/" + w.Token
}

// BaseURL is the bot API root of the fake served at serverURL.
func BaseURL(serverURL string) string {
	return strings.TrimRight(serverURL, "/") + "/api/v10"
}

func (s *Server) newID() string {
	s.nextID++
	return strconv.FormatUint(s.nextID, 10)
}

// AddGuild creates a guild and returns its id.
func (s *Server) AddGuild(name string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	id := s.newID()
	s.guilds[id] = &guild{id: id, name: name, roles: make(map[string]string),
		members: make(map[string]*member), denied: make(map[string]bool)}
	return id
}

// AddChannel creates a text channel in guildID and returns its id.
func (s *Server) AddChannel(guildID, name string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.mustGuild(guildID)
	id := s.newID()
	s.channels[id] = &channel{id: id, guildID: guildID, name: name}
	return id
}

// AddRole creates a role in guildID and returns its id.
func (s *Server) AddRole(guildID, name string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	id := s.newID()
	s.mustGuild(guildID).roles[id] = name
	return id
}

// AddMember makes userID a member of guildID with the given roles.
func (s *Server) AddMember(guildID, userID, username string, roleIDs ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.mustGuild(guildID).members[userID] = &member{
		user:     userObject{ID: userID, Username: username, Discriminator: "0"},
		roles:    slices.Clone(roleIDs),
		joinedAt: time.Now().UTC(),
	}
}

// AddWebhook creates a webhook on channelID.
func (s *Server) AddWebhook(channelID string) Webhook {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.channels[channelID] == nil {
		panic(fmt.Sprintf("fakediscord: no channel %s", channelID))
	}
	w := &webhook{id: s.newID(), token: randomString(68), channelID: channelID}
	s.webhooks[w.id] = w
	return Webhook{ID: w.id, Token: w.token}
}

// DeleteWebhook deletes a webhook, as an admin can in Discord's UI; calls to
// it then get 404 Unknown Webhook.
func (s *Server) DeleteWebhook(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.webhooks, id)
}

// DenyPermission removes one of the bot's permissions (PermManageRoles,
// PermCreateInstantInvite) in guildID.
func (s *Server) DenyPermission(guildID, perm string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.mustGuild(guildID).denied[perm] = true
}

// MemberRoles returns the role ids of userID in guildID, sorted, and whether
// the user is a member.
func (s *Server) MemberRoles(guildID, userID string) ([]string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	m := s.mustGuild(guildID).members[userID]
	if m == nil {
		return nil, false
	}
	roles := slices.Clone(m.roles)
	slices.Sort(roles)
	return roles, true
}

// Invite is an invite the fake created.
type Invite struct {
	Code      string
	ChannelID string
	MaxAge    int
	MaxUses   int
	Temporary bool
	Reason    string
	// Uses counts the members who joined with it.
	Uses int
}

// Invites returns the invites created so far, oldest first.
func (s *Server) Invites() []Invite {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Invite, 0, len(s.invites))
	for _, inv := range s.invites {
		out = append(out, Invite{Code: inv.Code, ChannelID: inv.Channel.ID, MaxAge: inv.MaxAge,
			MaxUses: inv.MaxUses, Temporary: inv.Temporary, Reason: inv.reason, Uses: inv.Uses})
	}
	return out
}

// WebhookMessage is a message posted through a webhook.
type WebhookMessage struct {
	WebhookID string          `json:"webhook_id"`
	MessageID string          `json:"message_id"`
	Body      json.RawMessage `json:"body"`
}

// WebhookMessages returns the messages posted through webhooks, oldest first.
func (s *Server) WebhookMessages() []WebhookMessage {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.delivered)
}

// Request is one request the fake received.
type Request struct {
	// Route is the matched route constant, or "" for an unknown path.
	Route  string
	Method string
	Path   string
	Header http.Header
	// Status is the status the fake answered.
	Status int
}

// Requests returns every request received so far, oldest first.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.requests)
}

// RequestCount returns how many requests hit route.
func (s *Server) RequestCount(route string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, r := range s.requests {
		if r.Route == route {
			n++
		}
	}
	return n
}

// Failure is an answer InjectFailure makes the fake give instead of handling
// a request.
type Failure struct {
	// Status is the HTTP status, e.g. 500, 403 or 429.
	Status int
	// Code and Message form the Discord error body {"message","code"}. For
	// a 429 the documented rate-limit body is sent instead.
	Code    int
	Message string
	// RetryAfter (seconds) and Global shape a 429.
	RetryAfter float64
	Global     bool
	// Times is how many requests get this failure; 0 means 1.
	Times int
}

// InjectFailure makes the next requests to route fail as f describes, after
// the auth and User-Agent checks. Failures queue in the order injected.
func (s *Server) InjectFailure(route string, f Failure) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if f.Times <= 0 {
		f.Times = 1
	}
	s.failures[route] = append(s.failures[route], &f)
}

func (s *Server) mustGuild(id string) *guild {
	g := s.guilds[id]
	if g == nil {
		panic(fmt.Sprintf("fakediscord: no guild %s", id))
	}
	return g
}

const alnum = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

func randomString(n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = alnum[rand.IntN(len(alnum))]
	}
	return string(b)
}
