package main

import (
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"hash/fnv"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/ezscale/platform/plugins/internal/pluginconf"
	pt "github.com/ezscale/platform/plugins/pterodactyl/pterodactylapi"
	"github.com/ezscale/platform/sdk"
	pb "github.com/ezscale/platform/sdk/pluginv1"
)

const version = "0.1.0"

// Plugin is the Pterodactyl provisioner.
type Plugin struct {
	*pluginconf.Holder[*pluginconf.API[*pt.Client, settings]]
}

// settings are the config's plan defaults.
type settings struct {
	nestID, eggID, locationID, memory, disk, cpu, io int64
}

// config is the plugin's config block, declared as a struct: the schema
// Describe reports comes from its tags.
type config struct {
	APIURL         string        `config:"api_url,required,url" doc:"panel root, e.g. https://panel.example.com"`
	ApplicationKey string        `config:"application_key,required,secret" doc:"Application API key (ptla_…) of a root admin"`
	ClientKey      string        `config:"client_key,required,secret" doc:"Client API key (ptlc_…) of a root admin, for power, usage and console commands"`
	Timeout        time.Duration `config:"timeout,positive" default:"30s" doc:"per API request"`
	NestID         int64         `config:"nest_id" default:"1" doc:"nest of the default egg"`
	EggID          int64         `config:"egg_id" default:"1" doc:"egg for new servers unless the plan sets egg_id"`
	LocationID     int64         `config:"location_id" default:"1" doc:"location new servers are deployed in unless the plan sets location_id"`
	MemoryMB       int64         `config:"memory_mb" default:"1024" doc:"memory limit unless the plan sets memory"`
	DiskMB         int64         `config:"disk_mb" default:"5120" doc:"disk limit unless the plan sets disk"`
	CPUPercent     int64         `config:"cpu_percent" default:"100" doc:"CPU limit in percent of one core unless the plan sets cpu"`
	IO             int64         `config:"io" default:"500" min:"10" max:"1000" doc:"block IO weight (10-1000) unless the plan sets io"`
}

// Validate checks what the tags cannot: the shape of the keys.
func (c config) Validate() sdk.Diagnostics {
	var ds sdk.Diagnostics
	if k := c.ApplicationKey; k != "" && !strings.HasPrefix(k, "ptla_") && !strings.HasPrefix(k, "peli_") {
		ds = append(ds, sdk.Diagnostic{Severity: sdk.SeverityWarning, Field: "application_key", Summary: "application keys start with ptla_"})
	}
	if k := c.ClientKey; k != "" && strings.HasPrefix(k, "ptla_") {
		ds = append(ds, sdk.FieldDiagnostic("client_key", "is an application key (ptla_); the Client API refuses those")...)
	}
	return ds
}

var configSpec = sdk.ConfigOf[config]()

// New returns an unconfigured plugin. Configure builds the API client
// without calling the panel.
func New() *Plugin {
	return &Plugin{Holder: pluginconf.New(sdk.Description{Name: "pterodactyl", Version: version, Options: options, Schema: configSpec.Schema()},
		pluginconf.Typed(configSpec, newClient, defaults), pluginconf.NotConfiguredYet)}
}

func newClient(c config) (*pt.Client, error) {
	return pt.New(pt.Config{BaseURL: c.APIURL, ApplicationKey: c.ApplicationKey, ClientKey: c.ClientKey, Timeout: c.Timeout})
}

func defaults(c config) settings {
	return settings{nestID: c.NestID, eggID: c.EggID, locationID: c.LocationID,
		memory: c.MemoryMB, disk: c.DiskMB, cpu: c.CPUPercent, io: c.IO}
}

// current is the configured client and plan defaults.
func (p *Plugin) current() (*pt.Client, settings, error) { return pluginconf.Current(p.Holder) }

// maxID bounds the panel ids an option may name.
const maxID = 1<<31 - 1

// options are the service options this plugin reads (declared in
// Describe). Staff set the egg, limits, feature limits, image, startup
// command and egg variables on plans; a customer may choose the location
// among those the plan offers, and the server's name. The limits are the
// panel's own validation rules (io 10-1000, swap -1 for unlimited, 0 for
// unlimited memory, disk and CPU).
var options = sdk.Options{
	sdk.IntOption("nest_id", "nest of the egg (default: the config's nest_id)").OnPlan().Range(1, maxID),
	sdk.IntOption("egg_id", "egg new servers are made from (default: the config's egg_id)").OnPlan().Range(1, maxID),
	sdk.IntOption("location_id", "location new servers are deployed in (default: the config's location_id)").OnPlan().AtOrder().Range(1, maxID),
	sdk.StringOption("port_range", "ports the server's allocation is taken from, e.g. 25565-25570").OnPlan().MaxLen(11).Matching(`[0-9]{1,5}(-[0-9]{1,5})?`),
	sdk.IntOption("memory", "memory limit in MiB, 0 for unlimited (default: the config's memory_mb)").OnPlan().Range(0, 1<<20),
	sdk.IntOption("swap", "swap in MiB, -1 for unlimited").OnPlan().Range(-1, 1<<20).WithDefault("0"),
	sdk.IntOption("disk", "disk limit in MiB, 0 for unlimited (default: the config's disk_mb)").OnPlan().Range(0, 1<<24),
	sdk.IntOption("io", "block IO weight (default: the config's io)").OnPlan().Range(10, 1000),
	sdk.IntOption("cpu", "CPU limit in percent of one core, 0 for unlimited (default: the config's cpu_percent)").OnPlan().Range(0, 25600),
	sdk.IntOption("databases", "databases the customer may create").OnPlan().Range(0, 100).WithDefault("0"),
	sdk.IntOption("backups", "backups the customer may keep").OnPlan().Range(0, 100).WithDefault("0"),
	sdk.IntOption("allocations", "ports (allocations) the server may have").OnPlan().Range(1, 100).WithDefault("1"),
	sdk.StringOption("docker_image", "container image (default: the egg's)").OnPlan().MaxLen(191).Matching(`[A-Za-z0-9][A-Za-z0-9._/:@-]*`),
	sdk.StringOption("startup", "startup command (default: the egg's)").OnPlan().MaxLen(2048),
	sdk.StringOption("name", "the server's name in the panel (default: the service's)").OnPlan().AtOrder().MaxLen(191),
	sdk.PrefixOption("env.", "an egg variable, env.<VARIABLE> (default: the egg's)").OnPlan().MaxLen(1024),
}

// plan is a service's plan options resolved against the config.
type plan struct {
	nestID, eggID, locationID             int64
	memory, swap, disk, io, cpu           int64
	databases, backups, allocations       int64
	portRange, dockerImage, startup, name string
	env                                   map[string]string
}

func (s settings) plan(raw map[string]string) (plan, error) {
	opts, err := options.Parse(raw)
	if err != nil {
		return plan{}, err
	}
	return plan{
		nestID: opts.Int("nest_id", s.nestID), eggID: opts.Int("egg_id", s.eggID), locationID: opts.Int("location_id", s.locationID),
		memory: opts.Int("memory", s.memory), swap: opts.Int("swap", 0), disk: opts.Int("disk", s.disk),
		io: opts.Int("io", s.io), cpu: opts.Int("cpu", s.cpu),
		databases: opts.Int("databases", 0), backups: opts.Int("backups", 0), allocations: opts.Int("allocations", 1),
		portRange: opts.String("port_range", ""), dockerImage: opts.String("docker_image", ""),
		startup: opts.String("startup", ""), name: opts.String("name", ""), env: opts.WithPrefix("env."),
	}, nil
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
