package provider

import (
	"context"

	"github.com/hashicorp/terraform-plugin-framework-validators/int64validator"
	"github.com/hashicorp/terraform-plugin-framework-validators/listvalidator"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/booldefault"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/int64planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/listplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/ezscale/platform/terraform/internal/client"
)

func newBudgetResource() resource.Resource { return &budgetResource{} }

type budgetResource struct{ resourceBase }

var _ resource.ResourceWithImportState = (*budgetResource)(nil)

type budgetModel struct {
	ID           types.String `tfsdk:"id"`
	MonthlyLimit types.Int64  `tfsdk:"monthly_limit"`
	Currency     types.String `tfsdk:"currency"`
	Thresholds   types.List   `tfsdk:"thresholds"`
	HardStop     types.Bool   `tfsdk:"hard_stop"`
	ResetDay     types.Int64  `tfsdk:"reset_day"`
	AlertRule    types.String `tfsdk:"alert_rule"`
	StopRule     types.String `tfsdk:"stop_rule"`
}

func (r *budgetResource) Metadata(_ context.Context, req resource.MetadataRequest, resp *resource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_budget"
}

func (r *budgetResource) Schema(_ context.Context, _ resource.SchemaRequest, resp *resource.SchemaResponse) {
	keepS := []planmodifier.String{stringplanmodifier.UseStateForUnknown()}
	resp.Schema = schema.Schema{
		Description: "The account's monthly budget (one per account; its id is the account's id): alerts at thresholds of the limit and, with `hard_stop`, " +
			"suspension of the services not excluded once the limit is reached. Rules are expr expressions (docs/budget.md); the API refuses a bad one naming its line and column.",
		Attributes: map[string]schema.Attribute{
			"id": schema.StringAttribute{Description: "The account's id.", Computed: true, PlanModifiers: keepS},
			"monthly_limit": schema.Int64Attribute{
				Description: "The limit in minor units of the currency (cents).", Required: true,
				Validators: []validator.Int64{int64validator.AtLeast(1)},
			},
			"currency": schema.StringAttribute{Description: "ISO 4217. Default: the account's credit currency, else its billing profile's.", Optional: true, Computed: true, PlanModifiers: keepS},
			"thresholds": schema.ListAttribute{
				Description: "Alert thresholds in whole percent of the limit (1-1000, at most 10). Unset: 50, 75, 90; `[]`: none.",
				ElementType: types.Int64Type, Optional: true, Computed: true,
				Validators:    []validator.List{listvalidator.SizeAtMost(10), listvalidator.ValueInt64sAre(int64validator.Between(1, 1000))},
				PlanModifiers: []planmodifier.List{listplanmodifier.UseStateForUnknown()},
			},
			"hard_stop": schema.BoolAttribute{Description: "At the limit (or as stop_rule says), suspend the services not excluded. Default false.", Optional: true, Computed: true, Default: booldefault.StaticBool(false)},
			"reset_day": schema.Int64Attribute{
				Description: "Day of the month the budget resets (UTC, clamped to short months), 1-31. Default 1.", Optional: true, Computed: true,
				Validators:    []validator.Int64{int64validator.Between(1, 31)},
				PlanModifiers: []planmodifier.Int64{int64planmodifier.UseStateForUnknown()},
			},
			"alert_rule": schema.StringAttribute{Description: "An expr rule that sends one extra alert per period when it holds, e.g. `projected_percent >= 100`.", Optional: true, Computed: true, PlanModifiers: keepS},
			"stop_rule":  schema.StringAttribute{Description: "Per service: whether the hard stop suspends it. Default `spend_percent >= 100`.", Optional: true, Computed: true, PlanModifiers: keepS},
		},
	}
}

