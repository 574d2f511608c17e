package provider

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/booldefault"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/mapplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringdefault"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/ezscale/platform/terraform/internal/client"
)

// serviceKind is what tells ezscale_vps, ezscale_game_server and
// ezscale_kasm_workspace apart: the plan's service type.
type serviceKind struct {
	name        string // resource name suffix
	serviceType string // the API's service_type
	noun        string
}

var (
	vpsKind  = serviceKind{"vps", "vps", "VPS"}
	gameKind = serviceKind{"game_server", "game", "game server"}
	kasmKind = serviceKind{"kasm_workspace", "kasm", "Kasm workspace"}
)

var cycles = []string{"monthly", "quarterly", "annual", "biennial"}

func newServiceResource(k serviceKind) func() resource.Resource {
	return func() resource.Resource { return &serviceResource{kind: k} }
}

// serviceResource is a service of a plan of one service type.
type serviceResource struct {
	resourceBase
	kind serviceKind
}

var (
	_ resource.ResourceWithImportState = (*serviceResource)(nil)
	_ resource.ResourceWithModifyPlan  = (*serviceResource)(nil)
)

type serviceModel struct {
	ID                types.String `tfsdk:"id"`
	Plan              types.String `tfsdk:"plan"`
	PlanID            types.String `tfsdk:"plan_id"`
	Cycle             types.String `tfsdk:"cycle"`
	Label             types.String `tfsdk:"label"`
	ProjectID         types.String `tfsdk:"project_id"`
	Options           types.Map    `tfsdk:"options"`
	CancelAt          types.String `tfsdk:"cancel_at"`
	ConfirmDependents types.Bool   `tfsdk:"confirm_dependents"`
	ProvisionTimeout  types.String `tfsdk:"provisioning_timeout"`
	Status            types.String `tfsdk:"status"`
	Suspensions       types.List   `tfsdk:"suspensions"`
	Price             types.Int64  `tfsdk:"price"`
	Currency          types.String `tfsdk:"currency"`
	PeriodEnd         types.String `tfsdk:"period_end"`
	ExternalID        types.String `tfsdk:"external_id"`
	LastError         types.String `tfsdk:"last_error"`
}

func (r *serviceResource) Metadata(_ context.Context, req resource.MetadataRequest, resp *resource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_" + r.kind.name
}

