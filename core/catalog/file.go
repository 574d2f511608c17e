package catalog

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"reflect"
	"slices"
	"strings"

	"github.com/ezscale/platform/core/apperr"
	"github.com/ezscale/platform/core/billing/pluginoption"
	"github.com/ezscale/platform/core/money"
)

// File is a catalog file: the plans to create or update, by slug. It is
// what `ezscale catalog import FILE` reads (config/examples/
// demo-catalog.json seeds the sandbox). Each plan is a PlanInput, the body
// of POST /api/v1/admin/plans.
type File struct {
	Plans []PlanInput `json:"plans"`
}

// LoadFile reads a catalog file (JSON; unknown fields are refused).
func LoadFile(path string) (*File, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	var c File
	if err := dec.Decode(&c); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	seen := map[string]bool{}
	for i, p := range c.Plans {
		if seen[p.Slug] {
			return nil, fmt.Errorf("%s: plans[%d]: slug %q is listed twice", path, i, p.Slug)
		}
		seen[p.Slug] = true
	}
	return &c, nil
}

// ImportResult says what an import did to each plan, by slug: created,
// updated or unchanged.
type ImportResult struct {
	Slug   string `json:"slug"`
	Action string `json:"action"`
	ID     string `json:"id"`
}

// Import creates the catalog's plans that do not exist (by slug)
// and updates those that differ; a plan that already matches is left
// alone, so importing the same file twice changes nothing the second time.
// Plans missing from the file are left as they are. Each plan is its own
// transaction (CreatePlan / UpdatePlan, audited).
func (cat *Catalog) Import(ctx context.Context, c *File) ([]ImportResult, error) {
	out := make([]ImportResult, 0, len(c.Plans))
	for i, in := range c.Plans {
		cur, err := cat.Plan(ctx, in.Slug)
		switch {
		case apperr.CodeOf(err) == apperr.NotFound:
			p, err := cat.CreatePlan(ctx, in)
			if err != nil {
				return out, planError(i, in.Slug, err)
			}
			out = append(out, ImportResult{Slug: in.Slug, Action: "created", ID: p.ID})
		case err != nil:
			return out, err
		case samePlan(cur, in):
			out = append(out, ImportResult{Slug: in.Slug, Action: "unchanged", ID: cur.ID})
		default:
			if _, err := cat.UpdatePlan(ctx, cur.ID, in); err != nil {
				return out, planError(i, in.Slug, err)
			}
			out = append(out, ImportResult{Slug: in.Slug, Action: "updated", ID: cur.ID})
		}
	}
	return out, nil
}

// planError names the plan and, for a refused one, each refused field.
func planError(i int, slug string, err error) error {
	if e, ok := apperr.As(err); ok && len(e.Fields) > 0 {
		var b strings.Builder
		for _, f := range e.Fields {
			fmt.Fprintf(&b, "; %s: %s", f.Field, f.Message)
		}
		return fmt.Errorf("plans[%d] (%s): %s%s", i, slug, e.Message, b.String())
	}
	return fmt.Errorf("plans[%d] (%s): %w", i, slug, err)
}

// samePlan reports whether applying in would leave p as it is.
func samePlan(p *Plan, in PlanInput) bool {
	cycles := in.Cycles
	if len(cycles) == 0 {
		cycles = money.Cycles()
	}
	names := make([]string, 0, len(cycles))
	for _, c := range money.Cycles() {
		if slices.Contains(cycles, c) {
			names = append(names, string(c))
		}
	}
	perAccount := 1
	if in.FreeTierPerAccount != nil {
		perAccount = *in.FreeTierPerAccount
	}
	active := in.Active == nil || *in.Active
	opts := in.PluginOptions
	if opts == nil {
		opts = map[string]string{}
	}
	return p.Name == strings.TrimSpace(in.Name) && p.Description == in.Description && p.ServiceType == in.ServiceType &&
		p.Tier == in.Tier && p.Currency == in.Currency && p.MonthlyPrice == in.MonthlyPrice &&
		samePtr(p.QuarterlyPrice, in.QuarterlyPrice) && samePtr(p.AnnualPrice, in.AnnualPrice) && samePtr(p.BiennialPrice, in.BiennialPrice) &&
		p.Cycles == strings.Join(names, ",") && p.FreeTier == in.FreeTier && p.FreeTierPerAccount == perAccount &&
		p.Plugin == in.Plugin && maps.Equal(p.Options(), opts) && sameOffer(p.Offered(), in.OrderOptions) &&
		p.Active == active && p.SortOrder == in.SortOrder &&
		sameJSON(p.Specs, in.Specs)
}

func sameOffer(a pluginoption.Offered, b map[string][]string) bool {
	return maps.EqualFunc(a, pluginoption.Offered(b), func(x, y []string) bool { return slices.Equal(x, y) })
}

func samePtr(a, b *int64) bool {
	return (a == nil && b == nil) || (a != nil && b != nil && *a == *b)
}

func sameJSON(stored string, in json.RawMessage) bool {
	if len(in) == 0 || string(in) == "null" {
		in = json.RawMessage("{}")
	}
	var a, b any
	if json.Unmarshal([]byte(stored), &a) != nil || json.Unmarshal(in, &b) != nil {
		return false
	}
	return reflect.DeepEqual(a, b)
}
