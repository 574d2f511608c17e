package notify

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/uptrace/bun"

	"github.com/ezscale/platform/core/database"
	"github.com/ezscale/platform/core/jobs"
	"github.com/ezscale/platform/core/outbox"
	"github.com/ezscale/platform/sdk"
)

// Plugins finds notifier plugins by their config name (*pluginhost.Host).
type Plugins interface {
	Notifier(name string) (sdk.Notifier, error)
}

// Options configure the service (see config.Notifications).
type Options struct {
	// PublicURL is the customer-facing base URL (links, unsubscribe).
	PublicURL string
	// ProductName appears in every message.
	ProductName string
	// TemplatesDir overrides built-in templates file by file.
	TemplatesDir string
	// DiscordPlugin names the notifier plugin behind the discord channel
	// (admin alerts to its webhook, users' own webhooks); "" turns the
	// channel off.
	DiscordPlugin string
	// Plugins is the plugin host the discord channel reaches its plugin
	// through; nil: its deliveries fail as unavailable (and are retried).
	Plugins Plugins
	// Senders deliver the outbox's other channels: "email" (core/app
	// routes it to the email plugin). A "discord" sender here replaces the
	// one through DiscordPlugin (tests). A channel without a sender keeps
	// its messages pending.
	Senders map[string]outbox.Sender
	// DeliveryBackoff is the outbox's delay before a delivery's retry
	// (outbox.Options.Backoff; nil: River's policy). Tests use a short one.
	DeliveryBackoff func(attempt int) time.Duration
	// AdminAlerts are the types also posted to the admin webhook
	// (AdminAlert always is).
	AdminAlerts []Type
	// UnsubscribeSecret signs unsubscribe tokens; empty means a random key
	// generated once and kept in the database (shared by every replica).
	UnsubscribeSecret string
	// UnsubscribeMailto, when set, adds a mailto: unsubscribe address
	// (an inbox the operator processes) to List-Unsubscribe.
	UnsubscribeMailto string
	// Stream tuning: how often each replica polls for changes, the
	// heartbeat period, and the longest life of one stream.
	StreamPollInterval time.Duration
	StreamHeartbeat    time.Duration
	StreamMaxDuration  time.Duration
	// StreamMaxPerUser caps one user's open streams across every replica
	// (10); beyond it Subscribe refuses with RateLimited.
	StreamMaxPerUser int
	// Retention is how long an in-app notification is kept (365 days);
	// ReadRetention how long once it has been read (90 days).
	Retention     time.Duration
	ReadRetention time.Duration
	Logger        hclog.Logger
}

// DefaultOptions are the notification service's settings when nothing is
// configured: the configuration's defaults (config.Default) are composed
// from them, and tests start from them.
func DefaultOptions() Options {
	return Options{
		ProductName:        "EZSCALE",
		AdminAlerts:        []Type{ServiceFailed},
		StreamPollInterval: time.Second,
		StreamHeartbeat:    20 * time.Second,
		StreamMaxDuration:  30 * time.Minute,
		StreamMaxPerUser:   10,
		Retention:          365 * 24 * time.Hour,
		ReadRetention:      90 * 24 * time.Hour,
	}
}

// defaults fills the unset settings from DefaultOptions. AdminAlerts is not
// among them: none is a setting (no admin alerts).
func (o *Options) defaults() {
	d := DefaultOptions()
	o.StreamPollInterval = cmp.Or(max(o.StreamPollInterval, 0), d.StreamPollInterval)
	o.StreamHeartbeat = cmp.Or(max(o.StreamHeartbeat, 0), d.StreamHeartbeat)
	o.StreamMaxDuration = cmp.Or(max(o.StreamMaxDuration, 0), d.StreamMaxDuration)
	o.StreamMaxPerUser = cmp.Or(max(o.StreamMaxPerUser, 0), d.StreamMaxPerUser)
	o.Retention = cmp.Or(max(o.Retention, 0), d.Retention)
	o.ReadRetention = cmp.Or(max(o.ReadRetention, 0), d.ReadRetention)
	o.ProductName = cmp.Or(o.ProductName, d.ProductName)
	o.PublicURL = strings.TrimRight(o.PublicURL, "/")
	if o.Logger == nil {
		o.Logger = hclog.NewNullLogger()
	}
}