func (r *serviceResource) Schema(_ context.Context, _ resource.SchemaRequest, resp *resource.SchemaResponse) {
	keep := []planmodifier.String{stringplanmodifier.UseStateForUnknown()}
	resp.Schema = schema.Schema{
		Description: fmt.Sprintf("A %s: a service of a plan of service type `%s`, ordered with the account's credit or default payment method. "+
			"Creating it orders the plan and waits until the service is active (or has failed, with the backend's error). "+
			"A plan change is made in place (an upgrade now and prorated, a downgrade at the end of the term), a cycle change at renewal; "+
			"destroying it cancels the service as `cancel_at` says.", r.kind.noun, r.kind.serviceType),
		Attributes: map[string]schema.Attribute{
			"id": schema.StringAttribute{Description: "The service's id.", Computed: true, PlanModifiers: keep},
			"plan": schema.StringAttribute{
				Description: fmt.Sprintf("The plan, by slug or id: a plan of service type `%s` (see the `ezscale_plans` data source). Changing it changes the service's plan in place.", r.kind.serviceType),
				Required:    true,
			},
			"plan_id": schema.StringAttribute{
				Description: "The id of the plan the service is on, or will be on at renewal when a downgrade is pending.",
				Computed:    true,
			},
			"cycle": schema.StringAttribute{
				Description: "Billing cycle: `monthly` (the default), `quarterly`, `annual` or `biennial`, among those the plan offers. A change takes effect at renewal.",
				Optional:    true, Computed: true, Default: stringdefault.StaticString("monthly"),
				Validators: []validator.String{stringvalidator.OneOf(cycles...)},
			},
			"label": schema.StringAttribute{
				Description: "The customer's label for the service. The API cannot relabel a service, so changing it orders a new one.",
				Optional:    true, Computed: true, Default: stringdefault.StaticString(""),
				PlanModifiers: []planmodifier.String{stringplanmodifier.RequiresReplace()},
			},
			"project_id": schema.StringAttribute{
				Description: "The project the service belongs to (an `ezscale_project`'s id), or none. Moving it between projects is made in place.",
				Optional:    true,
			},
			"options": schema.MapAttribute{
				Description:   "The customer's choices of the provisioner's options (hostname, OS template…): only keys the plan's `order_options` offer, with a value offered there. Checked against the plan at plan time; a change orders a new service.",
				ElementType:   types.StringType,
				Optional:      true,
				PlanModifiers: []planmodifier.Map{mapplanmodifier.RequiresReplace()},
			},
			"cancel_at": schema.StringAttribute{
				Description: "What destroying the resource does: `end_of_term` (the default) cancels the service when its paid period ends, `now` cancels and terminates it at once.",
				Optional:    true, Computed: true, Default: stringdefault.StaticString("end_of_term"),
				Validators: []validator.String{stringvalidator.OneOf("end_of_term", "now")},
			},
			"confirm_dependents": schema.BoolAttribute{
				Description: "Destroy the service even though other live services depend on it (see `ezscale_service_dependency`). Without it, destroying such a service fails with the API's message naming the dependents.",
				Optional:    true, Computed: true, Default: booldefault.StaticBool(false),
			},
			"provisioning_timeout": schema.StringAttribute{
				Description: "How long to wait for the service to become active after ordering it, as a Go duration (default `15m`). On timeout the apply fails with the service's last error and the service is tainted.",
				Optional:    true, Computed: true, Default: stringdefault.StaticString("15m"),
				Validators: []validator.String{durationValidator{}},
			},
			"status": schema.StringAttribute{
				Description: "`pending`, `provisioning`, `active` or `suspended`. A service suspended outside Terraform (non-payment, budget, staff) shows in the plan as a change back to `active`, which an apply cannot make: the reason has to be resolved first.",
				Computed:    true,
			},
			"suspensions": schema.ListAttribute{
				Description: "The suspension reasons in force (non_payment, budget, admin, abuse…).",
				ElementType: types.StringType, Computed: true,
			},
			"price":      schema.Int64Attribute{Description: "The price of one cycle in minor units of the currency, locked at order or plan change.", Computed: true},
			"currency":   schema.StringAttribute{Description: "ISO 4217 currency of the price.", Computed: true, PlanModifiers: keep},
			"period_end": schema.StringAttribute{Description: "End of the paid period (RFC 3339).", Computed: true},
			"external_id": schema.StringAttribute{
				Description: "The service's id at its backend (VirtFusion server, Pterodactyl server, Kasm session).", Computed: true, PlanModifiers: keep,
			},
			"last_error": schema.StringAttribute{Description: "Why the last backend call failed, if it did.", Computed: true},
		},
	}
}

func (r *serviceResource) ModifyPlan(ctx context.Context, req resource.ModifyPlanRequest, resp *resource.ModifyPlanResponse) {
	if req.Plan.Raw.IsNull() {
		return // destroy
	}
	var plan serviceModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	if resp.Diagnostics.HasError() {
		return
	}
	var state *serviceModel
	if !req.State.Raw.IsNull() {
		state = &serviceModel{}
		resp.Diagnostics.Append(req.State.Get(ctx, state)...)
		if resp.Diagnostics.HasError() {
			return
		}
	}
	// Validate the plan, cycle and options against the catalog, unless
	// they are what was applied already (a plan with no changes then
	// costs no catalog read).
	unchanged := state != nil && plan.Plan.Equal(state.Plan) && plan.Cycle.Equal(state.Cycle) && plan.Options.Equal(state.Options)
	if r.p != nil && !unchanged && !plan.Plan.IsUnknown() && !plan.Cycle.IsUnknown() {
		p, err := r.p.client.Plan(ctx, plan.Plan.ValueString())
		switch {
		case client.IsNotFound(err):
			resp.Diagnostics.AddAttributeError(path.Root("plan"), "Unknown plan", "The catalog has no plan "+plan.Plan.String()+".")
		case err != nil:
			apiError(&resp.Diagnostics, "reading the plan", err)
		default:
			r.checkPlan(ctx, p, &plan, resp)
			if state != nil && state.PlanID.ValueString() == p.ID {
				resp.Diagnostics.Append(resp.Plan.SetAttribute(ctx, path.Root("plan_id"), p.ID)...)
			} else if state == nil || plan.Plan.ValueString() != state.Plan.ValueString() {
				resp.Diagnostics.Append(resp.Plan.SetAttribute(ctx, path.Root("plan_id"), p.ID)...)
			}
		}
	}
	if state == nil {
		return
	}
	if unchanged {
		resp.Diagnostics.Append(resp.Plan.SetAttribute(ctx, path.Root("plan_id"), state.PlanID)...)
	}
	// Drift the configuration cannot express: a service suspended outside
	// Terraform shows as a change back to active.
	if state.Status.ValueString() == "suspended" {
		resp.Diagnostics.Append(resp.Plan.SetAttribute(ctx, path.Root("status"), "active")...)
		resp.Diagnostics.AddAttributeWarning(path.Root("status"), "Service suspended outside Terraform",
			fmt.Sprintf("%s %s is suspended (%s). Terraform cannot unsuspend it: pay what is overdue, raise the budget, or ask staff.",
				r.kind.noun, state.ID.ValueString(), strings.Join(listStrings(state.Suspensions), ", ")))
		return
	}
}

