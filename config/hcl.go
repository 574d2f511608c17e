package config

import (
	"fmt"
	"math/big"
	"reflect"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"
	"github.com/zclconf/go-cty/cty/function"
)

var boolType = reflect.TypeFor[bool]()

// evalContext offers env("NAME") and env("NAME", "default"); a missing
// variable without a default is an error at the call's position, so a secret
// that was forgotten is caught at start-up rather than at first use.
func evalContext(lookup func(string) (string, bool)) *hcl.EvalContext {
	envFn := function.New(&function.Spec{
		Description: "Reads an environment variable.",
		Params:      []function.Parameter{{Name: "name", Type: cty.String}},
		VarParam:    &function.Parameter{Name: "default", Type: cty.String},
		Type:        function.StaticReturnType(cty.String),
		Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
			name := args[0].AsString()
			if v, ok := lookup(name); ok {
				return cty.StringVal(v), nil
			}
			if len(args) > 1 {
				return args[1], nil
			}
			return cty.NilVal, fmt.Errorf("environment variable %s is not set (pass a default as env(%q, \"…\") if it is optional)", name, name)
		},
	})
	return &hcl.EvalContext{Functions: map[string]function.Function{"env": envFn}}
}

func decodeFile(body hcl.Body, lookup func(string) (string, bool), values map[string]any, sources map[string]string, errs *Error) []Plugin {
	ctx := evalContext(lookup)
	schema := &hcl.BodySchema{}
	for _, b := range blockNames() {
		schema.Blocks = append(schema.Blocks, hcl.BlockHeaderSchema{Type: b})
	}
	schema.Blocks = append(schema.Blocks, hcl.BlockHeaderSchema{Type: "plugin", LabelNames: []string{"name"}})

	content, diags := body.Content(schema)
	errs.addDiags(diags)
	if content == nil {
		return nil
	}
	seenBlocks := map[string]hcl.Range{}
	seenPlugins := map[string]hcl.Range{}
	var plugins []Plugin
	for _, blk := range content.Blocks {
		if blk.Type == "plugin" {
			name := blk.Labels[0]
			if prev, dup := seenPlugins[name]; dup {
				errs.add(posString(blk.DefRange), "Duplicate plugin block", fmt.Sprintf("plugin %q is already declared at %s", name, posString(prev)))
				continue
			}
			seenPlugins[name] = blk.DefRange
			if p, ok := decodePlugin(blk, ctx, errs); ok {
				plugins = append(plugins, p)
			}
			continue
		}
		if prev, dup := seenBlocks[blk.Type]; dup {
			errs.add(posString(blk.DefRange), "Duplicate "+blk.Type+" block", "it is already declared at "+posString(prev))
			continue
		}
		seenBlocks[blk.Type] = blk.DefRange
		decodeBlock(blk, ctx, values, sources, errs)
	}
	return plugins
}

func decodeBlock(blk *hcl.Block, ctx *hcl.EvalContext, values map[string]any, sources map[string]string, errs *Error) {
	ss := blockSettings(blk.Type)
	schema := &hcl.BodySchema{}
	for _, s := range ss {
		schema.Attributes = append(schema.Attributes, hcl.AttributeSchema{Name: s.key})
	}
	content, diags := blk.Body.Content(schema)
	errs.addDiags(diags)
	if content == nil {
		return
	}
	for _, s := range ss {
		attr, ok := content.Attributes[s.key]
		if !ok {
			continue
		}
		if envOnly[s.path()] && !fromEnv(attr.Expr) {
			errs.add(posString(attr.Expr.Range()), "Secret in the config file",
				fmt.Sprintf("%s must come from the environment: write env(\"NAME\") here, or set %s", s.path(), s.envName()))
			continue
		}
		v, ok := evalSetting(s, attr, ctx, errs)
		if !ok {
			continue
		}
		values[s.path()] = v
		sources[s.path()] = posString(attr.Expr.Range())
	}
}

// envOnly settings are keys that must never be written in a file (which
// ends up in version control and backups): in HCL they must be env("…")
// calls (or a list of them).
var envOnly = map[string]bool{"auth.secrets_key": true, "auth.secrets_previous_keys": true}

// fromEnv reports whether expr is env("…"), or a list of only such calls.
func fromEnv(expr hcl.Expression) bool {
	switch e := expr.(type) {
	case *hclsyntax.FunctionCallExpr:
		return e.Name == "env"
	case *hclsyntax.TupleConsExpr:
		for _, item := range e.Exprs {
			if !fromEnv(item) {
				return false
			}
		}
		return true
	}
	return false
}

