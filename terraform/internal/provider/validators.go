package provider

import (
	"context"
	"time"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
)

type diagnosticT = diag.Diagnostic

// durationValidator accepts a positive Go duration ("90s", "15m").
type durationValidator struct{}

func (durationValidator) Description(context.Context) string {
	return "a positive Go duration such as 90s or 15m"
}
func (v durationValidator) MarkdownDescription(ctx context.Context) string { return v.Description(ctx) }

func (durationValidator) ValidateString(_ context.Context, req validator.StringRequest, resp *validator.StringResponse) {
	if req.ConfigValue.IsNull() || req.ConfigValue.IsUnknown() {
		return
	}
	d, err := time.ParseDuration(req.ConfigValue.ValueString())
	if err != nil || d <= 0 {
		resp.Diagnostics.AddAttributeError(req.Path, "Invalid duration", "Want a positive duration such as 90s or 15m, got "+req.ConfigValue.String()+".")
	}
}
