package main

import (
	"hash/fnv"
	"strconv"
	"time"

	"github.com/ezscale/platform/plugins/internal/pluginconf"
	vf "github.com/ezscale/platform/plugins/virtfusion/virtfusionapi"
	"github.com/ezscale/platform/sdk"
	pb "github.com/ezscale/platform/sdk/pluginv1"
)

// version is reported by Describe.
const version = "0.1.0"

// Plugin is the VirtFusion provisioner.
type Plugin struct {
	users keyedLock   // one create at a time per VirtFusion user
	lost  lostCreates // creates whose answer was lost, by service id

	*pluginconf.Holder[*pluginconf.API[*vf.Client, settings]]
}

// settings is the validated config.
type settings struct {
	groupID, packageID, osTemplateID, ipv4 int64
}

// config is the plugin's config block, declared as a struct: the schema
// Describe reports comes from its tags.
type config struct {
	APIURL       string        `config:"api_url,required,url" doc:"VirtFusion API root, e.g. https://cp.example.com/api/v1"`
	APIToken     string        `config:"api_token,required,secret" doc:"API token (Bearer)"`
	Timeout      time.Duration `config:"timeout,positive" default:"30s" doc:"per API request"`
	GroupID      int64         `config:"hypervisor_group_id" default:"1" doc:"hypervisor group for new servers unless the plan sets hypervisor_group_id"`
	PackageID    int64         `config:"package_id" default:"0" doc:"package for new servers unless the plan sets package_id; 0 means the plan must set it"`
	OSTemplateID int64         `config:"os_template_id" default:"1" doc:"OS template installed on new servers unless the plan sets os_template_id"`
	IPv4         int64         `config:"ipv4" default:"1" doc:"IPv4 addresses per new server unless the plan sets ipv4"`
}

var configSpec = sdk.ConfigOf[config]()

// New returns an unconfigured plugin. Configure builds the API client
// without calling VirtFusion.
func New() *Plugin {
	return &Plugin{Holder: pluginconf.New(sdk.Description{Name: "virtfusion", Version: version, Options: options, Schema: configSpec.Schema()},
		pluginconf.Typed(configSpec, newClient, defaults), pluginconf.NotConfiguredYet)}
}

func newClient(c config) (*vf.Client, error) {
	return vf.New(vf.Config{BaseURL: c.APIURL, Token: c.APIToken, Timeout: c.Timeout})
}

func defaults(c config) settings {
	return settings{groupID: c.GroupID, packageID: c.PackageID, osTemplateID: c.OSTemplateID, ipv4: c.IPv4}
}

// current is the configured client and plan defaults.
func (p *Plugin) current() (*vf.Client, settings, error) { return pluginconf.Current(p.Holder) }

// maxPanelID bounds the panel ids an option may name (VirtFusion ids are
// 32-bit).
const maxPanelID = 1<<31 - 1

// hostnameRe is an RFC 1123 host name: dot-separated labels of letters,
// digits and inner hyphens.
const hostnameRe = `[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*`

// options are the service options this plugin reads (declared in
// Describe): staff choose the package and the IPv4 count on plans; a
// customer may choose the location (hypervisor group) and OS template
// among those the plan offers, and the server's hostname.
var options = sdk.Options{
	sdk.IntOption("package_id", "VirtFusion package of new servers (default: the config's package_id)").OnPlan().Range(1, maxPanelID),
	sdk.IntOption("hypervisor_group_id", "hypervisor group (location) new servers are placed in (default: the config's)").OnPlan().AtOrder().Range(1, maxPanelID),
	sdk.IntOption("os_template_id", "OS template installed on new servers (default: the config's)").OnPlan().AtOrder().Range(1, maxPanelID),
	sdk.IntOption("ipv4", "IPv4 addresses of a new server (default: the config's ipv4)").OnPlan().Range(0, 32),
	sdk.StringOption("hostname", "the new server's host name").AtOrder().MaxLen(253).Matching(hostnameRe),
}

// plan is a service's plan options resolved against the config defaults.
type plan struct {
	packageID, groupID, osTemplateID, ipv4 int64
	hostname                               string
}

func (s settings) plan(raw map[string]string) (plan, error) {
	opts, err := options.Parse(raw)
	if err != nil {
		return plan{}, err
	}
	pl := plan{
		packageID: opts.Int("package_id", s.packageID), groupID: opts.Int("hypervisor_group_id", s.groupID),
		osTemplateID: opts.Int("os_template_id", s.osTemplateID), ipv4: opts.Int("ipv4", s.ipv4),
		hostname: opts.String("hostname", ""),
	}
	if pl.packageID == 0 {
		return pl, sdk.FieldErrorf("plan_options.package_id", "is required (no default package_id is configured)")
	}
	return pl, nil
}

// extRelationID maps the core's account id to VirtFusion's integer
// extRelationId: a numeric id is used as is; any other id is hashed
// (FNV-1a) into [2^52, 2^53), a range numeric ids of a young platform do not
// reach and that survives JSON's float64 numbers.
func extRelationID(accountID string) (int64, error) {
	if accountID == "" {
		return 0, sdk.FieldErrorf("service.customer.account_id", "is required")
	}
	if n, err := strconv.ParseInt(accountID, 10, 64); err == nil && n > 0 && n < 1<<52 {
		return n, nil
	}
	h := fnv.New64a()
	_, _ = h.Write([]byte(accountID))
	return int64(h.Sum64()&(1<<52-1)) | 1<<52, nil
}

// serverName names the server of a service, so a repeat can find it.
func serverName(serviceID string) string { return "ezscale-" + serviceID }

// serverID parses an external id; anything else is a server VirtFusion
// cannot know.
func serverID(externalID string) (int64, error) {
	n, err := strconv.ParseInt(externalID, 10, 64)
	if err != nil || n <= 0 {
		return 0, sdk.Errorf(sdk.NotFound, "no VirtFusion server has id %q", externalID)
	}
	return n, nil
}

// status is a server's state as the core sees it.
func status(s *vf.Server) *pb.ServiceStatus {
	st := &pb.ServiceStatus{ExternalId: strconv.FormatInt(s.ID, 10), Attributes: map[string]string{
		"uuid":             s.UUID,
		"name":             s.Name,
		"virtfusion_state": s.State,
		"hypervisor":       s.Hypervisor.Name,
		"hypervisor_group": s.Hypervisor.Group.Name,
		"memory_mb":        strconv.FormatInt(s.Settings.Resources.Memory, 10),
		"cpu_cores":        strconv.FormatInt(s.Settings.Resources.CPUCores, 10),
		"storage_gb":       strconv.FormatInt(s.Settings.Resources.Storage, 10),
		"traffic_gb":       strconv.FormatInt(s.Settings.Resources.Traffic, 10),
	}}
	if s.Hostname != nil {
		st.Attributes["hostname"] = *s.Hostname
	}
	var ips string
	for _, nic := range s.Network.Interfaces {
		for _, ip := range nic.IPv4 {
			if ips != "" {
				ips += ","
			}
			ips += ip.Address
		}
	}
	st.Attributes["ipv4"] = ips
	switch {
	case s.Suspended:
		st.State = pb.ServiceState_SERVICE_STATE_SUSPENDED
	case s.BuildFailed:
		st.State = pb.ServiceState_SERVICE_STATE_ERROR
	case s.State == vf.StateAllocated:
		st.State = pb.ServiceState_SERVICE_STATE_PENDING
	default:
		st.State = pb.ServiceState_SERVICE_STATE_ACTIVE
	}
	return st
}