// checkPlan refuses at plan time what the API would refuse at apply: a plan
// of another service type, a cycle the plan does not offer, options the
// plan does not offer.
func (r *serviceResource) checkPlan(ctx context.Context, p *client.Plan, m *serviceModel, resp *resource.ModifyPlanResponse) {
	if p.ServiceType != r.kind.serviceType {
		resp.Diagnostics.AddAttributeError(path.Root("plan"), "Plan of another service type",
			fmt.Sprintf("Plan %s is a %s plan; ezscale_%s takes plans of service type %s.", p.Slug, p.ServiceType, r.kind.name, r.kind.serviceType))
	}
	offered := false
	var names []string
	for _, c := range p.Prices {
		names = append(names, c.Cycle)
		if c.Cycle == m.Cycle.ValueString() {
			offered = true
		}
	}
	if !offered {
		resp.Diagnostics.AddAttributeError(path.Root("cycle"), "Cycle not offered",
			fmt.Sprintf("Plan %s is offered %s, not %s.", p.Slug, strings.Join(names, ", "), m.Cycle.ValueString()))
	}
	if m.Options.IsUnknown() || m.Options.IsNull() {
		return
	}
	opts := map[string]types.String{}
	resp.Diagnostics.Append(m.Options.ElementsAs(ctx, &opts, false)...)
	for k, v := range opts {
		allowed, ok := p.OrderOptions[k]
		if !ok {
			keys := make([]string, 0, len(p.OrderOptions))
			for o := range p.OrderOptions {
				keys = append(keys, o)
			}
			sort.Strings(keys)
			resp.Diagnostics.AddAttributeError(path.Root("options").AtMapKey(k), "Option not offered",
				fmt.Sprintf("Plan %s does not let a customer choose %q (it offers: %s).", p.Slug, k, orNone(keys)))
			continue
		}
		if v.IsUnknown() || len(allowed) == 0 {
			continue
		}
		found := false
		for _, a := range allowed {
			found = found || a == v.ValueString()
		}
		if !found {
			resp.Diagnostics.AddAttributeError(path.Root("options").AtMapKey(k), "Option value not offered",
				fmt.Sprintf("Plan %s offers %s = %s, not %q.", p.Slug, k, strings.Join(allowed, ", "), v.ValueString()))
		}
	}
}

func orNone(s []string) string {
	if len(s) == 0 {
		return "none"
	}
	return strings.Join(s, ", ")
}

