package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/ezscale/platform/core/pluginhost"
)

func pluginsCmd(g *globals) *cobra.Command {
	c := &cobra.Command{Use: "plugins", Short: "Inspect configured plugins and vet plugin executables"}
	c.AddCommand(pluginsListCmd(g), pluginsCheckCmd(), pluginsConformanceCmd(g))
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

func pluginsCheckCmd() *cobra.Command {
	var asJSON bool
	c := &cobra.Command{
		Use:   "check PATH",
		Short: "Vet a plugin executable: handshake, describe, health; exit non-zero on any failure",
		Long: `Start the plugin executable at PATH as the core would (go-plugin handshake with
AutoMTLS: magic cookie, protocol version, nothing on stdout), check that it
describes at least one known kind, that it answers a health check, and that its
describe mode prints the same description. Prints its name, version, kinds,
capabilities and config fields. The plugin is not configured. Run it before
deploying a new plugin binary.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			res, err := pluginhost.Check(cmd.Context(), args[0])
			if err != nil {
				return &exitError{code: 1, msg: fmt.Sprintf("%s: check failed: %v", args[0], err)}
			}
			if asJSON {
				return writeIndentedJSON(cmd.OutOrStdout(), res)
			}
			printCheck(cmd.OutOrStdout(), args[0], res)
			return nil
		},
	}
	c.Flags().BoolVar(&asJSON, "json", false, "print the result as JSON")
	return c
}

func printCheck(w io.Writer, path string, res *pluginhost.CheckResult) {
	fmt.Fprintf(w, "%s: ok\n", path)
	fmt.Fprintf(w, "name:         %s\n", res.Name)
	fmt.Fprintf(w, "version:      %s\n", res.Version)
	fmt.Fprintf(w, "sdk:          %s\n", res.SDK)
	fmt.Fprintf(w, "kinds:        %s\n", orDash(strings.Join(res.Kinds, ", ")))
	fmt.Fprintf(w, "capabilities: %s\n", orDash(strings.Join(res.Capabilities, ", ")))
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
