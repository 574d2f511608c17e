package config

import (
	"fmt"
	"os"
	"sort"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclparse"
	"github.com/knadh/koanf/providers/confmap"
	"github.com/knadh/koanf/providers/structs"
	"github.com/knadh/koanf/v2"
)

// Problem is one thing wrong with the configuration, with where it was set.
type Problem struct {
	// Pos is "file:line:col", "env NAME" or "" when there is no better place.
	Pos     string
	Summary string
	Detail  string
}

func (p Problem) String() string {
	var b strings.Builder
	if p.Pos != "" {
		b.WriteString(p.Pos)
		b.WriteString(": ")
	}
	b.WriteString(p.Summary)
	if p.Detail != "" {
		b.WriteString("; ")
		b.WriteString(p.Detail)
	}
	return b.String()
}

// Error lists every problem found, so an operator fixes them in one pass.
type Error struct {
	Problems []Problem
}

func (e *Error) Error() string {
	lines := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		lines[i] = p.String()
	}
	return strings.Join(lines, "\n")
}

func (e *Error) add(pos, summary, detail string) {
	e.Problems = append(e.Problems, Problem{Pos: pos, Summary: summary, Detail: detail})
}

func (e *Error) addDiags(diags hcl.Diagnostics) {
	for _, d := range diags {
		if d.Severity != hcl.DiagError {
			continue
		}
		pos := ""
		if d.Subject != nil {
			pos = posString(*d.Subject)
		}
		e.add(pos, d.Summary, d.Detail)
	}
}

func (e *Error) orNil() error {
	if len(e.Problems) == 0 {
		return nil
	}
	return e
}

func posString(r hcl.Range) string {
	return fmt.Sprintf("%s:%d:%d", r.Filename, r.Start.Line, r.Start.Column)
}

// Load reads the HCL file at path ("" means defaults only) and layers the
// EZSCALE_* variables of environ over it.
func Load(path string, environ []string) (*Config, error) {
	if path == "" {
		return Parse("", nil, environ)
	}
	src, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	return Parse(path, src, environ)
}

// Parse is Load over an in-memory file; filename is used in error positions.
func Parse(filename string, src []byte, environ []string) (*Config, error) {
	errs := &Error{}
	lookup := envLookup(environ)

	fileValues := map[string]any{}
	sources := map[string]string{}
	var plugins []Plugin
	if filename != "" {
		parser := hclparse.NewParser()
		file, diags := parser.ParseHCL(src, filename)
		errs.addDiags(diags)
		if file != nil && !diags.HasErrors() {
			plugins = decodeFile(file.Body, lookup, fileValues, sources, errs)
		}
	}
	if err := errs.orNil(); err != nil {
		return nil, err
	}

	k := koanf.New(".")
	def := Default()
	if err := k.Load(structs.Provider(def, "koanf"), nil); err != nil {
		return nil, fmt.Errorf("config: loading defaults: %w", err)
	}
	if err := k.Load(confmap.Provider(fileValues, "."), nil); err != nil {
		return nil, fmt.Errorf("config: loading file values: %w", err)
	}
	envValues := readEnv(environ, plugins, sources, errs)
	if err := k.Load(confmap.Provider(envValues, "."), nil); err != nil {
		return nil, fmt.Errorf("config: loading environment: %w", err)
	}
	if err := errs.orNil(); err != nil {
		return nil, err
	}

	cfg := Config{}
	if err := k.UnmarshalWithConf("", &cfg, koanf.UnmarshalConf{Tag: "koanf"}); err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	cfg.Plugin = plugins
	cfg.Sources = sources
	for _, s := range settings {
		if _, ok := sources[s.path()]; !ok {
			sources[s.path()] = "default"
		}
	}
	cfg.validate(errs)
	if err := errs.orNil(); err != nil {
		return nil, err
	}
	return &cfg, nil
}