func (r *serviceResource) Create(ctx context.Context, req resource.CreateRequest, resp *resource.CreateResponse) {
	var m serviceModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &m)...)
	if resp.Diagnostics.HasError() {
		return
	}
	opts := map[string]string{}
	if !m.Options.IsNull() {
		resp.Diagnostics.Append(m.Options.ElementsAs(ctx, &opts, false)...)
	}
	body := map[string]any{"plan_id": m.Plan.ValueString(), "cycle": m.Cycle.ValueString(), "label": m.Label.ValueString()}
	if len(opts) > 0 {
		body["options"] = opts
	}
	var order client.Order
	key := orderKey(r.kind.name, r.p.accountID, map[string]any{"order": body, "project": m.ProjectID.ValueString()}, r.p)
	res, err := r.p.client.Do(ctx, client.Call{Op: client.OpOrderService, Params: []string{r.p.accountID}, IdempotencyKey: key, Body: body}, &order)
	if err != nil {
		apiError(&resp.Diagnostics, "ordering "+m.Plan.ValueString(), err)
		return
	}
	if res.Replayed {
		resp.Diagnostics.AddWarning("Order replayed",
			fmt.Sprintf("The API answered with %s %s, ordered at %s by an earlier apply with the same configuration that did not record it (nothing was ordered again). "+
				"If another resource already manages that service, give this one a distinct label.",
				r.kind.noun, order.Service.ID, order.Service.CreatedAt.UTC().Format(time.RFC3339)))
	}
	svc := &order.Service
	// From here on the service exists: whatever fails, it goes into the
	// state (tainted on error), never lost.
	defer func() {
		r.setFromService(ctx, &m, svc, &resp.Diagnostics)
		resp.Diagnostics.Append(resp.State.Set(ctx, &m)...)
	}()
	if p := m.ProjectID.ValueString(); p != "" {
		if err := r.move(ctx, svc.ID, "", p); err != nil {
			apiError(&resp.Diagnostics, "moving the service into project "+p, err)
			return
		}
	}
	timeout, _ := time.ParseDuration(m.ProvisionTimeout.ValueString())
	got, err := r.waitActive(ctx, svc.ID, timeout)
	if got != nil {
		svc = got
	}
	if err != nil {
		resp.Diagnostics.AddError(fmt.Sprintf("%s %s was not provisioned", r.kind.noun, svc.ID), err.Error())
	}
}

// waitActive polls the service until it is active, has failed or ended,
// or timeout has passed.
func (r *serviceResource) waitActive(ctx context.Context, id string, timeout time.Duration) (*client.Service, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	// Start fast (a sandbox or a quick backend is ready in a second or
	// two) and back off to a poll a second.
	interval := 100 * time.Millisecond
	var last *client.Service
	for {
		s, err := r.p.client.Service(ctx, r.p.accountID, id)
		if err != nil {
			if errors.Is(err, context.DeadlineExceeded) && last != nil {
				return last, timedOut(last, timeout)
			}
			return last, err
		}
		last = s
		switch s.Status {
		case "active":
			return s, nil
		case "failed":
			return s, fmt.Errorf("provisioning failed: %s", orDefault(s.LastError, "the backend gave no reason"))
		case "cancelled", "terminated":
			return s, fmt.Errorf("the service was %s while it was being provisioned", s.Status)
		}
		t := time.NewTimer(interval)
		select {
		case <-ctx.Done():
			t.Stop()
			return s, timedOut(s, timeout)
		case <-t.C:
		}
		if interval = interval * 3 / 2; interval > time.Second {
			interval = time.Second
		}
	}
}

func timedOut(s *client.Service, timeout time.Duration) error {
	msg := fmt.Sprintf("still %s after %s (%d provisioning attempts)", s.Status, timeout, s.ProvisionAttempts)
	if s.LastError != "" {
		msg += "; last error: " + s.LastError
	}
	if s.Status == "pending" {
		msg += "; a pending service waits for its order's invoice to be paid"
	}
	return errors.New(msg)
}

func orDefault(s, d string) string {
	if s == "" {
		return d
	}
	return s
}

// move moves the service from project `from` (or none) into `to` (or none).
func (r *serviceResource) move(ctx context.Context, id, from, to string) error {
	ids := map[string]any{"service_ids": []string{id}}
	if to != "" {
		_, err := r.p.client.Do(ctx, client.Call{Op: client.OpMoveIntoProject, Params: []string{r.p.accountID, to},
			IdempotencyKey: "tf-move-" + id + "-" + to + "-" + time.Now().UTC().Format(time.RFC3339Nano), Body: ids}, nil)
		return err
	}
	if from == "" {
		return nil
	}
	_, err := r.p.client.Do(ctx, client.Call{Op: client.OpRemoveFromProj, Params: []string{r.p.accountID, from},
		IdempotencyKey: "tf-unmove-" + id + "-" + from + "-" + time.Now().UTC().Format(time.RFC3339Nano), Body: ids}, nil)
	if client.HasCode(err, "invalid") {
		return nil // not in that project any more
	}
	return err
}

