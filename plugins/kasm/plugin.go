package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/ezscale/platform/plugins/internal/errkind"
	"github.com/ezscale/platform/plugins/internal/idem"
	"github.com/ezscale/platform/plugins/kasm/kasmapi"
	"github.com/ezscale/platform/sdk"
	pb "github.com/ezscale/platform/sdk/pluginv1"
)

const version = "0.1.0"

// Plugin is the Kasm provisioner.
type Plugin struct {
	idem *idem.Cache

	mu     sync.RWMutex
	client *kasmapi.Client
	cfg    settings
}

type settings struct {
	imageID, prefix string
}

// New returns an unconfigured plugin.
func New() *Plugin { return &Plugin{idem: idem.New()} }

// Describe is static: the SDK calls it in describe mode too.
func (p *Plugin) Describe() sdk.Description {
	return sdk.Description{
		Name:    "kasm",
		Version: version,
		Options: options,
		Schema: sdk.NewSchema().
			String("api_url", sdk.Required(), sdk.Doc("Kasm root, e.g. https://kasm.example.com")).
			String("api_key", sdk.Required(), sdk.Secret(), sdk.Doc("developer API key")).
			String("api_key_secret", sdk.Required(), sdk.Secret(), sdk.Doc("developer API key secret")).
			Duration("timeout", sdk.Default("30s"), sdk.Doc("per API request")).
			String("image_id", sdk.Default(""), sdk.Doc("workspace image unless the plan sets image_id; empty means the plan must set it")).
			String("username_prefix", sdk.Default("ezscale-"), sdk.Doc("prefix of the Kasm user created per service")),
	}
}

// ValidateConfig checks what the schema cannot.
func (p *Plugin) ValidateConfig(_ context.Context, cfg sdk.Config) sdk.Diagnostics {
	var ds sdk.Diagnostics
	if u, err := url.Parse(cfg.String("api_url")); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		ds = append(ds, sdk.FieldError("api_url", "must be Kasm's http(s) URL, e.g. https://kasm.example.com")...)
	}
	if cfg.String("username_prefix") == "" {
		ds = append(ds, sdk.FieldError("username_prefix", "must not be empty: it tells this plugin's users apart")...)
	}
	if cfg.Duration("timeout") <= 0 {
		ds = append(ds, sdk.FieldError("timeout", "must be positive")...)
	}
	return ds
}

// Configure builds the API client without calling Kasm.
func (p *Plugin) Configure(ctx context.Context, cfg sdk.Config) error {
	if ds := p.ValidateConfig(ctx, cfg); ds.HasErrors() {
		return ds
	}
	client, err := kasmapi.New(kasmapi.Config{BaseURL: cfg.String("api_url"), APIKey: cfg.String("api_key"),
		APIKeySecret: cfg.String("api_key_secret"), Timeout: cfg.Duration("timeout")})
	if err != nil {
		return sdk.FieldError("api_url", err.Error())
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.client = client
	p.cfg = settings{imageID: cfg.String("image_id"), prefix: cfg.String("username_prefix")}
	return nil
}

// Health answers from local state only.
func (p *Plugin) Health(context.Context) error {
	_, _, err := p.current()
	return err
}

func (p *Plugin) current() (*kasmapi.Client, settings, error) {
	p.mu.RLock()
	defer p.mu.RUnlock()
	if p.client == nil {
		return nil, settings{}, sdk.UnavailableError(time.Second, "the plugin is not configured yet")
	}
	return p.client, p.cfg, nil
}

// options are the service options this plugin reads (declared in
// Describe): the workspace image, set by staff on a plan or chosen by the
// customer among the images the plan offers.
var options = sdk.Options{
	sdk.StringOption("image_id", "Kasm image of the workspace, its id from get_images (default: the config's image_id)").
		OnPlan().AtOrder().MaxLen(36).Matching(`[0-9a-fA-F]{32}|[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}`),
}

func (s settings) image(raw map[string]string) (string, error) {
	opts, err := options.Parse(raw)
	if err != nil {
		return "", err
	}
	id := opts.String("image_id", s.imageID)
	if id == "" {
		return "", sdk.FieldErrorf("plan_options.image_id", "is required (no default image_id is configured)")
	}
	return kasmapi.NormalizeID(id), nil
}

func (s settings) username(serviceID string) string { return s.prefix + serviceID }

// fromAPI maps Kasm's errors: unknown users and sessions are NotFound, and
// an error Kasm answered inside HTTP 200 is a request it refused.
func fromAPI(err error, what string) error {
	switch {
	case err == nil:
		return nil
	case kasmapi.IsNotFound(err):
		return sdk.Errorf(sdk.NotFound, "%s: %v", what, err)
	case kasmapi.IsInBodyError(err):
		e, _ := kasmapi.AsError(err)
		return sdk.Errorf(sdk.InvalidInput, "%s: Kasm refused: %s", what, e.Message)
	}
	return errkind.FromAPI(err, what)
}

func newPassword() string {
	b := make([]byte, 18)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// workspace is a service's user and its sessions.
type workspace struct {
	user     *kasmapi.User
	sessions []kasmapi.Kasm
}

// status is the workspace's state as the core sees it.
func (w *workspace) status() *pb.ServiceStatus {
	st := &pb.ServiceStatus{ExternalId: w.user.UserID, State: pb.ServiceState_SERVICE_STATE_ACTIVE,
		Attributes: map[string]string{"username": w.user.Username, "session": "none"}}
	if len(w.sessions) > 0 {
		k := w.sessions[0]
		st.Attributes["session"] = k.KasmID
		st.Attributes["session_status"] = k.OperationalStatus
		st.Attributes["image"] = k.Image.FriendlyName
		if kasmapi.IsPending(k.OperationalStatus) {
			st.State = pb.ServiceState_SERVICE_STATE_PENDING
		}
	}
	if w.user.Disabled || w.user.Locked {
		st.State = pb.ServiceState_SERVICE_STATE_SUSPENDED
	}
	return st
}

// load reads a workspace by user id; NotFound when the user is gone.
func (p *Plugin) load(ctx context.Context, cl *kasmapi.Client, userID string) (*workspace, error) {
	if userID == "" {
		return nil, sdk.Errorf(sdk.NotFound, "the service has no Kasm user yet")
	}
	u, err := cl.User(ctx, userID)
	if err != nil {
		return nil, fromAPI(err, "reading the Kasm user")
	}
	return p.withSessions(ctx, cl, u)
}

func (p *Plugin) withSessions(ctx context.Context, cl *kasmapi.Client, u *kasmapi.User) (*workspace, error) {
	all, err := cl.Kasms(ctx)
	if err != nil {
		return nil, fromAPI(err, "listing sessions")
	}
	w := &workspace{user: u}
	for _, k := range all {
		if kasmapi.NormalizeID(k.UserID) == kasmapi.NormalizeID(u.UserID) {
			w.sessions = append(w.sessions, k)
		}
	}
	return w, nil
}

// splitName gives Kasm a first and last name.
func splitName(name string) (string, string) {
	first, last, _ := strings.Cut(strings.TrimSpace(name), " ")
	return first, strings.TrimSpace(last)
}
