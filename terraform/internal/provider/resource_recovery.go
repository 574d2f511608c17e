package provider

import (
	"context"

	"github.com/hashicorp/terraform-plugin-framework-validators/int64validator"
	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/booldefault"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/int64default"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/int64planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/ezscale/platform/terraform/internal/client"
)

func newRecoveryResource() resource.Resource { return &recoveryResource{} }

type recoveryResource struct{ resourceBase }

var _ resource.ResourceWithImportState = (*recoveryResource)(nil)

type recoveryModel struct {
	ID                 types.String `tfsdk:"id"`
	ServiceID          types.String `tfsdk:"service_id"`
	CheckType          types.String `tfsdk:"check_type"`
	Target             types.String `tfsdk:"target"`
	Port               types.Int64  `tfsdk:"port"`
	MaxAttemptsPerHour types.Int64  `tfsdk:"max_attempts_per_hour"`
	Enabled            types.Bool   `tfsdk:"enabled"`
	Notify             types.Bool   `tfsdk:"notify"`
	State              types.String `tfsdk:"state"`
}

func (r *recoveryResource) Metadata(_ context.Context, req resource.MetadataRequest, resp *resource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_auto_recovery"
}

func (r *recoveryResource) Schema(_ context.Context, _ resource.SchemaRequest, resp *resource.SchemaResponse) {
	resp.Schema = schema.Schema{
		Description: "Auto-recovery of a service: the platform probes `target` and restarts the service when the probe fails, at most `max_attempts_per_hour` times an hour. One per service; its id is the service's id.",
		Attributes: map[string]schema.Attribute{
			"id":         schema.StringAttribute{Description: "The service's id.", Computed: true, PlanModifiers: []planmodifier.String{stringplanmodifier.UseStateForUnknown()}},
			"service_id": schema.StringAttribute{Description: "The service to watch.", Required: true, PlanModifiers: []planmodifier.String{stringplanmodifier.RequiresReplace()}},
			"check_type": schema.StringAttribute{
				Description: "`http`, `tcp` or `ping`.", Required: true,
				Validators: []validator.String{stringvalidator.OneOf("http", "tcp", "ping")},
			},
			"target": schema.StringAttribute{
				Description: "http: the URL; tcp and ping: a host name or IP address. Public addresses only: the API refuses private and special-use ones (`target_not_public`).",
				Required:    true,
			},
			"port": schema.Int64Attribute{
				Description: "tcp: required; ping: the port of the TCP fallback (default 80).", Optional: true, Computed: true,
				Validators:    []validator.Int64{int64validator.Between(0, 65535)},
				PlanModifiers: []planmodifier.Int64{int64planmodifier.UseStateForUnknown()},
			},
			"max_attempts_per_hour": schema.Int64Attribute{
				Description: "Restarts at most this often an hour, 1-12 (default 3).", Optional: true, Computed: true, Default: int64default.StaticInt64(3),
				Validators: []validator.Int64{int64validator.Between(1, 12)},
			},
			"enabled": schema.BoolAttribute{Description: "Default true.", Optional: true, Computed: true, Default: booldefault.StaticBool(true)},
			"notify":  schema.BoolAttribute{Description: "Tell the account of each recovery (default true).", Optional: true, Computed: true, Default: booldefault.StaticBool(true)},
			"state":   schema.StringAttribute{Description: "What the probes found last: `unknown`, `up`, `down`, `gave_up`.", Computed: true},
		},
	}
}

func (m *recoveryModel) body() map[string]any {
	b := map[string]any{"check_type": m.CheckType.ValueString(), "target": m.Target.ValueString(),
		"max_attempts_per_hour": m.MaxAttemptsPerHour.ValueInt64(), "enabled": m.Enabled.ValueBool(), "notify": m.Notify.ValueBool()}
	if !m.Port.IsNull() && !m.Port.IsUnknown() {
		b["port"] = m.Port.ValueInt64()
	}
	return b
}

func (m *recoveryModel) set(c *client.Recovery) {
	m.ID, m.ServiceID, m.CheckType, m.Target = types.StringValue(c.ServiceID), types.StringValue(c.ServiceID), types.StringValue(c.CheckType), types.StringValue(c.Target)
	m.Port, m.MaxAttemptsPerHour = types.Int64Value(c.Port), types.Int64Value(c.MaxAttemptsPerHour)
	m.Enabled, m.Notify, m.State = types.BoolValue(c.Enabled), types.BoolValue(c.Notify), types.StringValue(c.State)
}

func (r *recoveryResource) put(ctx context.Context, m *recoveryModel) error {
	var c client.Recovery
	if _, err := r.p.client.Do(ctx, client.Call{Op: client.OpSetServiceRecovery, Params: []string{r.p.accountID, m.ServiceID.ValueString()}, Body: m.body()}, &c); err != nil {
		return err
	}
	m.set(&c)
	return nil
}

func (r *recoveryResource) Create(ctx context.Context, req resource.CreateRequest, resp *resource.CreateResponse) {
	var m recoveryModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &m)...)
	if resp.Diagnostics.HasError() {
		return
	}
	if err := r.put(ctx, &m); err != nil {
		apiError(&resp.Diagnostics, "setting auto-recovery", err)
		return
	}
	resp.Diagnostics.Append(resp.State.Set(ctx, &m)...)
}

func (r *recoveryResource) Read(ctx context.Context, req resource.ReadRequest, resp *resource.ReadResponse) {
	var m recoveryModel
	resp.Diagnostics.Append(req.State.Get(ctx, &m)...)
	if resp.Diagnostics.HasError() {
		return
	}
	var c client.Recovery
	if !r.readRemote(ctx, client.Call{Op: client.OpGetServiceRecovery, Params: []string{r.p.accountID, m.ID.ValueString()}}, &c, "auto-recovery", resp) {
		return
	}
	m.set(&c)
	resp.Diagnostics.Append(resp.State.Set(ctx, &m)...)
}

func (r *recoveryResource) Update(ctx context.Context, req resource.UpdateRequest, resp *resource.UpdateResponse) {
	var m recoveryModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &m)...)
	if resp.Diagnostics.HasError() {
		return
	}
	if err := r.put(ctx, &m); err != nil {
		apiError(&resp.Diagnostics, "setting auto-recovery", err)
		return
	}
	resp.Diagnostics.Append(resp.State.Set(ctx, &m)...)
}

func (r *recoveryResource) Delete(ctx context.Context, req resource.DeleteRequest, resp *resource.DeleteResponse) {
	var m recoveryModel
	resp.Diagnostics.Append(req.State.Get(ctx, &m)...)
	if resp.Diagnostics.HasError() {
		return
	}
	_, err := r.p.client.Do(ctx, client.Call{Op: client.OpDeleteServiceRecovery, Params: []string{r.p.accountID, m.ID.ValueString()}}, nil)
	if err != nil && !client.IsNotFound(err) {
		apiError(&resp.Diagnostics, "removing auto-recovery", err)
	}
}

// ImportState takes the service's id.
func (r *recoveryResource) ImportState(ctx context.Context, req resource.ImportStateRequest, resp *resource.ImportStateResponse) {
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("id"), req.ID)...)
}