// Service is the notification service: Notify, the notification center,
// preferences, unsubscribes and the live stream.
type Service struct {
	db        *database.DB
	outbox    *outbox.Outbox
	jobs      *jobs.Inserter
	opts      Options
	templates *templateSet
	admin     map[Type]bool
	plugins   Plugins
	hub       *hub
	signer    *signer
	now       func() time.Time
	// maxTimeout caps the job kinds' timeouts below the engine's rescue
	// horizon (tests and small deployments may set it low).
	maxTimeout time.Duration
}

// New builds the service and the outbox it delivers through (with its
// delivery hook, the discord channel's sender and opts.Senders), and
// registers both's jobs with reg. It fails when a template override does
// not parse or render.
func New(db *database.DB, reg *jobs.Registry, opts Options) (*Service, error) {
	opts.defaults()
	admin := map[Type]bool{AdminAlert: true}
	for _, t := range opts.AdminAlerts {
		if _, ok := byType[t]; !ok {
			return nil, fmt.Errorf("notify: admin_alerts: unknown notification type %q", t)
		}
		admin[t] = true
	}
	tmpl, err := loadTemplates(opts.TemplatesDir)
	if err != nil {
		return nil, err
	}
	s := &Service{
		db: db, jobs: reg.Inserter(), plugins: opts.Plugins, opts: opts, templates: tmpl, admin: admin,
		now: func() time.Time { return time.Now().UTC() }, maxTimeout: reg.MaxTimeout(),
	}
	s.signer = newSigner(db, opts.UnsubscribeSecret)
	s.hub = newHub(s)
	senders := maps.Clone(opts.Senders)
	if senders == nil {
		senders = map[string]outbox.Sender{}
	}
	if _, given := senders[string(ChannelDiscord)]; opts.DiscordPlugin != "" && !given {
		senders[string(ChannelDiscord)] = &NotifierSender{Lookup: func() (sdk.Notifier, error) {
			if s.plugins == nil {
				return nil, errNoPlugins
			}
			return s.plugins.Notifier(opts.DiscordPlugin)
		}}
	}
	s.outbox = outbox.New(db, reg, outbox.Options{Senders: senders, Prepare: s.prepare, Backoff: opts.DeliveryBackoff})
	s.registerJobs(reg)
	return s, nil
}

var errNoPlugins = errors.New("notify: the plugin host is not wired in")

// Outbox is the outbox notify delivers through (what it stores, its
// delivery jobs and their outcomes).
func (s *Service) Outbox() *outbox.Outbox { return s.outbox }

// Stop ends the live-stream poller; open streams end.
func (s *Service) Stop() { s.hub.stop() }

// Notify tells the event's audience about it, in the caller's transaction:
// the in-app rows and one outbox entry (with its delivery job) per enabled
// channel and recipient, or nothing when the transaction rolls back. It
// makes no network call. Any caller inside the core may call it. A
// malformed event (unknown type, no or several audiences) is a programming
// error, returned as a plain error; so are database errors.
func (s *Service) Notify(ctx context.Context, tx bun.Tx, ev Event) error {
	_, err := s.Send(ctx, tx, ev)
	return err
}

