package provider

import (
	"context"

	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/booldefault"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringdefault"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/ezscale/platform/terraform/internal/client"
)

func newDependencyResource() resource.Resource { return &dependencyResource{} }

type dependencyResource struct{ resourceBase }

var _ resource.ResourceWithImportState = (*dependencyResource)(nil)

type dependencyModel struct {
	ID          types.String `tfsdk:"id"`
	ServiceID   types.String `tfsdk:"service_id"`
	DependsOnID types.String `tfsdk:"depends_on_id"`
	Type        types.String `tfsdk:"type"`
	Critical    types.Bool   `tfsdk:"critical"`
	Note        types.String `tfsdk:"note"`
}

func (r *dependencyResource) Metadata(_ context.Context, req resource.MetadataRequest, resp *resource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_service_dependency"
}

func (r *dependencyResource) Schema(_ context.Context, _ resource.SchemaRequest, resp *resource.SchemaResponse) {
	replace := []planmodifier.String{stringplanmodifier.RequiresReplace()}
	resp.Schema = schema.Schema{
		Description: "Records that one service depends on another. While it exists, cancelling the depended-on service is refused " +
			"(409 `service_has_dependents`) unless that service's resource sets `confirm_dependents`. Cycles are refused by the API.",
		Attributes: map[string]schema.Attribute{
			"id":            schema.StringAttribute{Description: "The dependency's id.", Computed: true, PlanModifiers: []planmodifier.String{stringplanmodifier.UseStateForUnknown()}},
			"service_id":    schema.StringAttribute{Description: "The service that depends on the other.", Required: true, PlanModifiers: replace},
			"depends_on_id": schema.StringAttribute{Description: "The service it depends on.", Required: true, PlanModifiers: replace},
			"type": schema.StringAttribute{
				Description: "`database`, `storage`, `network`, `api` or `other` (the default).",
				Optional:    true, Computed: true, Default: stringdefault.StaticString("other"),
				Validators: []validator.String{stringvalidator.OneOf("database", "storage", "network", "api", "other")},
			},
			"critical": schema.BoolAttribute{Description: "The service does not work without the other.", Optional: true, Computed: true, Default: booldefault.StaticBool(false)},
			"note": schema.StringAttribute{
				Description: "Up to 500 characters.", Optional: true, Computed: true, Default: stringdefault.StaticString(""),
				Validators: []validator.String{stringvalidator.LengthAtMost(500)},
			},
		},
	}
}

func (m *dependencyModel) set(d *client.Dependency) {
	m.ID, m.ServiceID, m.DependsOnID = types.StringValue(d.ID), types.StringValue(d.ServiceID), types.StringValue(d.DependsOnID)
	m.Type, m.Critical, m.Note = types.StringValue(d.Type), types.BoolValue(d.Critical), types.StringValue(d.Note)
}

func (r *dependencyResource) Create(ctx context.Context, req resource.CreateRequest, resp *resource.CreateResponse) {
	var m dependencyModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &m)...)
	if resp.Diagnostics.HasError() {
		return
	}
	body := map[string]any{"service_id": m.ServiceID.ValueString(), "depends_on_id": m.DependsOnID.ValueString(),
		"type": m.Type.ValueString(), "critical": m.Critical.ValueBool(), "note": m.Note.ValueString()}
	var d client.Dependency
	if _, err := r.p.client.Do(ctx, client.Call{Op: client.OpCreateDependency, Params: []string{r.p.accountID},
		IdempotencyKey: orderKey("dependency", r.p.accountID, body, r.p), Body: body}, &d); err != nil {
		apiError(&resp.Diagnostics, "recording the dependency", err)
		return
	}
	m.set(&d)
	resp.Diagnostics.Append(resp.State.Set(ctx, &m)...)
}

func (r *dependencyResource) Read(ctx context.Context, req resource.ReadRequest, resp *resource.ReadResponse) {
	var m dependencyModel
	resp.Diagnostics.Append(req.State.Get(ctx, &m)...)
	if resp.Diagnostics.HasError() {
		return
	}
	var d client.Dependency
	if !r.readRemote(ctx, client.Call{Op: client.OpGetDependency, Params: []string{r.p.accountID, m.ID.ValueString()}}, &d, "the dependency", resp) {
		return
	}
	m.set(&d)
	resp.Diagnostics.Append(resp.State.Set(ctx, &m)...)
}

func (r *dependencyResource) Update(ctx context.Context, req resource.UpdateRequest, resp *resource.UpdateResponse) {
	var m dependencyModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &m)...)
	if resp.Diagnostics.HasError() {
		return
	}
	body := map[string]any{"type": m.Type.ValueString(), "critical": m.Critical.ValueBool(), "note": m.Note.ValueString()}
	var d client.Dependency
	if _, err := r.p.client.Do(ctx, client.Call{Op: client.OpUpdateDependency, Params: []string{r.p.accountID, m.ID.ValueString()}, Body: body}, &d); err != nil {
		apiError(&resp.Diagnostics, "updating the dependency", err)
		return
	}
	m.set(&d)
	resp.Diagnostics.Append(resp.State.Set(ctx, &m)...)
}

func (r *dependencyResource) Delete(ctx context.Context, req resource.DeleteRequest, resp *resource.DeleteResponse) {
	var m dependencyModel
	resp.Diagnostics.Append(req.State.Get(ctx, &m)...)
	if resp.Diagnostics.HasError() {
		return
	}
	_, err := r.p.client.Do(ctx, client.Call{Op: client.OpDeleteDependency, Params: []string{r.p.accountID, m.ID.ValueString()}}, nil)
	if err != nil && !client.IsNotFound(err) {
		apiError(&resp.Diagnostics, "removing the dependency", err)
	}
}

func (r *dependencyResource) ImportState(ctx context.Context, req resource.ImportStateRequest, resp *resource.ImportStateResponse) {
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("id"), req.ID)...)
}
