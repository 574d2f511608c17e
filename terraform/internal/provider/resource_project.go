package provider

import (
	"context"
	"net/url"
	"strings"

	"github.com/google/uuid"
	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringdefault"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"regexp"

	"github.com/ezscale/platform/terraform/internal/client"
)

func newProjectResource() resource.Resource { return &projectResource{} }

type projectResource struct{ resourceBase }

var (
	_ resource.ResourceWithImportState = (*projectResource)(nil)
	_ resource.ResourceWithConfigure   = (*projectResource)(nil)
)

type projectModel struct {
	ID          types.String `tfsdk:"id"`
	Name        types.String `tfsdk:"name"`
	Description types.String `tfsdk:"description"`
	Colour      types.String `tfsdk:"colour"`
	Icon        types.String `tfsdk:"icon"`
}

func (r *projectResource) Metadata(_ context.Context, req resource.MetadataRequest, resp *resource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_project"
}

func (r *projectResource) Schema(_ context.Context, _ resource.SchemaRequest, resp *resource.SchemaResponse) {
	resp.Schema = schema.Schema{
		Description: "A project: a named group of an account's services. Projects are never deleted by the API: destroying one archives it (refused while it still holds a live service).",
		Attributes: map[string]schema.Attribute{
			"id": schema.StringAttribute{
				Description:   "The project's id.",
				Computed:      true,
				PlanModifiers: []planmodifier.String{stringplanmodifier.UseStateForUnknown()},
			},
			"name": schema.StringAttribute{
				Description: "1-100 characters, unique in the account case aside (archived projects included).",
				Required:    true,
				Validators:  []validator.String{stringvalidator.LengthBetween(1, 100)},
			},
			"description": schema.StringAttribute{
				Description: "Up to 1,000 characters.",
				Optional:    true, Computed: true, Default: stringdefault.StaticString(""),
				Validators: []validator.String{stringvalidator.LengthAtMost(1000)},
			},
			"colour": schema.StringAttribute{
				Description: "`#rrggbb` in lower case, or empty.",
				Optional:    true, Computed: true, Default: stringdefault.StaticString(""),
				Validators: []validator.String{stringvalidator.RegexMatches(regexp.MustCompile(`^(#[0-9a-f]{6})?$`), "must be #rrggbb in lower case")},
			},
			"icon": schema.StringAttribute{
				Description: "An icon name of the console's set (1-32 lower-case letters, digits, dashes), or empty.",
				Optional:    true, Computed: true, Default: stringdefault.StaticString(""),
				Validators: []validator.String{stringvalidator.RegexMatches(regexp.MustCompile(`^([a-z0-9][a-z0-9-]{0,31})?$`), "must be 1-32 lower-case letters, digits and dashes")},
			},
		},
	}
}

func (m *projectModel) body() map[string]string {
	return map[string]string{
		"name": m.Name.ValueString(), "description": m.Description.ValueString(),
		"colour": m.Colour.ValueString(), "icon": m.Icon.ValueString(),
	}
}

func (m *projectModel) set(p *client.Project) {
	m.ID = types.StringValue(p.ID)
	m.Name = types.StringValue(p.Name)
	m.Description = types.StringValue(p.Description)
	m.Colour = types.StringValue(p.Colour)
	m.Icon = types.StringValue(p.Icon)
}

func (r *projectResource) Create(ctx context.Context, req resource.CreateRequest, resp *resource.CreateResponse) {
	var m projectModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &m)...)
	if resp.Diagnostics.HasError() {
		return
	}
	var p client.Project
	key := orderKey("project", r.p.accountID, m.body(), r.p)
	if _, err := r.p.client.Do(ctx, client.Call{Op: client.OpCreateProject, Params: []string{r.p.accountID}, IdempotencyKey: key, Body: m.body()}, &p); err != nil {
		apiError(&resp.Diagnostics, "creating the project", err)
		return
	}
	m.set(&p)
	resp.Diagnostics.Append(resp.State.Set(ctx, &m)...)
}

func (r *projectResource) Read(ctx context.Context, req resource.ReadRequest, resp *resource.ReadResponse) {
	var m projectModel
	resp.Diagnostics.Append(req.State.Get(ctx, &m)...)
	if resp.Diagnostics.HasError() {
		return
	}
	var p client.Project
	if !r.readRemote(ctx, client.Call{Op: client.OpGetProject, Params: []string{r.p.accountID, m.ID.ValueString()}}, &p, "the project", resp) {
		return
	}
	if p.Archived {
		// Archived outside Terraform: it is gone as far as the
		// configuration is concerned, and a plan shows it created again.
		resp.State.RemoveResource(ctx)
		return
	}
	m.set(&p)
	resp.Diagnostics.Append(resp.State.Set(ctx, &m)...)
}

func (r *projectResource) Update(ctx context.Context, req resource.UpdateRequest, resp *resource.UpdateResponse) {
	var m projectModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &m)...)
	if resp.Diagnostics.HasError() {
		return
	}
	var p client.Project
	if _, err := r.p.client.Do(ctx, client.Call{Op: client.OpUpdateProject, Params: []string{r.p.accountID, m.ID.ValueString()}, Body: m.body()}, &p); err != nil {
		apiError(&resp.Diagnostics, "updating the project", err)
		return
	}
	m.set(&p)
	resp.Diagnostics.Append(resp.State.Set(ctx, &m)...)
}

func (r *projectResource) Delete(ctx context.Context, req resource.DeleteRequest, resp *resource.DeleteResponse) {
	var m projectModel
	resp.Diagnostics.Append(req.State.Get(ctx, &m)...)
	if resp.Diagnostics.HasError() {
		return
	}
	_, err := r.p.client.Do(ctx, client.Call{Op: client.OpArchiveProject, Params: []string{r.p.accountID, m.ID.ValueString()}, Body: map[string]any{}}, nil)
	if err != nil && !client.IsNotFound(err) {
		apiError(&resp.Diagnostics, "archiving the project", err)
	}
}

// ImportState takes a project's id or its name.
func (r *projectResource) ImportState(ctx context.Context, req resource.ImportStateRequest, resp *resource.ImportStateResponse) {
	id := strings.TrimSpace(req.ID)
	if _, err := uuid.Parse(id); err != nil {
		projects, err := client.All[client.Project](ctx, r.p.client, client.OpListProjects, []string{r.p.accountID}, url.Values{"archived": {"false"}})
		if err != nil {
			apiError(&resp.Diagnostics, "listing projects", err)
			return
		}
		id = ""
		for _, p := range projects {
			if strings.EqualFold(p.Name, req.ID) {
				id = p.ID
			}
		}
		if id == "" {
			resp.Diagnostics.AddError("No such project", "The account has no project with the id or name "+req.ID+".")
			return
		}
	}
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("id"), id)...)
}
