package provider

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/hashicorp/terraform-plugin-framework/datasource"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"

	"github.com/ezscale/platform/terraform/internal/client"
)

func pathRoot(name string) path.Path { return path.Root(name) }

// configured takes the provider's data handed to a resource or data source.
func configured(data any, diags *diag.Diagnostics) *providerData {
	if data == nil {
		return nil // the provider is not configured yet (validation, early plan)
	}
	d, ok := data.(*providerData)
	if !ok {
		diags.AddError("Unexpected provider data", fmt.Sprintf("got %T", data))
		return nil
	}
	return d
}

// resourceBase is what every resource shares: the provider's data.
type resourceBase struct {
	p *providerData
}

func (r *resourceBase) Configure(_ context.Context, req resource.ConfigureRequest, resp *resource.ConfigureResponse) {
	r.p = configured(req.ProviderData, &resp.Diagnostics)
}

// readRemote reads a resource's object for Read into out. It reports false
// when Read should stop: the object is gone (the resource leaves the state,
// so the next plan creates it again) or the call failed (an error
// diagnostic saying what was being read).
func (r *resourceBase) readRemote(ctx context.Context, call client.Call, out any, what string, resp *resource.ReadResponse) bool {
	_, err := r.p.client.Do(ctx, call, out)
	if client.IsNotFound(err) {
		resp.State.RemoveResource(ctx)
		return false
	}
	if err != nil {
		apiError(&resp.Diagnostics, "reading "+what, err)
		return false
	}
	return true
}

// dataSourceBase is what every data source shares.
type dataSourceBase struct {
	p *providerData
}

func (d *dataSourceBase) Configure(_ context.Context, req datasource.ConfigureRequest, resp *datasource.ConfigureResponse) {
	d.p = configured(req.ProviderData, &resp.Diagnostics)
}

// apiError adds err as an error diagnostic saying what was being done.
func apiError(diags *diag.Diagnostics, what string, err error) {
	diags.AddError("EZSCALE API: "+what, err.Error())
}

// errDiags turns error diagnostics into an error.
func errDiags(d diag.Diagnostics) error {
	var msgs []string
	for _, e := range d.Errors() {
		msgs = append(msgs, e.Summary()+": "+e.Detail())
	}
	return errors.New(strings.Join(msgs, "; "))
}
