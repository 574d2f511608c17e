package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"hash/fnv"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/ezscale/platform/plugins/internal/idem"
	pt "github.com/ezscale/platform/plugins/pterodactyl/pterodactylapi"
	"github.com/ezscale/platform/sdk"
	pb "github.com/ezscale/platform/sdk/pluginv1"
)

const version = "0.1.0"

// Plugin is the Pterodactyl provisioner.
type Plugin struct {
	idem *idem.Cache

	mu     sync.RWMutex
	client *pt.Client
	cfg    settings
}

// settings are the config's plan defaults.
type settings struct {
	nestID, eggID, locationID, memory, disk, cpu, io int64
}

// New returns an unconfigured plugin.
func New() *Plugin { return &Plugin{idem: idem.New()} }

// Describe is static: the SDK calls it in describe mode too.
func (p *Plugin) Describe() sdk.Description {
	return sdk.Description{
		Name:    "pterodactyl",
		Version: version,
		Schema: sdk.NewSchema().
			String("api_url", sdk.Required(), sdk.Doc("panel root, e.g. https://panel.example.com")).
			String("application_key", sdk.Required(), sdk.Secret(), sdk.Doc("Application API key (ptla_…) of a root admin")).
			String("client_key", sdk.Required(), sdk.Secret(), sdk.Doc("Client API key (ptlc_…) of a root admin, for power, usage and console commands")).
			Duration("timeout", sdk.Default("30s"), sdk.Doc("per API request")).
			Int("nest_id", sdk.Default(1), sdk.Doc("nest of the default egg")).
			Int("egg_id", sdk.Default(1), sdk.Doc("egg for new servers unless the plan sets egg_id")).
			Int("location_id", sdk.Default(1), sdk.Doc("location new servers are deployed in unless the plan sets location_id")).
			Int("memory_mb", sdk.Default(1024), sdk.Doc("memory limit unless the plan sets memory")).
			Int("disk_mb", sdk.Default(5120), sdk.Doc("disk limit unless the plan sets disk")).
			Int("cpu_percent", sdk.Default(100), sdk.Doc("CPU limit in percent of one core unless the plan sets cpu")).
			Int("io", sdk.Default(500), sdk.Doc("block IO weight (10-1000) unless the plan sets io")),
	}
}

// ValidateConfig checks what the schema cannot.
func (p *Plugin) ValidateConfig(_ context.Context, cfg sdk.Config) sdk.Diagnostics {
	var ds sdk.Diagnostics
	if u, err := url.Parse(cfg.String("api_url")); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		ds = append(ds, sdk.FieldError("api_url", "must be the panel's http(s) URL, e.g. https://panel.example.com")...)
	}
	if k := cfg.String("application_key"); k != "" && !strings.HasPrefix(k, "ptla_") && !strings.HasPrefix(k, "peli_") {
		ds = append(ds, sdk.Diagnostic{Severity: sdk.SeverityWarning, Field: "application_key", Summary: "application keys start with ptla_"})
	}
	if k := cfg.String("client_key"); k != "" && strings.HasPrefix(k, "ptla_") {
		ds = append(ds, sdk.FieldError("client_key", "is an application key (ptla_); the Client API refuses those")...)
	}
	if io := cfg.Int("io"); io < 10 || io > 1000 {
		ds = append(ds, sdk.FieldError("io", "must be between 10 and 1000")...)
	}
	if cfg.Duration("timeout") <= 0 {
		ds = append(ds, sdk.FieldError("timeout", "must be positive")...)
	}
	return ds
}

