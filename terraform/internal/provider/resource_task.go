package provider

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/hashicorp/terraform-plugin-framework-validators/int64validator"
	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/booldefault"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/int64default"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringdefault"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/robfig/cron/v3"

	"github.com/ezscale/platform/terraform/internal/client"
)

func newTaskResource() resource.Resource { return &taskResource{} }

type taskResource struct{ resourceBase }

var _ resource.ResourceWithImportState = (*taskResource)(nil)

type taskModel struct {
	ID         types.String `tfsdk:"id"`
	ServiceID  types.String `tfsdk:"service_id"`
	Name       types.String `tfsdk:"name"`
	Type       types.String `tfsdk:"type"`
	Script     types.String `tfsdk:"script"`
	Cron       types.String `tfsdk:"cron"`
	TimeZone   types.String `tfsdk:"time_zone"`
	Enabled    types.Bool   `tfsdk:"enabled"`
	Notify     types.String `tfsdk:"notify"`
	MaxRetries types.Int64  `tfsdk:"max_retries"`
	NextRunAt  types.String `tfsdk:"next_run_at"`
}

func (r *taskResource) Metadata(_ context.Context, req resource.MetadataRequest, resp *resource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_automated_task"
}

func (r *taskResource) Schema(_ context.Context, _ resource.SchemaRequest, resp *resource.SchemaResponse) {
	replace := []planmodifier.String{stringplanmodifier.RequiresReplace()}
	resp.Schema = schema.Schema{
		Description: "A scheduled task of a service (reboot, snapshot, backup or a custom script), run by the platform's scheduler on a cron schedule in a time zone. " +
			"The cron expression and time zone are checked at plan time.",
		Attributes: map[string]schema.Attribute{
			"id":         schema.StringAttribute{Description: "The task's id.", Computed: true, PlanModifiers: []planmodifier.String{stringplanmodifier.UseStateForUnknown()}},
			"service_id": schema.StringAttribute{Description: "The service the task acts on.", Required: true, PlanModifiers: replace},
			"type": schema.StringAttribute{
				Description: "`reboot`, `snapshot`, `backup` or `custom_script`: only a type the service's provisioner supports (the API refuses another with `not_supported`).",
				Required:    true, PlanModifiers: replace,
				Validators: []validator.String{stringvalidator.OneOf("reboot", "snapshot", "backup", "custom_script")},
			},
			"name": schema.StringAttribute{
				Description: "Up to 100 characters.", Optional: true, Computed: true, Default: stringdefault.StaticString(""),
				Validators: []validator.String{stringvalidator.LengthAtMost(100)},
			},
			"script": schema.StringAttribute{
				Description: "`custom_script` only: the script the provisioner runs on the server (up to 16 KiB).", Optional: true, Computed: true, Default: stringdefault.StaticString(""),
				Validators: []validator.String{stringvalidator.LengthAtMost(16384)},
			},
			"cron": schema.StringAttribute{
				Description: "A 5-field cron expression (minute hour day-of-month month day-of-week) or @hourly, @daily, @weekly, @monthly, @yearly.",
				Required:    true, Validators: []validator.String{cronValidator{}},
			},
			"time_zone": schema.StringAttribute{
				Description: "The IANA time zone the expression is read in (default UTC).", Optional: true, Computed: true, Default: stringdefault.StaticString("UTC"),
				Validators: []validator.String{zoneValidator{}},
			},
			"enabled": schema.BoolAttribute{Description: "Whether the task runs (default true).", Optional: true, Computed: true, Default: booldefault.StaticBool(true)},
			"notify": schema.StringAttribute{
				Description: "When the account is told of a run: `none`, `failure` (the default) or `always`.", Optional: true, Computed: true, Default: stringdefault.StaticString("failure"),
				Validators: []validator.String{stringvalidator.OneOf("none", "failure", "always")},
			},
			"max_retries": schema.Int64Attribute{
				Description: "Retries of a failed run, 0-10 (default 3).", Optional: true, Computed: true, Default: int64default.StaticInt64(3),
				Validators: []validator.Int64{int64validator.Between(0, 10)},
			},
			"next_run_at": schema.StringAttribute{Description: "When the task runs next (RFC 3339), empty when disabled.", Computed: true},
		},
	}
}

func (m *taskModel) body(create bool) map[string]any {
	b := map[string]any{"name": m.Name.ValueString(), "script": m.Script.ValueString(), "cron": m.Cron.ValueString(),
		"time_zone": m.TimeZone.ValueString(), "enabled": m.Enabled.ValueBool(), "notify": m.Notify.ValueString(), "max_retries": m.MaxRetries.ValueInt64()}
	if create {
		b["service_id"], b["type"] = m.ServiceID.ValueString(), m.Type.ValueString()
	}
	return b
}

func (m *taskModel) set(t *client.Task) {
	m.ID, m.ServiceID, m.Name, m.Type = types.StringValue(t.ID), types.StringValue(t.ServiceID), types.StringValue(t.Name), types.StringValue(t.Type)
	m.Script, m.Cron, m.TimeZone = types.StringValue(t.Script), types.StringValue(t.Cron), types.StringValue(t.TimeZone)
	m.Enabled, m.Notify, m.MaxRetries = types.BoolValue(t.Enabled), types.StringValue(t.Notify), types.Int64Value(t.MaxRetries)
	m.NextRunAt = types.StringValue("")
	if t.NextRunAt != nil {
		m.NextRunAt = types.StringValue(t.NextRunAt.UTC().Format(time.RFC3339))
	}
}

