package sdk

import (
	"context"
	"strings"

	"github.com/ezscale/platform/sdk/pluginv1"
)

// Plugin is what every plugin implements, whatever its kinds. A plugin also
// implements one or more kind interfaces (Provisioner, Notifier, …); Serve
// derives the plugin's kinds and capabilities from them.
//
// Lifecycle, as driven by the core: the process starts; Describe; the core
// validates the operator's config against the schema; ValidateConfig (when
// the plugin implements ConfigValidator); Configure; then kind calls and
// periodic Health calls, concurrently, until the core stops the process.
// Configure may be called again with a new config while kind calls run.
//
// Public API, append-only: methods are never removed or changed; new
// behaviour arrives as new optional interfaces.
type Plugin interface {
	// Describe returns the plugin's static description. It is called by the
	// SDK, in process, also in describe mode before any handshake, so it must
	// not do I/O.
	Describe() Description
	// Configure receives the operator's config, already validated against the
	// schema with defaults applied. Return Diagnostics to name bad fields; any
	// other error refuses the config as a whole.
	Configure(ctx context.Context, cfg Config) error
	// Health reports whether the plugin can serve. The core calls it often
	// with a short deadline: answer from local state, do not call the
	// backend (the provisioner's HealthCheck is for that). It is called only
	// once Configure has succeeded: before that the SDK answers for the
	// process itself (healthy, NotConfiguredHealth), so a plugin need not
	// special-case "not configured yet".
	Health(ctx context.Context) error
}

// NotConfiguredHealth is the message of the SDK's own answer to a health
// check before Configure: the process serves and waits for its config.
const NotConfiguredHealth = "serving; not configured yet"

// ConfigValidator is an optional interface for checks the schema cannot
// express (e.g. "username and password go together"). It must not change
// the plugin's state.
type ConfigValidator interface {
	ValidateConfig(ctx context.Context, cfg Config) Diagnostics
}

// Description is a plugin's self-description.
type Description struct {
	// Name is the plugin's short name ("email"); the binary is
	// ezscale-plugin-<name>.
	Name    string
	Version string
	// Schema of the plugin's config block; nil means no config.
	Schema *Schema
	// Capabilities are added to those Serve derives from the optional
	// interfaces the plugin implements. Leave empty unless told otherwise.
	Capabilities []Capability
	// Options declares the keys a provisioner reads from a service's
	// options (ServiceRef.plan_options): types, limits, and whether staff
	// set them on plans or customers choose them at order. The core passes
	// no other key; nil means the plugin reads none. See Options.
	Options Options
}

// Severity of a diagnostic.
type Severity int32

// Severities.
const (
	SeverityError   = Severity(pluginv1.Diagnostic_SEVERITY_ERROR)
	SeverityWarning = Severity(pluginv1.Diagnostic_SEVERITY_WARNING)
)

// Diagnostic is one problem with a config or a request, naming the field.
type Diagnostic struct {
	Severity Severity
	// Field is the dotted path of the field at fault; empty for the whole.
	Field   string
	Summary string
	Detail  string
}

func (d Diagnostic) String() string {
	var b strings.Builder
	if d.Severity == SeverityWarning {
		b.WriteString("warning: ")
	}
	if d.Field != "" {
		b.WriteString(d.Field)
		b.WriteString(": ")
	}
	b.WriteString(d.Summary)
	if d.Detail != "" {
		b.WriteString(" (")
		b.WriteString(d.Detail)
		b.WriteString(")")
	}
	return b.String()
}

// Diagnostics is a list of diagnostics. It is an error so Configure can
// return it; it is only an error when it holds a SeverityError entry, so
// use Err to return it.
type Diagnostics []Diagnostic

// FieldError returns a one-entry Diagnostics naming the field.
func FieldError(field, summary string) Diagnostics {
	return Diagnostics{{Severity: SeverityError, Field: field, Summary: summary}}
}

func (ds Diagnostics) Error() string {
	parts := make([]string, 0, len(ds))
	for _, d := range ds {
		parts = append(parts, d.String())
	}
	return strings.Join(parts, "; ")
}

// HasErrors reports whether any diagnostic is an error.
func (ds Diagnostics) HasErrors() bool {
	for _, d := range ds {
		if d.Severity != SeverityWarning {
			return true
		}
	}
	return false
}

// Err returns ds as an error when it has errors, else nil.
func (ds Diagnostics) Err() error {
	if ds.HasErrors() {
		return ds
	}
	return nil
}

// DiagnosticsToProto converts diagnostics to their wire form.
func DiagnosticsToProto(ds Diagnostics) []*pluginv1.Diagnostic {
	out := make([]*pluginv1.Diagnostic, 0, len(ds))
	for _, d := range ds {
		sev := d.Severity
		if sev == 0 {
			sev = SeverityError
		}
		out = append(out, &pluginv1.Diagnostic{
			Severity:  pluginv1.Diagnostic_Severity(sev),
			FieldPath: d.Field,
			Summary:   d.Summary,
			Detail:    d.Detail,
		})
	}
	return out
}

// DiagnosticsFromProto converts wire diagnostics; an unspecified severity is
// an error, so a plugin cannot accidentally downgrade one.
func DiagnosticsFromProto(ps []*pluginv1.Diagnostic) Diagnostics {
	var out Diagnostics
	for _, p := range ps {
		sev := Severity(p.GetSeverity())
		if sev != SeverityWarning {
			sev = SeverityError
		}
		out = append(out, Diagnostic{Severity: sev, Field: p.GetFieldPath(), Summary: p.GetSummary(), Detail: p.GetDetail()})
	}
	return out
}