// readEnv turns EZSCALE_<BLOCK>_<KEY> variables into koanf values, and
// applies EZSCALE_PLUGIN_<NAME>_{PATH,SHA256,ENABLED,CONFIG_<KEY>} to the
// plugin blocks. A variable that names a known block but an unknown key is an
// error with a suggestion: a silently ignored override is worse than none.
func readEnv(environ []string, plugins []Plugin, sources map[string]string, errs *Error) map[string]any {
	out := map[string]any{}
	byEnv := map[string]setting{}
	var envNames []string
	for _, s := range settings {
		byEnv[s.envName()] = s
		envNames = append(envNames, s.envName())
	}
	blocks := blockNames()
	names := make([]string, 0, len(environ))
	values := map[string]string{}
	for _, kv := range environ {
		name, value, ok := strings.Cut(kv, "=")
		if !ok || !strings.HasPrefix(name, "EZSCALE_") {
			continue
		}
		names = append(names, name)
		values[name] = value
	}
	sort.Strings(names)
	for _, name := range names {
		value := values[name]
		pos := "env " + name
		if strings.HasPrefix(name, "EZSCALE_PLUGIN_") && !strings.HasPrefix(name, "EZSCALE_PLUGINS_") {
			applyPluginEnv(name, value, plugins, errs)
			continue
		}
		s, ok := byEnv[name]
		if !ok {
			rest := strings.ToLower(strings.TrimPrefix(name, "EZSCALE_"))
			for _, b := range blocks {
				if strings.HasPrefix(rest, b+"_") {
					detail := fmt.Sprintf("there is no setting %s.%s", b, strings.TrimPrefix(rest, b+"_"))
					if sug := suggest(name, envNames); sug != "" {
						detail += fmt.Sprintf(". Did you mean %s?", sug)
					}
					errs.add(pos, "Unknown setting", detail)
				}
			}
			continue
		}
		v, err := s.parseString(value)
		if err != nil {
			errs.add(pos, "Invalid value for "+s.path(), err.Error())
			continue
		}
		out[s.path()] = v
		sources[s.path()] = pos
	}
	return out
}

func applyPluginEnv(name, value string, plugins []Plugin, errs *Error) {
	rest := strings.TrimPrefix(name, "EZSCALE_PLUGIN_")
	for i := range plugins {
		p := &plugins[i]
		prefix := strings.ToUpper(strings.ReplaceAll(p.Name, "-", "_")) + "_"
		if !strings.HasPrefix(rest, prefix) {
			continue
		}
		field := strings.TrimPrefix(rest, prefix)
		pos := "env " + name
		switch {
		case field == "PATH":
			p.Path = value
			p.Positions["path"] = pos
		case field == "SHA256":
			p.SHA256 = value
			p.Positions["sha256"] = pos
		case field == "ENABLED":
			b, err := setting{typ: boolType}.parseString(value)
			if err != nil {
				errs.add(pos, "Invalid value for enabled", err.Error())
				return
			}
			p.Enabled = b.(bool)
		case strings.HasPrefix(field, "CONFIG_"):
			key := strings.ToLower(strings.TrimPrefix(field, "CONFIG_"))
			p.Config[key] = value
			p.Positions[key] = pos
		default:
			errs.add(pos, "Unknown plugin setting", fmt.Sprintf("plugin %q has no setting %q (use PATH, SHA256, ENABLED or CONFIG_<KEY>)", p.Name, strings.ToLower(field)))
		}
		return
	}
	errs.add("env "+name, "Unknown plugin", "no plugin block matches this variable; declare the plugin in the config file first")
}

// envLookup returns a lookup over environ for the env() function; the process
// environment is only read through it so tests can pass their own.
func envLookup(environ []string) func(string) (string, bool) {
	m := make(map[string]string, len(environ))
	for _, kv := range environ {
		if k, v, ok := strings.Cut(kv, "="); ok {
			m[k] = v
		}
	}
	return func(k string) (string, bool) {
		v, ok := m[k]
		return v, ok
	}
}