// evalSetting evaluates an attribute to the Go type of its setting.
func evalSetting(s setting, attr *hcl.Attribute, ctx *hcl.EvalContext, errs *Error) (any, bool) {
	val, diags := attr.Expr.Value(ctx)
	errs.addDiags(diags)
	if diags.HasErrors() {
		return nil, false
	}
	pos := posString(attr.Expr.Range())
	bad := func(want string) (any, bool) {
		errs.add(pos, "Invalid value for "+s.path(), fmt.Sprintf("expected %s, got %s", want, val.Type().FriendlyName()))
		return nil, false
	}
	if val.IsNull() {
		return bad("a value")
	}
	switch {
	case s.typ == durationType:
		sv, err := convert.Convert(val, cty.String)
		if err != nil {
			return bad("a duration string such as \"30s\"")
		}
		d, err := time.ParseDuration(sv.AsString())
		if err != nil {
			errs.add(pos, "Invalid value for "+s.path(), fmt.Sprintf("%q is not a duration (use e.g. \"30s\", \"5m\", \"1h\")", sv.AsString()))
			return nil, false
		}
		return d, true
	case s.typ.Kind() == reflect.String:
		if val.Type() != cty.String {
			return bad("a string")
		}
		return val.AsString(), true
	case s.typ.Kind() == reflect.Bool:
		if val.Type() != cty.Bool {
			return bad("a bool")
		}
		return val.True(), true
	case s.typ.Kind() == reflect.Int || s.typ.Kind() == reflect.Int64:
		if val.Type() != cty.Number {
			return bad("a number")
		}
		bf := val.AsBigFloat()
		if !bf.IsInt() {
			errs.add(pos, "Invalid value for "+s.path(), "expected a whole number")
			return nil, false
		}
		n, acc := bf.Int64()
		if acc != big.Exact {
			errs.add(pos, "Invalid value for "+s.path(), "number out of range")
			return nil, false
		}
		return n, true
	case s.typ.Kind() == reflect.Slice && s.typ.Elem().Kind() == reflect.String:
		lv, err := convert.Convert(val, cty.List(cty.String))
		if err != nil {
			return bad("a list of strings")
		}
		out := []string{}
		for it := lv.ElementIterator(); it.Next(); {
			_, ev := it.Element()
			if ev.IsNull() {
				return bad("a list of strings")
			}
			out = append(out, ev.AsString())
		}
		return out, true
	}
	errs.add(pos, "Unsupported setting type", s.typ.String())
	return nil, false
}

var pluginSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{
		{Name: "path", Required: true},
		{Name: "sha256"},
		{Name: "enabled"},
	},
	Blocks: []hcl.BlockHeaderSchema{{Type: "config"}},
}

func decodePlugin(blk *hcl.Block, ctx *hcl.EvalContext, errs *Error) (Plugin, bool) {
	p := Plugin{
		Name:      blk.Labels[0],
		Enabled:   true,
		Config:    map[string]any{},
		Positions: map[string]string{},
		Pos:       posString(blk.DefRange),
	}
	if !validPluginName(p.Name) {
		errs.add(posString(blk.LabelRanges[0]), "Invalid plugin name", fmt.Sprintf("%q: use lower-case letters, digits and dashes, starting with a letter", p.Name))
		return p, false
	}
	content, diags := blk.Body.Content(pluginSchema)
	errs.addDiags(diags)
	if diags.HasErrors() {
		return p, false
	}
	ok := true
	str := func(name string, dst *string) {
		attr, present := content.Attributes[name]
		if !present {
			return
		}
		v, good := evalSetting(setting{block: "plugin." + p.Name, key: name, typ: reflect.TypeFor[string]()}, attr, ctx, errs)
		if !good {
			ok = false
			return
		}
		*dst = v.(string)
		p.Positions[name] = posString(attr.Expr.Range())
	}
	str("path", &p.Path)
	str("sha256", &p.SHA256)
	if attr, present := content.Attributes["enabled"]; present {
		v, good := evalSetting(setting{block: "plugin." + p.Name, key: "enabled", typ: boolType}, attr, ctx, errs)
		if good {
			p.Enabled = v.(bool)
		} else {
			ok = false
		}
	}
	var cfgBlock *hcl.Block
	for _, b := range content.Blocks {
		if cfgBlock != nil {
			errs.add(posString(b.DefRange), "Duplicate config block", "a plugin has one config block, already declared at "+posString(cfgBlock.DefRange))
			ok = false
			continue
		}
		cfgBlock = b
	}
	if cfgBlock != nil {
		attrs, diags := cfgBlock.Body.JustAttributes()
		errs.addDiags(diags)
		if diags.HasErrors() {
			return p, false
		}
		for name, attr := range attrs {
			val, diags := attr.Expr.Value(ctx)
			errs.addDiags(diags)
			if diags.HasErrors() {
				ok = false
				continue
			}
			gv, err := ctyToGo(val)
			if err != nil {
				errs.add(posString(attr.Expr.Range()), "Invalid plugin config value", fmt.Sprintf("%s: %v", name, err))
				ok = false
				continue
			}
			p.Config[name] = gv
			p.Positions[name] = posString(attr.Expr.Range())
		}
	}
	return p, ok
}

func validPluginName(name string) bool {
	if name == "" || name[0] < 'a' || name[0] > 'z' {
		return false
	}
	for _, r := range name {
		if (r < 'a' || r > 'z') && (r < '0' || r > '9') && r != '-' {
			return false
		}
	}
	return true
}

// ctyToGo converts plugin config values to plain Go values: string, bool,
// int64 (whole numbers) or float64, []any and map[string]any.
func ctyToGo(v cty.Value) (any, error) {
	if v.IsNull() {
		return nil, nil
	}
	if !v.IsWhollyKnown() {
		return nil, fmt.Errorf("value is not known")
	}
	t := v.Type()
	switch {
	case t == cty.String:
		return v.AsString(), nil
	case t == cty.Bool:
		return v.True(), nil
	case t == cty.Number:
		bf := v.AsBigFloat()
		if bf.IsInt() {
			if n, acc := bf.Int64(); acc == big.Exact {
				return n, nil
			}
		}
		f, _ := bf.Float64()
		return f, nil
	case t.IsListType() || t.IsTupleType() || t.IsSetType():
		out := []any{}
		for it := v.ElementIterator(); it.Next(); {
			_, ev := it.Element()
			gv, err := ctyToGo(ev)
			if err != nil {
				return nil, err
			}
			out = append(out, gv)
		}
		return out, nil
	case t.IsMapType() || t.IsObjectType():
		out := map[string]any{}
		for it := v.ElementIterator(); it.Next(); {
			k, ev := it.Element()
			gv, err := ctyToGo(ev)
			if err != nil {
				return nil, err
			}
			out[k.AsString()] = gv
		}
		return out, nil
	}
	return nil, fmt.Errorf("unsupported type %s", t.FriendlyName())
}
