package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"strings"
	"time"

	"github.com/ezscale/platform/plugins/internal/errkind"
	"github.com/ezscale/platform/plugins/internal/pluginconf"
	"github.com/ezscale/platform/plugins/kasm/kasmapi"
	"github.com/ezscale/platform/sdk"
	pb "github.com/ezscale/platform/sdk/pluginv1"
)

const version = "0.1.0"

// Plugin is the Kasm provisioner.
type Plugin struct {
	*pluginconf.Holder[*pluginconf.API[*kasmapi.Client, settings]]
}

type settings struct {
	imageID, prefix string
}

// config is the plugin's config block, declared as a struct: the schema
// Describe reports comes from its tags.
type config struct {
	APIURL         string        `config:"api_url,required,url" doc:"Kasm root, e.g. https://kasm.example.com"`
	APIKey         string        `config:"api_key,required,secret" doc:"developer API key"`
	APIKeySecret   string        `config:"api_key_secret,required,secret" doc:"developer API key secret"`
	Timeout        time.Duration `config:"timeout,positive" default:"30s" doc:"per API request"`
	ImageID        string        `config:"image_id" default:"" doc:"workspace image unless the plan sets image_id; empty means the plan must set it"`
	UsernamePrefix string        `config:"username_prefix" default:"ezscale-" doc:"prefix of the Kasm user created per service"`
}

// Validate checks what the tags cannot.
func (c config) Validate() sdk.Diagnostics {
	if c.UsernamePrefix == "" {
		return sdk.FieldDiagnostic("username_prefix", "must not be empty: it tells this plugin's users apart")
	}
	return nil
}

var configSpec = sdk.ConfigOf[config]()

// New returns an unconfigured plugin. Configure builds the API client
// without calling Kasm.
func New() *Plugin {
	return &Plugin{Holder: pluginconf.New(sdk.Description{Name: "kasm", Version: version, Options: options, Schema: configSpec.Schema()},
		pluginconf.Typed(configSpec, newClient, defaults), pluginconf.NotConfiguredYet)}
}

func newClient(c config) (*kasmapi.Client, error) {
	return kasmapi.New(kasmapi.Config{BaseURL: c.APIURL, APIKey: c.APIKey, APIKeySecret: c.APIKeySecret, Timeout: c.Timeout})
}

func defaults(c config) settings {
	return settings{imageID: c.ImageID, prefix: c.UsernamePrefix}
}

// current is the configured client and plan defaults.
func (p *Plugin) current() (*kasmapi.Client, settings, error) { return pluginconf.Current(p.Holder) }

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