func (m *budgetModel) body(ctx context.Context) map[string]any {
	b := map[string]any{"monthly_limit": m.MonthlyLimit.ValueInt64(), "hard_stop": m.HardStop.ValueBool()}
	if s := m.Currency; !s.IsNull() && !s.IsUnknown() {
		b["currency"] = s.ValueString()
	}
	if !m.Thresholds.IsNull() && !m.Thresholds.IsUnknown() {
		th := []int64{}
		m.Thresholds.ElementsAs(ctx, &th, false)
		b["thresholds"] = th
	}
	if v := m.ResetDay; !v.IsNull() && !v.IsUnknown() {
		b["reset_day"] = v.ValueInt64()
	}
	if s := m.AlertRule; !s.IsNull() && !s.IsUnknown() {
		b["alert_rule"] = s.ValueString()
	}
	if s := m.StopRule; !s.IsNull() && !s.IsUnknown() {
		b["stop_rule"] = s.ValueString()
	}
	return b
}

func (m *budgetModel) set(ctx context.Context, b *client.Budget) {
	m.ID, m.MonthlyLimit, m.Currency = types.StringValue(b.AccountID), types.Int64Value(b.MonthlyLimit), types.StringValue(b.Currency)
	th := b.Thresholds
	if th == nil {
		th = []int64{}
	}
	m.Thresholds, _ = types.ListValueFrom(ctx, types.Int64Type, th)
	m.HardStop, m.ResetDay = types.BoolValue(b.HardStop), types.Int64Value(b.ResetDay)
	m.AlertRule, m.StopRule = types.StringValue(b.AlertRule), types.StringValue(b.StopRule)
}

type budgetStatus struct {
	Budget client.Budget `json:"budget"`
}

func (r *budgetResource) put(ctx context.Context, m *budgetModel) error {
	var st budgetStatus
	if _, err := r.p.client.Do(ctx, client.Call{Op: client.OpSetBudget, Params: []string{r.p.accountID}, Body: m.body(ctx)}, &st); err != nil {
		return err
	}
	m.set(ctx, &st.Budget)
	return nil
}

func (r *budgetResource) Create(ctx context.Context, req resource.CreateRequest, resp *resource.CreateResponse) {
	var m budgetModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &m)...)
	if resp.Diagnostics.HasError() {
		return
	}
	if err := r.put(ctx, &m); err != nil {
		apiError(&resp.Diagnostics, "setting the budget", err)
		return
	}
	resp.Diagnostics.Append(resp.State.Set(ctx, &m)...)
}

func (r *budgetResource) Read(ctx context.Context, req resource.ReadRequest, resp *resource.ReadResponse) {
	var m budgetModel
	resp.Diagnostics.Append(req.State.Get(ctx, &m)...)
	if resp.Diagnostics.HasError() {
		return
	}
	var st budgetStatus
	if !r.readRemote(ctx, client.Call{Op: client.OpGetBudget, Params: []string{m.ID.ValueString()}}, &st, "the budget", resp) {
		return
	}
	m.set(ctx, &st.Budget)
	resp.Diagnostics.Append(resp.State.Set(ctx, &m)...)
}

func (r *budgetResource) Update(ctx context.Context, req resource.UpdateRequest, resp *resource.UpdateResponse) {
	var m budgetModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &m)...)
	if resp.Diagnostics.HasError() {
		return
	}
	if err := r.put(ctx, &m); err != nil {
		apiError(&resp.Diagnostics, "setting the budget", err)
		return
	}
	resp.Diagnostics.Append(resp.State.Set(ctx, &m)...)
}

func (r *budgetResource) Delete(ctx context.Context, req resource.DeleteRequest, resp *resource.DeleteResponse) {
	var m budgetModel
	resp.Diagnostics.Append(req.State.Get(ctx, &m)...)
	if resp.Diagnostics.HasError() {
		return
	}
	_, err := r.p.client.Do(ctx, client.Call{Op: client.OpDeleteBudget, Params: []string{m.ID.ValueString()}}, nil)
	if err != nil && !client.IsNotFound(err) {
		apiError(&resp.Diagnostics, "removing the budget", err)
	}
}

// ImportState takes the account's id.
func (r *budgetResource) ImportState(ctx context.Context, req resource.ImportStateRequest, resp *resource.ImportStateResponse) {
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("id"), req.ID)...)
}
