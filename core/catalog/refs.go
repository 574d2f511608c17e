package catalog

import (
	"context"
	"fmt"

	"github.com/uptrace/bun"

	"github.com/ezscale/platform/core/apperr"
	"github.com/ezscale/platform/core/database"
)

// Wherever a request names a plan or an add-on (an order, a plan change,
// a scheduled change, an add-on added to or removed from a service, the
// plans an add-on or a coupon is offered with, the staff catalog routes),
// it may use its id or its slug; what is stored is always the id.

// findPlan loads a plan by id or slug; an id wins over a slug that happens
// to spell it. Errors: NotFound.
func findPlan(ctx context.Context, db bun.IDB, ref string) (*Plan, error) {
	plan := &Plan{}
	err := db.NewSelect().Model(plan).Where("id = ? OR slug = ?", ref, ref).
		OrderExpr("CASE WHEN id = ? THEN 0 ELSE 1 END", ref).Limit(1).Scan(ctx)
	if database.IsNoRows(err) {
		return nil, apperr.NotFoundf("no such plan")
	}
	if err != nil {
		return nil, fmt.Errorf("catalog: loading plan %q: %w", ref, err)
	}
	return plan, nil
}

// planByRef is findPlan for a request's field. Errors: Invalid naming
// field.
func planByRef(ctx context.Context, db bun.IDB, ref, field string) (*Plan, error) {
	if ref == "" {
		return nil, apperr.Field(field, "is required (a plan id or slug)")
	}
	plan, err := findPlan(ctx, db, ref)
	if apperr.CodeOf(err) == apperr.NotFound {
		return nil, apperr.Field(field, "no such plan")
	}
	return plan, err
}

// resolvePlans turns a list of plan ids or slugs into ids, refusing an
// unknown one (Invalid naming field[i]): an add-on or a coupon offered
// with a plan that does not exist would silently be offered with none.
func resolvePlans(ctx context.Context, db bun.IDB, refs []string, field string) ([]string, error) {
	out := make([]string, 0, len(refs))
	var errs apperr.Fields
	for i, ref := range refs {
		p, err := planByRef(ctx, db, ref, fmt.Sprintf("%s[%d]", field, i))
		if err != nil {
			if e, ok := apperr.As(err); ok && e.Code == apperr.Invalid {
				errs.Add(fmt.Sprintf("%s[%d]", field, i), "no such plan (an id or a slug)")
				continue
			}
			return nil, err
		}
		out = append(out, p.ID)
	}
	return out, errs.Err()
}

// findAddon loads an add-on by id or slug; an id wins. Errors: NotFound.
func findAddon(ctx context.Context, db bun.IDB, ref string) (*Addon, error) {
	a := &Addon{}
	err := db.NewSelect().Model(a).Where("id = ? OR slug = ?", ref, ref).
		OrderExpr("CASE WHEN id = ? THEN 0 ELSE 1 END", ref).Limit(1).Scan(ctx)
	if database.IsNoRows(err) {
		return nil, apperr.NotFoundf("no such add-on")
	}
	if err != nil {
		return nil, fmt.Errorf("catalog: loading add-on %q: %w", ref, err)
	}
	return a, nil
}
