package provider

import (
	"context"
	"fmt"
	"net/url"
	"sort"

	"github.com/hashicorp/terraform-plugin-framework/datasource"
	"github.com/hashicorp/terraform-plugin-framework/datasource/schema"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/ezscale/platform/terraform/internal/client"
)

// planAttrs are the attributes of a plan, in ezscale_plan and in each
// element of ezscale_plans.
func planAttrs(lookup bool) map[string]schema.Attribute {
	a := map[string]schema.Attribute{
		"id":            schema.StringAttribute{Description: "The plan's id.", Computed: true},
		"slug":          schema.StringAttribute{Description: "The plan's slug.", Computed: true},
		"name":          schema.StringAttribute{Description: "Its name.", Computed: true},
		"description":   schema.StringAttribute{Description: "Its description.", Computed: true},
		"service_type":  schema.StringAttribute{Description: "`vps`, `dedicated`, `hosting`, `game` or `kasm`.", Computed: true},
		"tier":          schema.StringAttribute{Description: "Its tier.", Computed: true},
		"currency":      schema.StringAttribute{Description: "ISO 4217 currency of its prices.", Computed: true},
		"monthly_price": schema.Int64Attribute{Description: "The monthly price in minor units.", Computed: true},
		"free_tier":     schema.BoolAttribute{Description: "Whether it is a free-tier plan.", Computed: true},
		"prices":        schema.MapAttribute{Description: "The price of each cycle offered, in minor units, by cycle.", ElementType: types.Int64Type, Computed: true},
		"order_options": schema.MapAttribute{
			Description: "The options a customer may choose at order (a resource's `options`), each with the values offered (empty: any value the provisioner accepts).",
			ElementType: types.ListType{ElemType: types.StringType}, Computed: true,
		},
		"specs": schema.MapAttribute{Description: "The plan's specifications, as text.", ElementType: types.StringType, Computed: true},
	}
	if lookup {
		a["id"] = schema.StringAttribute{Description: "The plan's id; give this or `slug`.", Optional: true, Computed: true}
		a["slug"] = schema.StringAttribute{Description: "The plan's slug; give this or `id`.", Optional: true, Computed: true}
	}
	return a
}

type planModel struct {
	ID           types.String `tfsdk:"id"`
	Slug         types.String `tfsdk:"slug"`
	Name         types.String `tfsdk:"name"`
	Description  types.String `tfsdk:"description"`
	ServiceType  types.String `tfsdk:"service_type"`
	Tier         types.String `tfsdk:"tier"`
	Currency     types.String `tfsdk:"currency"`
	MonthlyPrice types.Int64  `tfsdk:"monthly_price"`
	FreeTier     types.Bool   `tfsdk:"free_tier"`
	Prices       types.Map    `tfsdk:"prices"`
	OrderOptions types.Map    `tfsdk:"order_options"`
	Specs        types.Map    `tfsdk:"specs"`
}

func newPlanModel(ctx context.Context, p *client.Plan) planModel {
	prices := map[string]int64{}
	for _, c := range p.Prices {
		prices[c.Cycle] = c.Price
	}
	opts := p.OrderOptions
	if opts == nil {
		opts = map[string][]string{}
	}
	for k, v := range opts {
		if v == nil {
			opts[k] = []string{}
		}
	}
	specs := map[string]string{}
	for k, v := range p.Specs {
		specs[k] = fmt.Sprint(v)
	}
	pm, _ := types.MapValueFrom(ctx, types.Int64Type, prices)
	om, _ := types.MapValueFrom(ctx, types.ListType{ElemType: types.StringType}, opts)
	sm, _ := types.MapValueFrom(ctx, types.StringType, specs)
	return planModel{
		ID: types.StringValue(p.ID), Slug: types.StringValue(p.Slug), Name: types.StringValue(p.Name), Description: types.StringValue(p.Description),
		ServiceType: types.StringValue(p.ServiceType), Tier: types.StringValue(p.Tier), Currency: types.StringValue(p.Currency),
		MonthlyPrice: types.Int64Value(p.MonthlyPrice), FreeTier: types.BoolValue(p.FreeTier), Prices: pm, OrderOptions: om, Specs: sm,
	}
}

// ezscale_plans

func newPlansDataSource() datasource.DataSource { return &plansDataSource{} }

type plansDataSource struct{ dataSourceBase }

type plansModel struct {
	ServiceType types.String `tfsdk:"service_type"`
	Location    types.String `tfsdk:"location"`
	Plans       []planModel  `tfsdk:"plans"`
}

func (d *plansDataSource) Metadata(_ context.Context, req datasource.MetadataRequest, resp *datasource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_plans"
}