// setFromService writes the service as the API shows it into m. The plan
// and cycle are what the service will be on at renewal (a pending change
// included), so a change made at the end of the term does not show as a
// difference until then.
func (r *serviceResource) setFromService(ctx context.Context, m *serviceModel, s *client.Service, diags interface {
	Append(...diagnosticT)
}) {
	m.ID = types.StringValue(s.ID)
	planID, cycle := s.PlanID, s.Cycle
	if s.PendingChange != nil {
		planID, cycle = s.PendingChange.PlanID, s.PendingChange.Cycle
	}
	if m.PlanID.ValueString() != planID || m.Plan.IsNull() || m.Plan.IsUnknown() {
		if p, err := r.p.client.Plan(ctx, planID); err == nil {
			m.Plan = types.StringValue(p.Slug)
		} else {
			m.Plan = types.StringValue(planID)
		}
	}
	m.PlanID = types.StringValue(planID)
	m.Cycle = types.StringValue(cycle)
	m.Label = types.StringValue(s.Label)
	if len(s.Options) > 0 || !m.Options.IsNull() {
		ov, d := types.MapValueFrom(ctx, types.StringType, s.Options)
		diags.Append(d...)
		m.Options = ov
	}
	m.Status = types.StringValue(s.Status)
	susp := s.Suspensions
	if susp == nil {
		susp = []string{}
	}
	lv, d := types.ListValueFrom(ctx, types.StringType, susp)
	diags.Append(d...)
	m.Suspensions = lv
	m.Price = types.Int64Value(s.Price)
	m.Currency = types.StringValue(s.Currency)
	if s.PeriodEnd != nil {
		m.PeriodEnd = types.StringValue(s.PeriodEnd.UTC().Format(time.RFC3339))
	} else {
		m.PeriodEnd = types.StringValue("")
	}
	m.ExternalID = types.StringValue(s.ExternalID)
	m.LastError = types.StringValue(s.LastError)
	if m.CancelAt.IsNull() || m.CancelAt.IsUnknown() {
		m.CancelAt = types.StringValue("end_of_term")
	}
	if m.ConfirmDependents.IsNull() || m.ConfirmDependents.IsUnknown() {
		m.ConfirmDependents = types.BoolValue(false)
	}
	if m.ProvisionTimeout.IsNull() || m.ProvisionTimeout.IsUnknown() {
		m.ProvisionTimeout = types.StringValue("15m")
	}
}

func (r *serviceResource) Read(ctx context.Context, req resource.ReadRequest, resp *resource.ReadResponse) {
	var m serviceModel
	resp.Diagnostics.Append(req.State.Get(ctx, &m)...)
	if resp.Diagnostics.HasError() {
		return
	}
	s, err := r.p.client.Service(ctx, r.p.accountID, m.ID.ValueString())
	if client.IsNotFound(err) || (err == nil && !s.Live() && s.Status != "failed") {
		// Gone, or cancelled outside Terraform: the plan orders it again.
		resp.State.RemoveResource(ctx)
		return
	}
	if err != nil {
		apiError(&resp.Diagnostics, "reading the service", err)
		return
	}
	r.setFromService(ctx, &m, s, &resp.Diagnostics)
	if project, ok := r.projectOf(ctx, s.ID, m.ProjectID.ValueString(), &resp.Diagnostics); ok {
		m.ProjectID = project
	}
	resp.Diagnostics.Append(resp.State.Set(ctx, &m)...)
}

// projectOf finds the project the service is in: the one the state names
// when it still holds it, else none when it is among the services in no
// project, else the one whose list has it (the API has no project field on
// a service; the services list filtered by project answers).
func (r *serviceResource) projectOf(ctx context.Context, serviceID, hint string, diags interface {
	Append(...diagnosticT)
	AddError(string, string)
}) (types.String, bool) {
	in := func(project string) (bool, error) {
		list, err := client.All[client.Service](ctx, r.p.client, client.OpListServices, []string{r.p.accountID}, map[string][]string{"project_id": {project}})
		if err != nil {
			return false, err
		}
		for _, s := range list {
			if s.ID == serviceID {
				return true, nil
			}
		}
		return false, nil
	}
	if hint != "" {
		ok, err := in(hint)
		if err == nil && ok {
			return types.StringValue(hint), true
		}
		if err != nil && !client.IsNotFound(err) {
			diags.AddError("EZSCALE API: listing the project's services", err.Error())
			return types.StringNull(), false
		}
	}
	if ok, err := in("none"); err == nil && ok {
		return types.StringNull(), true
	}
	projects, err := client.All[client.Project](ctx, r.p.client, client.OpListProjects, []string{r.p.accountID}, map[string][]string{"archived": {"all"}})
	if err != nil {
		diags.AddError("EZSCALE API: listing projects", err.Error())
		return types.StringNull(), false
	}
	for _, p := range projects {
		if p.ID == hint {
			continue
		}
		if ok, err := in(p.ID); err == nil && ok {
			return types.StringValue(p.ID), true
		}
	}
	return types.StringNull(), true
}

