package provider

import (
	"context"
	"regexp"

	"github.com/hashicorp/terraform-plugin-framework-validators/int64validator"
	"github.com/hashicorp/terraform-plugin-framework-validators/listvalidator"
	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringdefault"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/ezscale/platform/terraform/internal/client"
)

func newMaintenanceWindowResource() resource.Resource { return &windowResource{} }

type windowResource struct{ resourceBase }

var _ resource.ResourceWithImportState = (*windowResource)(nil)

type windowModel struct {
	ID              types.String `tfsdk:"id"`
	Name            types.String `tfsdk:"name"`
	Days            types.List   `tfsdk:"days"`
	Start           types.String `tfsdk:"start"`
	DurationMinutes types.Int64  `tfsdk:"duration_minutes"`
	TimeZone        types.String `tfsdk:"time_zone"`
}

func (r *windowResource) Metadata(_ context.Context, req resource.MetadataRequest, resp *resource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_maintenance_window"
}

func (r *windowResource) Schema(_ context.Context, _ resource.SchemaRequest, resp *resource.SchemaResponse) {
	resp.Schema = schema.Schema{
		Description: "A weekly maintenance window of the account: automated tasks and scheduled changes can be held to it.",
		Attributes: map[string]schema.Attribute{
			"id":   schema.StringAttribute{Description: "The window's id.", Computed: true, PlanModifiers: []planmodifier.String{stringplanmodifier.UseStateForUnknown()}},
			"name": schema.StringAttribute{Description: "A name for people.", Optional: true, Computed: true, Default: stringdefault.StaticString("")},
			"days": schema.ListAttribute{
				Description: "Days it opens: `sun` … `sat`. Empty or unset means every day.", ElementType: types.StringType, Optional: true,
				Validators: []validator.List{listvalidator.ValueStringsAre(stringvalidator.OneOf("sun", "mon", "tue", "wed", "thu", "fri", "sat")), listvalidator.UniqueValues()},
			},
			"start": schema.StringAttribute{
				Description: "Local opening time, `HH:MM` (24-hour).", Required: true,
				Validators: []validator.String{stringvalidator.RegexMatches(regexp.MustCompile(`^([01][0-9]|2[0-3]):[0-5][0-9]$`), "must be HH:MM")},
			},
			"duration_minutes": schema.Int64Attribute{
				Description: "How long it stays open, 15-10079 minutes.", Required: true,
				Validators: []validator.Int64{int64validator.Between(15, 10079)},
			},
			"time_zone": schema.StringAttribute{
				Description: "IANA time zone of `start` (default UTC).", Optional: true, Computed: true, Default: stringdefault.StaticString("UTC"),
				Validators: []validator.String{zoneValidator{}},
			},
		},
	}
}

func (m *windowModel) body(ctx context.Context) (map[string]any, error) {
	days := []string{}
	if !m.Days.IsNull() && !m.Days.IsUnknown() {
		if d := m.Days.ElementsAs(ctx, &days, false); d.HasError() {
			return nil, errDiags(d)
		}
	}
	return map[string]any{"name": m.Name.ValueString(), "days": days, "start": m.Start.ValueString(),
		"duration_minutes": m.DurationMinutes.ValueInt64(), "time_zone": m.TimeZone.ValueString()}, nil
}

func (m *windowModel) set(ctx context.Context, w *client.MaintenanceWindow) {
	m.ID, m.Name, m.Start = types.StringValue(w.ID), types.StringValue(w.Name), types.StringValue(w.Start)
	m.DurationMinutes, m.TimeZone = types.Int64Value(w.DurationMinutes), types.StringValue(w.TimeZone)
	if len(w.Days) == 0 && m.Days.IsNull() {
		return // every day, as configured by leaving days out
	}
	m.Days, _ = types.ListValueFrom(ctx, types.StringType, w.Days)
}

func (r *windowResource) Create(ctx context.Context, req resource.CreateRequest, resp *resource.CreateResponse) {
	var m windowModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &m)...)
	if resp.Diagnostics.HasError() {
		return
	}
	body, err := m.body(ctx)
	if err != nil {
		resp.Diagnostics.AddError("Invalid days", err.Error())
		return
	}
	var w client.MaintenanceWindow
	if _, err := r.p.client.Do(ctx, client.Call{Op: client.OpCreateMaintenanceWindow, Params: []string{r.p.accountID},
		IdempotencyKey: orderKey("window", r.p.accountID, body, r.p), Body: body}, &w); err != nil {
		apiError(&resp.Diagnostics, "creating the maintenance window", err)
		return
	}
	m.set(ctx, &w)
	resp.Diagnostics.Append(resp.State.Set(ctx, &m)...)
}

func (r *windowResource) Read(ctx context.Context, req resource.ReadRequest, resp *resource.ReadResponse) {
	var m windowModel
	resp.Diagnostics.Append(req.State.Get(ctx, &m)...)
	if resp.Diagnostics.HasError() {
		return
	}
	var w client.MaintenanceWindow
	if !r.readRemote(ctx, client.Call{Op: client.OpGetMaintenanceWindow, Params: []string{r.p.accountID, m.ID.ValueString()}}, &w, "the maintenance window", resp) {
		return
	}
	m.set(ctx, &w)
	resp.Diagnostics.Append(resp.State.Set(ctx, &m)...)
}

func (r *windowResource) Update(ctx context.Context, req resource.UpdateRequest, resp *resource.UpdateResponse) {
	var m windowModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &m)...)
	if resp.Diagnostics.HasError() {
		return
	}
	body, err := m.body(ctx)
	if err != nil {
		resp.Diagnostics.AddError("Invalid days", err.Error())
		return
	}
	var w client.MaintenanceWindow
	if _, err := r.p.client.Do(ctx, client.Call{Op: client.OpReplaceMaintenanceWindow, Params: []string{r.p.accountID, m.ID.ValueString()}, Body: body}, &w); err != nil {
		apiError(&resp.Diagnostics, "replacing the maintenance window", err)
		return
	}
	m.set(ctx, &w)
	resp.Diagnostics.Append(resp.State.Set(ctx, &m)...)
}

func (r *windowResource) Delete(ctx context.Context, req resource.DeleteRequest, resp *resource.DeleteResponse) {
	var m windowModel
	resp.Diagnostics.Append(req.State.Get(ctx, &m)...)
	if resp.Diagnostics.HasError() {
		return
	}
	_, err := r.p.client.Do(ctx, client.Call{Op: client.OpDeleteMaintenanceWindow, Params: []string{r.p.accountID, m.ID.ValueString()}}, nil)
	if err != nil && !client.IsNotFound(err) {
		apiError(&resp.Diagnostics, "deleting the maintenance window", err)
	}
}

func (r *windowResource) ImportState(ctx context.Context, req resource.ImportStateRequest, resp *resource.ImportStateResponse) {
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("id"), req.ID)...)
}