func (r *taskResource) Create(ctx context.Context, req resource.CreateRequest, resp *resource.CreateResponse) {
	var m taskModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &m)...)
	if resp.Diagnostics.HasError() {
		return
	}
	var t client.Task
	body := m.body(true)
	if _, err := r.p.client.Do(ctx, client.Call{Op: client.OpCreateTask, Params: []string{r.p.accountID},
		IdempotencyKey: orderKey("task", r.p.accountID, body, r.p), Body: body}, &t); err != nil {
		apiError(&resp.Diagnostics, "creating the task", err)
		return
	}
	m.set(&t)
	resp.Diagnostics.Append(resp.State.Set(ctx, &m)...)
}

func (r *taskResource) Read(ctx context.Context, req resource.ReadRequest, resp *resource.ReadResponse) {
	var m taskModel
	resp.Diagnostics.Append(req.State.Get(ctx, &m)...)
	if resp.Diagnostics.HasError() {
		return
	}
	var t client.Task
	if !r.readRemote(ctx, client.Call{Op: client.OpGetTask, Params: []string{r.p.accountID, m.ID.ValueString()}}, &t, "the task", resp) {
		return
	}
	m.set(&t)
	resp.Diagnostics.Append(resp.State.Set(ctx, &m)...)
}

func (r *taskResource) Update(ctx context.Context, req resource.UpdateRequest, resp *resource.UpdateResponse) {
	var m, state taskModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &m)...)
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	var t client.Task
	if _, err := r.p.client.Do(ctx, client.Call{Op: client.OpUpdateTask, Params: []string{r.p.accountID, state.ID.ValueString()}, Body: m.body(false)}, &t); err != nil {
		apiError(&resp.Diagnostics, "updating the task", err)
		return
	}
	m.set(&t)
	resp.Diagnostics.Append(resp.State.Set(ctx, &m)...)
}

func (r *taskResource) Delete(ctx context.Context, req resource.DeleteRequest, resp *resource.DeleteResponse) {
	var m taskModel
	resp.Diagnostics.Append(req.State.Get(ctx, &m)...)
	if resp.Diagnostics.HasError() {
		return
	}
	_, err := r.p.client.Do(ctx, client.Call{Op: client.OpDeleteTask, Params: []string{r.p.accountID, m.ID.ValueString()}}, nil)
	if err != nil && !client.IsNotFound(err) {
		apiError(&resp.Diagnostics, "deleting the task", err)
	}
}

func (r *taskResource) ImportState(ctx context.Context, req resource.ImportStateRequest, resp *resource.ImportStateResponse) {
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("id"), req.ID)...)
}

// cronParser reads expressions as the platform's scheduler does: five
// fields or a descriptor, no seconds, no @every.
var cronParser = cron.NewParser(cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow | cron.Descriptor)

// checkCron returns why the scheduler would refuse expr, or nil.
func checkCron(expr string) error {
	expr = strings.TrimSpace(expr)
	switch {
	case expr == "":
		return fmt.Errorf("the cron expression is empty; use 5 fields: minute hour day-of-month month day-of-week, e.g. \"30 2 * * *\"")
	case len(expr) > 100:
		return fmt.Errorf("the cron expression is longer than 100 characters")
	case strings.HasPrefix(expr, "TZ=") || strings.HasPrefix(expr, "CRON_TZ="):
		return fmt.Errorf("give the time zone in time_zone, not inside the expression")
	case strings.HasPrefix(expr, "@every"):
		return fmt.Errorf("@every is not supported; use a 5-field expression such as \"*/15 * * * *\"")
	}
	if !strings.HasPrefix(expr, "@") {
		if n := len(strings.Fields(expr)); n != 5 {
			return fmt.Errorf("the cron expression has %d fields, it needs 5: minute hour day-of-month month day-of-week", n)
		}
	}
	sched, err := cronParser.Parse(expr)
	if err != nil {
		return fmt.Errorf("invalid cron expression: %s", strings.TrimPrefix(err.Error(), "failed to parse "))
	}
	if sched.Next(time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)).IsZero() {
		return fmt.Errorf("the cron expression never matches a real date (e.g. 30 February)")
	}
	return nil
}

type cronValidator struct{}

func (cronValidator) Description(context.Context) string {
	return "a 5-field cron expression or @hourly, @daily, @weekly, @monthly, @yearly"
}
func (v cronValidator) MarkdownDescription(ctx context.Context) string { return v.Description(ctx) }
func (cronValidator) ValidateString(_ context.Context, req validator.StringRequest, resp *validator.StringResponse) {
	if req.ConfigValue.IsNull() || req.ConfigValue.IsUnknown() {
		return
	}
	if err := checkCron(req.ConfigValue.ValueString()); err != nil {
		resp.Diagnostics.AddAttributeError(req.Path, "Invalid cron expression", err.Error())
	}
}

type zoneValidator struct{}

func (zoneValidator) Description(context.Context) string {
	return "an IANA time zone such as Europe/Berlin"
}
func (v zoneValidator) MarkdownDescription(ctx context.Context) string { return v.Description(ctx) }
func (zoneValidator) ValidateString(_ context.Context, req validator.StringRequest, resp *validator.StringResponse) {
	if req.ConfigValue.IsNull() || req.ConfigValue.IsUnknown() {
		return
	}
	if _, err := time.LoadLocation(req.ConfigValue.ValueString()); err != nil || req.ConfigValue.ValueString() == "Local" {
		resp.Diagnostics.AddAttributeError(req.Path, "Unknown time zone", "Want an IANA time zone such as Europe/Berlin or UTC, got "+req.ConfigValue.String()+".")
	}
}