func (r *serviceResource) Update(ctx context.Context, req resource.UpdateRequest, resp *resource.UpdateResponse) {
	var plan, state serviceModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	id := state.ID.ValueString()
	s, err := r.p.client.Service(ctx, r.p.accountID, id)
	if err != nil {
		apiError(&resp.Diagnostics, "reading the service", err)
		return
	}
	if s.Status == "suspended" {
		resp.Diagnostics.AddError(fmt.Sprintf("%s %s is suspended", r.kind.noun, id),
			fmt.Sprintf("It is suspended (%s) outside Terraform, which cannot unsuspend it: pay what is overdue, raise the budget, or ask staff; then apply again.", strings.Join(s.Suspensions, ", ")))
		return
	}
	if !plan.Plan.Equal(state.Plan) || !plan.Cycle.Equal(state.Cycle) {
		body := map[string]any{"plan_id": plan.Plan.ValueString(), "cycle": plan.Cycle.ValueString()}
		if plan.Plan.Equal(state.Plan) || plan.PlanID.Equal(state.PlanID) {
			body["when"] = "end_of_term" // a cycle change alone: at renewal
		}
		if _, err := r.p.client.Do(ctx, client.Call{Op: client.OpChangeServicePlan, Params: []string{r.p.accountID, id}, Body: body}, nil); err != nil {
			apiError(&resp.Diagnostics, "changing the plan", err)
			return
		}
	}
	if !plan.ProjectID.Equal(state.ProjectID) {
		if err := r.move(ctx, id, state.ProjectID.ValueString(), plan.ProjectID.ValueString()); err != nil {
			apiError(&resp.Diagnostics, "moving the service between projects", err)
			return
		}
	}
	if s, err = r.p.client.Service(ctx, r.p.accountID, id); err != nil {
		apiError(&resp.Diagnostics, "reading the service", err)
		return
	}
	r.setFromService(ctx, &plan, s, &resp.Diagnostics)
	resp.Diagnostics.Append(resp.State.Set(ctx, &plan)...)
}

func (r *serviceResource) Delete(ctx context.Context, req resource.DeleteRequest, resp *resource.DeleteResponse) {
	var m serviceModel
	resp.Diagnostics.Append(req.State.Get(ctx, &m)...)
	if resp.Diagnostics.HasError() {
		return
	}
	s, err := r.p.client.Service(ctx, r.p.accountID, m.ID.ValueString())
	if client.IsNotFound(err) {
		return
	}
	if err != nil {
		apiError(&resp.Diagnostics, "reading the service", err)
		return
	}
	if !s.Live() || (s.CancelAtPeriodEnd && m.CancelAt.ValueString() == "end_of_term") {
		return
	}
	body := map[string]any{"when": m.CancelAt.ValueString(), "reason": "destroyed by Terraform"}
	if m.ConfirmDependents.ValueBool() {
		body["confirm_dependents"] = true
	}
	if _, err := r.p.client.Do(ctx, client.Call{Op: client.OpCancelService, Params: []string{r.p.accountID, s.ID}, Body: body}, nil); err != nil {
		apiError(&resp.Diagnostics, "cancelling the service", err)
	}
}

func (r *serviceResource) ImportState(ctx context.Context, req resource.ImportStateRequest, resp *resource.ImportStateResponse) {
	s, err := r.p.client.Service(ctx, r.p.accountID, req.ID)
	if err != nil {
		apiError(&resp.Diagnostics, "reading service "+req.ID, err)
		return
	}
	p, err := r.p.client.Plan(ctx, s.PlanID)
	if err != nil {
		apiError(&resp.Diagnostics, "reading the service's plan", err)
		return
	}
	if p.ServiceType != r.kind.serviceType {
		resp.Diagnostics.AddError("Service of another type",
			fmt.Sprintf("Service %s is of service type %s; import it as the resource of that type, not ezscale_%s.", s.ID, p.ServiceType, r.kind.name))
		return
	}
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("id"), s.ID)...)
}

func listStrings(l types.List) []string {
	var out []string
	for _, v := range l.Elements() {
		if s, ok := v.(types.String); ok {
			out = append(out, s.ValueString())
		}
	}
	return out
}