func (d *plansDataSource) Schema(_ context.Context, _ datasource.SchemaRequest, resp *datasource.SchemaResponse) {
	resp.Schema = schema.Schema{
		Description: "The public catalog's plans, in catalog order, optionally filtered by service type and location.",
		Attributes: map[string]schema.Attribute{
			"service_type": schema.StringAttribute{Description: "Only plans of this service type (`vps`, `dedicated`, `hosting`, `game`, `kasm`).", Optional: true},
			"location": schema.StringAttribute{
				Description: "Only plans offered in this location: the plan's `location` spec, or a value of its `location` order option (a plan that lets the customer choose any location matches).",
				Optional:    true,
			},
			"plans": schema.ListNestedAttribute{
				Description:  "The plans.",
				Computed:     true,
				NestedObject: schema.NestedAttributeObject{Attributes: planAttrs(false)},
			},
		},
	}
}

func (d *plansDataSource) Read(ctx context.Context, req datasource.ReadRequest, resp *datasource.ReadResponse) {
	var m plansModel
	resp.Diagnostics.Append(req.Config.Get(ctx, &m)...)
	if resp.Diagnostics.HasError() {
		return
	}
	plans, err := client.All[client.Plan](ctx, d.p.client, client.OpListPlans, nil, nil)
	if err != nil {
		apiError(&resp.Diagnostics, "listing plans", err)
		return
	}
	m.Plans = []planModel{}
	for i := range plans {
		p := &plans[i]
		if t := m.ServiceType.ValueString(); t != "" && p.ServiceType != t {
			continue
		}
		if loc := m.Location.ValueString(); loc != "" && !offeredIn(p, loc) {
			continue
		}
		m.Plans = append(m.Plans, newPlanModel(ctx, p))
	}
	resp.Diagnostics.Append(resp.State.Set(ctx, &m)...)
}

func offeredIn(p *client.Plan, loc string) bool {
	if v, ok := p.Specs["location"]; ok && fmt.Sprint(v) == loc {
		return true
	}
	if vals, ok := p.OrderOptions["location"]; ok {
		if len(vals) == 0 {
			return true
		}
		for _, v := range vals {
			if v == loc {
				return true
			}
		}
	}
	return false
}

// ezscale_plan

func newPlanDataSource() datasource.DataSource { return &planDataSource{} }

type planDataSource struct{ dataSourceBase }

func (d *planDataSource) Metadata(_ context.Context, req datasource.MetadataRequest, resp *datasource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_plan"
}

func (d *planDataSource) Schema(_ context.Context, _ datasource.SchemaRequest, resp *datasource.SchemaResponse) {
	resp.Schema = schema.Schema{Description: "One plan of the public catalog, by slug or id.", Attributes: planAttrs(true)}
}

func (d *planDataSource) Read(ctx context.Context, req datasource.ReadRequest, resp *datasource.ReadResponse) {
	var m planModel
	resp.Diagnostics.Append(req.Config.Get(ctx, &m)...)
	if resp.Diagnostics.HasError() {
		return
	}
	key := m.Slug.ValueString()
	if key == "" {
		key = m.ID.ValueString()
	}
	if key == "" {
		resp.Diagnostics.AddError("Missing plan", "Give the plan's slug or id.")
		return
	}
	p, err := d.p.client.Plan(ctx, key)
	if err != nil {
		apiError(&resp.Diagnostics, "reading plan "+key, err)
		return
	}
	m = newPlanModel(ctx, p)
	resp.Diagnostics.Append(resp.State.Set(ctx, &m)...)
}

// ezscale_account

func newAccountDataSource() datasource.DataSource { return &accountDataSource{} }

type accountDataSource struct{ dataSourceBase }

type accountModel struct {
	ID   types.String `tfsdk:"id"`
	Name types.String `tfsdk:"name"`
	Role types.String `tfsdk:"role"`
}

func (d *accountDataSource) Metadata(_ context.Context, req datasource.MetadataRequest, resp *datasource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_account"
}

func (d *accountDataSource) Schema(_ context.Context, _ datasource.SchemaRequest, resp *datasource.SchemaResponse) {
	resp.Schema = schema.Schema{
		Description: "The account the provider manages (its `account_id`, or the token's one account).",
		Attributes: map[string]schema.Attribute{
			"id":   schema.StringAttribute{Description: "The account's id.", Computed: true},
			"name": schema.StringAttribute{Description: "The account's name.", Computed: true},
			"role": schema.StringAttribute{Description: "The token's user's role in it (`owner`, `admin`, `billing`, `technical`, `read_only`); empty for staff.", Computed: true},
		},
	}
}

