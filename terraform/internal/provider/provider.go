// Package provider is the EZSCALE Terraform provider: its configuration,
// resources and data sources, built on terraform-plugin-framework
// (protocol 6). Everything it does goes through the public API
// (internal/client); it has no other way into the platform.
package provider

import (
	"context"
	"fmt"
	"os"
	"strings"
	"sync"

	"github.com/hashicorp/terraform-plugin-framework/datasource"
	"github.com/hashicorp/terraform-plugin-framework/provider"
	"github.com/hashicorp/terraform-plugin-framework/provider/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/ezscale/platform/terraform/internal/client"
)

// New returns a constructor of the provider at version.
func New(version string) func() provider.Provider {
	return func() provider.Provider { return &ezscaleProvider{version: version} }
}

type ezscaleProvider struct {
	version string
}

var _ provider.Provider = (*ezscaleProvider)(nil)

type providerModel struct {
	Endpoint  types.String `tfsdk:"endpoint"`
	Token     types.String `tfsdk:"token"`
	AccountID types.String `tfsdk:"account_id"`
}

func (p *ezscaleProvider) Metadata(_ context.Context, _ provider.MetadataRequest, resp *provider.MetadataResponse) {
	resp.TypeName = "ezscale"
	resp.Version = p.version
}

func (p *ezscaleProvider) Schema(_ context.Context, _ provider.SchemaRequest, resp *provider.SchemaResponse) {
	resp.Schema = schema.Schema{
		Description: "Manage EZSCALE services (VPS, game servers, Kasm workspaces), projects, dependencies, automation and budgets through the EZSCALE public API.",
		Attributes: map[string]schema.Attribute{
			"endpoint": schema.StringAttribute{
				Description: "Base URL of the EZSCALE installation, e.g. `https://portal.example.com` (a trailing `/api/v1` is accepted). Default: the `EZSCALE_ENDPOINT` environment variable.",
				Optional:    true,
			},
			"token": schema.StringAttribute{
				Description: "A personal API token (`ezs_pat_…`) with the scopes the configuration needs (`account:read`, `services:read`, `services:write`, `billing:read`, `billing:write`). Default: the `EZSCALE_TOKEN` environment variable.",
				Optional:    true,
				Sensitive:   true,
			},
			"account_id": schema.StringAttribute{
				Description: "The account to manage. Needed only when the token's user belongs to several accounts; otherwise the one account is used.",
				Optional:    true,
			},
		},
	}
}

// providerData is what resources and data sources are configured with.
type providerData struct {
	client    *client.Client
	accountID string

	mu       sync.Mutex
	ordinals map[string]int // orders of identical configuration made by this process
}

// nextOrdinal returns 1 for the first order of a configuration made by this
// provider process, 2 for the second, …
func (d *providerData) nextOrdinal(fingerprint string) int {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.ordinals[fingerprint]++
	return d.ordinals[fingerprint]
}

func (p *ezscaleProvider) Configure(ctx context.Context, req provider.ConfigureRequest, resp *provider.ConfigureResponse) {
	var cfg providerModel
	resp.Diagnostics.Append(req.Config.Get(ctx, &cfg)...)
	if resp.Diagnostics.HasError() {
		return
	}
	if cfg.Endpoint.IsUnknown() || cfg.Token.IsUnknown() || cfg.AccountID.IsUnknown() {
		// Known only after another resource is applied; Terraform calls
		// Configure again then.
		return
	}
	endpoint := firstNonEmpty(cfg.Endpoint.ValueString(), os.Getenv("EZSCALE_ENDPOINT"))
	token := firstNonEmpty(cfg.Token.ValueString(), os.Getenv("EZSCALE_TOKEN"))
	if endpoint == "" {
		resp.Diagnostics.AddAttributeError(pathRoot("endpoint"), "Missing EZSCALE endpoint",
			"Set endpoint in the provider block or the EZSCALE_ENDPOINT environment variable.")
	}
	if token == "" {
		resp.Diagnostics.AddAttributeError(pathRoot("token"), "Missing EZSCALE API token",
			"Set token in the provider block or the EZSCALE_TOKEN environment variable (a personal API token from the console or POST /api/v1/me/tokens).")
	}
	if resp.Diagnostics.HasError() {
		return
	}
	c, err := client.New(endpoint, token, "terraform-provider-ezscale/"+p.version)
	if err != nil {
		resp.Diagnostics.AddAttributeError(pathRoot("endpoint"), "Invalid EZSCALE endpoint", err.Error())
		return
	}
	d := &providerData{client: c, accountID: cfg.AccountID.ValueString(), ordinals: map[string]int{}}
	if d.accountID == "" {
		me, err := c.Me(ctx)
		if err != nil {
			resp.Diagnostics.AddError("Cannot read the token's accounts", err.Error())
			return
		}
		switch len(me.Accounts) {
		case 1:
			d.accountID = me.Accounts[0].ID
		case 0:
			resp.Diagnostics.AddError("The token reaches no account", "The token's user ("+me.User.Email+") is a member of no account.")
			return
		default:
			names := make([]string, 0, len(me.Accounts))
			for _, a := range me.Accounts {
				names = append(names, fmt.Sprintf("%s (%s)", a.ID, a.Name))
			}
			resp.Diagnostics.AddAttributeError(pathRoot("account_id"), "Several accounts: set account_id",
				"The token's user belongs to "+fmt.Sprint(len(me.Accounts))+" accounts: "+strings.Join(names, ", ")+".")
			return
		}
	}
	resp.DataSourceData = d
	resp.ResourceData = d
}

func (p *ezscaleProvider) Resources(context.Context) []func() resource.Resource {
	return []func() resource.Resource{
		newProjectResource,
		newServiceResource(vpsKind),
		newServiceResource(gameKind),
		newServiceResource(kasmKind),
		newDependencyResource,
		newTaskResource,
		newMaintenanceWindowResource,
		newRecoveryResource,
		newBudgetResource,
	}
}

func (p *ezscaleProvider) DataSources(context.Context) []func() datasource.DataSource {
	return []func() datasource.DataSource{
		newPlansDataSource,
		newPlanDataSource,
		newAccountDataSource,
		newServicesDataSource,
	}
}

func firstNonEmpty(v ...string) string {
	for _, s := range v {
		if s != "" {
			return s
		}
	}
	return ""
}