// Configure builds the API client without calling the panel.
func (p *Plugin) Configure(ctx context.Context, cfg sdk.Config) error {
	if ds := p.ValidateConfig(ctx, cfg); ds.HasErrors() {
		return ds
	}
	client, err := pt.New(pt.Config{BaseURL: cfg.String("api_url"), ApplicationKey: cfg.String("application_key"),
		ClientKey: cfg.String("client_key"), Timeout: cfg.Duration("timeout")})
	if err != nil {
		return sdk.FieldError("api_url", err.Error())
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.client = client
	p.cfg = settings{nestID: cfg.Int("nest_id"), eggID: cfg.Int("egg_id"), locationID: cfg.Int("location_id"),
		memory: cfg.Int("memory_mb"), disk: cfg.Int("disk_mb"), cpu: cfg.Int("cpu_percent"), io: cfg.Int("io")}
	return nil
}

// Health answers from local state only.
func (p *Plugin) Health(context.Context) error {
	_, _, err := p.current()
	return err
}

func (p *Plugin) current() (*pt.Client, settings, error) {
	p.mu.RLock()
	defer p.mu.RUnlock()
	if p.client == nil {
		return nil, settings{}, sdk.UnavailableError(time.Second, "the plugin is not configured yet")
	}
	return p.client, p.cfg, nil
}

// plan is a service's plan options resolved against the config.
type plan struct {
	nestID, eggID, locationID             int64
	memory, swap, disk, io, cpu           int64
	databases, backups, allocations       int64
	portRange, dockerImage, startup, name string
	env                                   map[string]string
}

func intOption(opts map[string]string, name string, def, min int64) (int64, error) {
	v, ok := opts[name]
	if !ok || v == "" {
		return def, nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < min {
		return 0, sdk.FieldErrorf("plan_options."+name, "must be an integer of at least %d, got %q", min, v)
	}
	return n, nil
}

func (s settings) plan(opts map[string]string) (plan, error) {
	pl := plan{portRange: opts["port_range"], dockerImage: opts["docker_image"], startup: opts["startup"], name: opts["name"],
		env: map[string]string{}}
	for _, f := range []struct {
		dst      *int64
		name     string
		def, min int64
	}{
		{&pl.nestID, "nest_id", s.nestID, 1}, {&pl.eggID, "egg_id", s.eggID, 1}, {&pl.locationID, "location_id", s.locationID, 1},
		{&pl.memory, "memory", s.memory, 0}, {&pl.swap, "swap", 0, -1}, {&pl.disk, "disk", s.disk, 0},
		{&pl.io, "io", s.io, 10}, {&pl.cpu, "cpu", s.cpu, 0},
		{&pl.databases, "databases", 0, 0}, {&pl.backups, "backups", 0, 0}, {&pl.allocations, "allocations", 1, 1},
	} {
		v, err := intOption(opts, f.name, f.def, f.min)
		if err != nil {
			return pl, err
		}
		*f.dst = v
	}
	if pl.io > 1000 {
		return pl, sdk.FieldErrorf("plan_options.io", "must be between 10 and 1000")
	}
	for k, v := range opts {
		if name, ok := strings.CutPrefix(k, "env."); ok && name != "" {
			pl.env[name] = v
		}
	}
	return pl, nil
}

func (pl plan) limits() pt.Limits {
	return pt.Limits{Memory: pl.memory, Swap: pl.swap, Disk: pl.disk, IO: pl.io, CPU: pl.cpu}
}

func (pl plan) featureLimits() pt.FeatureLimits {
	return pt.FeatureLimits{Databases: &pl.databases, Allocations: &pl.allocations, Backups: &pl.backups}
}

// External ids tie panel objects to the core's, so repeats find them.
func userExternalID(accountID string) string   { return "ezscale-" + accountID }
func serverExternalID(serviceID string) string { return "ezscale-" + serviceID }

var notUsername = regexp.MustCompile(`[^a-z0-9_.-]+`)

// username derives a panel username from the email's local part and a hash
// of the account id, so two customers with the same local part differ.
func username(email, accountID string) string {
	local, _, _ := strings.Cut(strings.ToLower(email), "@")
	local = strings.Trim(notUsername.ReplaceAllString(local, ""), "_.-")
	if len(local) > 20 {
		local = local[:20]
	}
	if local == "" {
		local = "user"
	}
	h := fnv.New32a()
	_, _ = h.Write([]byte(accountID))
	return fmt.Sprintf("%s_%06x", local, h.Sum32()&0xffffff)
}

// splitName splits a display name into the first and last names the panel
// requires.
func splitName(name, fallback string) (string, string) {
	first, last, _ := strings.Cut(strings.TrimSpace(name), " ")
	if first == "" {
		first = fallback
	}
	if strings.TrimSpace(last) == "" {
		last = "-"
	}
	return first, strings.TrimSpace(last)
}

func newPassword() string {
	b := make([]byte, 18)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// serverID parses an external id.
func serverID(externalID string) (int64, error) {
	n, err := strconv.ParseInt(externalID, 10, 64)
	if err != nil || n <= 0 {
		return 0, sdk.Errorf(sdk.NotFound, "no Pterodactyl server has id %q", externalID)
	}
	return n, nil
}

// status is a server's state as the core sees it.
func status(s *pt.Server) *pb.ServiceStatus {
	st := &pb.ServiceStatus{ExternalId: strconv.FormatInt(s.ID, 10), Attributes: map[string]string{
		"identifier": s.Identifier, "uuid": s.UUID, "name": s.Name,
		"node_id": strconv.FormatInt(s.Node, 10), "egg_id": strconv.FormatInt(s.Egg, 10),
		"memory_mb": strconv.FormatInt(s.Limits.Memory, 10), "disk_mb": strconv.FormatInt(s.Limits.Disk, 10),
		"cpu_percent": strconv.FormatInt(s.Limits.CPU, 10), "panel_status": s.StatusString(),
	}}
	if s.Relationships != nil && s.Relationships.Allocations != nil {
		for _, a := range s.Relationships.Allocations.Items() {
			if a.ID == s.Allocation {
				st.Attributes["address"] = a.IP + ":" + strconv.Itoa(a.Port)
			}
		}
	}
	switch s.StatusString() {
	case pt.StatusSuspended:
		st.State = pb.ServiceState_SERVICE_STATE_SUSPENDED
	case pt.StatusInstalling:
		st.State = pb.ServiceState_SERVICE_STATE_PENDING
	case pt.StatusInstallFailed, pt.StatusReinstallFailed:
		st.State = pb.ServiceState_SERVICE_STATE_ERROR
	default:
		st.State = pb.ServiceState_SERVICE_STATE_ACTIVE
		if s.Suspended {
			st.State = pb.ServiceState_SERVICE_STATE_SUSPENDED
		}
	}
	return st
}