func (d *accountDataSource) Read(ctx context.Context, _ datasource.ReadRequest, resp *datasource.ReadResponse) {
	var a client.Account
	if _, err := d.p.client.Do(ctx, client.Call{Op: client.OpGetAccount, Params: []string{d.p.accountID}}, &a); err != nil {
		apiError(&resp.Diagnostics, "reading the account", err)
		return
	}
	m := accountModel{ID: types.StringValue(a.ID), Name: types.StringValue(a.Name), Role: types.StringValue(a.Role)}
	if a.Role == "" {
		if me, err := d.p.client.Me(ctx); err == nil {
			for _, x := range me.Accounts {
				if x.ID == a.ID {
					m.Role = types.StringValue(x.Role)
				}
			}
		}
	}
	resp.Diagnostics.Append(resp.State.Set(ctx, &m)...)
}

// ezscale_services

func newServicesDataSource() datasource.DataSource { return &servicesDataSource{} }

type servicesDataSource struct{ dataSourceBase }

type servicesModel struct {
	Status    types.String        `tfsdk:"status"`
	ProjectID types.String        `tfsdk:"project_id"`
	Services  []serviceEntryModel `tfsdk:"services"`
}

type serviceEntryModel struct {
	ID         types.String `tfsdk:"id"`
	PlanID     types.String `tfsdk:"plan_id"`
	Label      types.String `tfsdk:"label"`
	Status     types.String `tfsdk:"status"`
	Cycle      types.String `tfsdk:"cycle"`
	Price      types.Int64  `tfsdk:"price"`
	Currency   types.String `tfsdk:"currency"`
	ExternalID types.String `tfsdk:"external_id"`
}

func (d *servicesDataSource) Metadata(_ context.Context, req datasource.MetadataRequest, resp *datasource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_services"
}

func (d *servicesDataSource) Schema(_ context.Context, _ datasource.SchemaRequest, resp *datasource.SchemaResponse) {
	resp.Schema = schema.Schema{
		Description: "The account's services, oldest first, optionally filtered by status and project.",
		Attributes: map[string]schema.Attribute{
			"status":     schema.StringAttribute{Description: "Only services in this status (`pending`, `provisioning`, `active`, `suspended`, `terminated`, `cancelled`, `failed`).", Optional: true},
			"project_id": schema.StringAttribute{Description: "Only the services of this project, or `none` for those in no project.", Optional: true},
			"services": schema.ListNestedAttribute{
				Description: "The services.", Computed: true,
				NestedObject: schema.NestedAttributeObject{Attributes: map[string]schema.Attribute{
					"id":          schema.StringAttribute{Description: "The service's id.", Computed: true},
					"plan_id":     schema.StringAttribute{Description: "Its plan's id.", Computed: true},
					"label":       schema.StringAttribute{Description: "Its label.", Computed: true},
					"status":      schema.StringAttribute{Description: "Its status.", Computed: true},
					"cycle":       schema.StringAttribute{Description: "Its billing cycle.", Computed: true},
					"price":       schema.Int64Attribute{Description: "Its price per cycle, in minor units.", Computed: true},
					"currency":    schema.StringAttribute{Description: "The price's currency.", Computed: true},
					"external_id": schema.StringAttribute{Description: "Its id at the backend.", Computed: true},
				}},
			},
		},
	}
}

func (d *servicesDataSource) Read(ctx context.Context, req datasource.ReadRequest, resp *datasource.ReadResponse) {
	var m servicesModel
	resp.Diagnostics.Append(req.Config.Get(ctx, &m)...)
	if resp.Diagnostics.HasError() {
		return
	}
	q := url.Values{}
	if s := m.Status.ValueString(); s != "" {
		q.Set("status", s)
	}
	if p := m.ProjectID.ValueString(); p != "" {
		q.Set("project_id", p)
	}
	list, err := client.All[client.Service](ctx, d.p.client, client.OpListServices, []string{d.p.accountID}, q)
	if err != nil {
		apiError(&resp.Diagnostics, "listing services", err)
		return
	}
	sort.SliceStable(list, func(i, j int) bool { return list[i].CreatedAt.Before(list[j].CreatedAt) })
	m.Services = []serviceEntryModel{}
	for _, s := range list {
		m.Services = append(m.Services, serviceEntryModel{
			ID: types.StringValue(s.ID), PlanID: types.StringValue(s.PlanID), Label: types.StringValue(s.Label), Status: types.StringValue(s.Status),
			Cycle: types.StringValue(s.Cycle), Price: types.Int64Value(s.Price), Currency: types.StringValue(s.Currency), ExternalID: types.StringValue(s.ExternalID),
		})
	}
	resp.Diagnostics.Append(resp.State.Set(ctx, &m)...)
}