// Send is Notify that also says what it wrote.
func (s *Service) Send(ctx context.Context, tx bun.Tx, ev Event) (*Result, error) {
	info, err := s.validate(&ev)
	if err != nil {
		return nil, err
	}
	res := &Result{Messages: map[Channel]int{}}
	if ev.Key != "" {
		fresh, err := s.claimKey(ctx, tx, ev.Key)
		if err != nil {
			return nil, err
		}
		if !fresh {
			res.Duplicate = true
			return res, nil
		}
	}
	r, err := s.render(info, &ev)
	if err != nil {
		return nil, err
	}
	if s.hasAudience(&ev) {
		if err := s.fanOut(ctx, tx, info, &ev, r, res); err != nil {
			return nil, err
		}
	}
	if s.admin[info.Type] && s.opts.DiscordPlugin != "" {
		if err := s.outbox.Enqueue(ctx, tx, &outbox.Message{
			Channel: string(ChannelDiscord), Recipient: "default", Template: string(info.Type),
			Category: "admin", Subject: r.Subject, BodyText: discordText(r, s.link(ev.Link)),
		}); err != nil {
			return nil, err
		}
		res.Messages[ChannelDiscord]++
	}
	return res, nil
}

func (s *Service) hasAudience(ev *Event) bool {
	return ev.AccountID != "" || len(ev.UserIDs) > 0 || ev.AllUsers
}

func (s *Service) validate(ev *Event) (*TypeInfo, error) {
	info, ok := byType[ev.Type]
	if !ok {
		return nil, fmt.Errorf("notify: unknown notification type %q", ev.Type)
	}
	n := 0
	if ev.AccountID != "" {
		n++
	}
	if len(ev.UserIDs) > 0 {
		n++
	}
	if ev.AllUsers {
		n++
	}
	switch {
	case n > 1:
		return nil, fmt.Errorf("notify: %s: set one of AccountID, UserIDs and AllUsers", ev.Type)
	case n == 0 && ev.Type != AdminAlert:
		return nil, fmt.Errorf("notify: %s: no audience (AccountID, UserIDs or AllUsers)", ev.Type)
	case n > 0 && ev.Type == AdminAlert:
		return nil, fmt.Errorf("notify: %s goes to the admin webhook only and takes no audience", ev.Type)
	}
	if len(ev.Key) > 200 {
		return nil, fmt.Errorf("notify: %s: key longer than 200 bytes", ev.Type)
	}
	slices.Sort(ev.UserIDs)
	ev.UserIDs = slices.Compact(ev.UserIDs)
	return info, nil
}

// claimKey records an event key; false means it was already notified.
func (s *Service) claimKey(ctx context.Context, tx bun.Tx, key string) (bool, error) {
	res, err := tx.ExecContext(ctx, "INSERT INTO notification_keys (key, created_at) VALUES (?, ?) ON CONFLICT (key) DO NOTHING", key, s.now())
	if err != nil {
		return false, fmt.Errorf("notify: recording event key: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("notify: recording event key: %w", err)
	}
	return n == 1, nil
}

func (s *Service) render(info *TypeInfo, ev *Event) (*rendered, error) {
	v := &view{
		Type: info.Type, Category: info.Category, Data: ev.Data, Link: s.link(ev.Link),
		Product: s.opts.ProductName, PublicURL: s.opts.PublicURL,
	}
	if v.Data == nil {
		v.Data = map[string]any{}
	}
	if info.Marketing {
		v.UnsubscribeURL = unsubscribePlaceholder
	}
	r, err := s.templates.byType[info.Type].render(v)
	if err != nil {
		return nil, fmt.Errorf("notify: rendering %s: %w", info.Type, err)
	}
	return r, nil
}

// link makes a path absolute under the public URL.
func (s *Service) link(l string) string {
	switch {
	case l == "":
		return ""
	case strings.HasPrefix(l, "https://"), strings.HasPrefix(l, "http://"):
		return l
	}
	return s.opts.PublicURL + "/" + strings.TrimLeft(l, "/")
}

// discordText is the description of a Discord embed: the short message and
// the link (Discord renders no HTML).
func discordText(r *rendered, link string) string {
	if link == "" {
		return r.Message
	}
	return r.Message + "\n\n" + link
}
