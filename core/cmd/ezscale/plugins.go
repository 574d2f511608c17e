package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/ezscale/platform/core/app"
	"github.com/ezscale/platform/core/pluginhost"
)

func pluginsCmd(g *globals) *cobra.Command {
	c := &cobra.Command{Use: "plugins", Short: "Inspect configured plugins and vet plugin executables"}
	c.AddCommand(pluginsListCmd(g), pluginsCheckCmd(g))
	return c
}

// listedPlugin is one row of `ezscale plugins list`.
type listedPlugin struct {
	Name         string   `json:"name"`
	Path         string   `json:"path"`
	SHA256       string   `json:"sha256"`
	Enabled      bool     `json:"enabled"`
	Version      string   `json:"version"`
	Kinds        []string `json:"kinds"`
	Capabilities []string `json:"capabilities"`
	// Error says why the executable could not be described.
	Error string `json:"error,omitempty"`
}

func pluginsListCmd(g *globals) *cobra.Command {
	var asJSON bool
	c := &cobra.Command{
		Use:   "list",
		Short: "List the config's plugin blocks, with each executable's version, kinds and capabilities",
		Long: `List the plugin blocks of the config: name, path, pinned sha256 and whether the
plugin is enabled. Each executable is asked for its description in describe mode
(PATH describe: it prints its description and exits, without serving); a pinned
executable whose checksum does not match is reported, not run. Nothing is started
and no database is opened. For the live state of a running core's plugins, see
GET /api/v1/admin/plugins.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := g.load()
			if err != nil {
				return err
			}
			rows := make([]listedPlugin, 0, len(cfg.Plugin))
			for _, p := range cfg.Plugin {
				row := listedPlugin{Name: p.Name, Path: p.Path, SHA256: p.SHA256, Enabled: p.Enabled, Kinds: []string{}, Capabilities: []string{}}
				d, err := pluginhost.Describe(cmd.Context(), p.Path, p.SHA256)
				if err != nil {
					row.Error = err.Error()
				} else {
					row.Version, row.Kinds, row.Capabilities = d.Version, d.Kinds, d.Capabilities
				}
				rows = append(rows, row)
			}
			if asJSON {
				return writeIndentedJSON(cmd.OutOrStdout(), rows)
			}
			if len(rows) == 0 {
				fmt.Fprintln(cmd.OutOrStdout(), "no plugin blocks configured")
				return nil
			}
			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "NAME\tENABLED\tVERSION\tKINDS\tCAPABILITIES\tPATH\tSHA256")
			for _, r := range rows {
				version := r.Version
				if r.Error != "" {
					version = "?"
				}
				fmt.Fprintf(tw, "%s\t%t\t%s\t%s\t%s\t%s\t%s\n", r.Name, r.Enabled, version,
					orDash(strings.Join(r.Kinds, ",")), orDash(strings.Join(r.Capabilities, ",")), r.Path, orDash(r.SHA256))
			}
			if err := tw.Flush(); err != nil {
				return err
			}
			for _, r := range rows {
				if r.Error != "" {
					fmt.Fprintf(cmd.OutOrStdout(), "%s: %s\n", r.Name, r.Error)
				}
			}
			return nil
		},
	}
	c.Flags().BoolVar(&asJSON, "json", false, "print JSON instead of a table")
	return c
}

func pluginsCheckCmd(g *globals) *cobra.Command {
	var asJSON bool
	c := &cobra.Command{
		Use:   "check PATH | check NAME --config FILE",
		Short: "Vet a plugin executable (handshake, describe, health), or a configured plugin and its backend",
		Long: `With PATH: start the plugin executable as the core would (go-plugin handshake with
AutoMTLS: magic cookie, protocol version, nothing on stdout), check that it
describes at least one known kind, that it answers a health check, and that its
describe mode prints the same description. Prints its name, version, kinds,
capabilities and config fields. The plugin is not configured, so nothing here
reaches its backend. Run it before deploying a new plugin binary.

With NAME and --config FILE (NAME is a plugin "NAME" block of FILE): start the
block's executable as serve would (sha256 pin, handshake), check the block's
config {} against the plugin's schema and the plugin's own validation, configure
it, check its health, and, for a provisioner, run TestConnection: the backend
answers with these credentials. Run it after editing a plugin block.

Exit status 1, with the failing step (handshake, describe, config, health,
test connection), on any failure.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			arg := args[0]
			res, err := checkPlugin(cmd, g, arg)
			if err != nil {
				var ee *exitError
				if errors.As(err, &ee) {
					return err
				}
				return &exitError{code: 1, msg: fmt.Sprintf("%s: check failed: %v", arg, err)}
			}
			if asJSON {
				return writeIndentedJSON(cmd.OutOrStdout(), res)
			}
			printCheck(cmd.OutOrStdout(), arg, res)
			return nil
		},
	}
	c.Flags().BoolVar(&asJSON, "json", false, "print the result as JSON")
	return c
}

// checkPlugin checks the plugin block named arg when a config is given and
// arg is not a path; otherwise the executable at arg.
func checkPlugin(cmd *cobra.Command, g *globals, arg string) (*pluginhost.CheckResult, error) {
	if !strings.ContainsRune(arg, filepath.Separator) {
		if g.configPath != "" {
			cfg, err := g.load()
			if err != nil {
				return nil, err
			}
			for _, spec := range app.PluginSpecs(cfg) {
				if spec.Name == arg {
					// Checked even when the block is disabled: the
					// operator asked for it.
					spec.Disabled = false
					return pluginhost.CheckConfigured(cmd.Context(), spec)
				}
			}
		}
		if _, err := os.Stat(arg); err != nil {
			hint := "to check a configured plugin by name, give --config FILE"
			if g.configPath != "" {
				hint = fmt.Sprintf("%s has no plugin %q block", g.configPath, arg)
			}
			return nil, &exitError{code: 2, msg: fmt.Sprintf("%s: no such file; %s", arg, hint)}
		}
	}
	return pluginhost.Check(cmd.Context(), arg)
}

func printCheck(w io.Writer, path string, res *pluginhost.CheckResult) {
	fmt.Fprintf(w, "%s: ok\n", path)
	fmt.Fprintf(w, "name:         %s\n", res.Name)
	fmt.Fprintf(w, "version:      %s\n", res.Version)
	fmt.Fprintf(w, "sdk:          %s\n", res.SDK)
	fmt.Fprintf(w, "kinds:        %s\n", orDash(strings.Join(res.Kinds, ", ")))
	fmt.Fprintf(w, "capabilities: %s\n", orDash(strings.Join(res.Capabilities, ", ")))
	fmt.Fprintf(w, "health:       %s\n", orDash(res.Health))
	if res.Configured {
		fmt.Fprintln(w, "configured:   yes")
	}
	if res.Connection != "" {
		fmt.Fprintf(w, "connection:   %s\n", res.Connection)
	}
	if len(res.Config) == 0 {
		fmt.Fprintln(w, "config:       -")
		return
	}
	fmt.Fprintln(w, "config:")
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	for _, f := range res.Config {
		var notes []string
		if f.Required {
			notes = append(notes, "required")
		}
		if f.Secret {
			notes = append(notes, "secret")
		}
		if f.Default != nil {
			notes = append(notes, fmt.Sprintf("default %v", f.Default))
		}
		if len(f.AllowedValues) > 0 {
			notes = append(notes, "one of "+strings.Join(f.AllowedValues, "|"))
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\n", f.Name, f.Type, strings.Join(notes, ", "), f.Description)
	}
	_ = tw.Flush()
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func writeIndentedJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
