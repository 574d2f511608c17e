package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/ezscale/platform/config"
	"github.com/ezscale/platform/core/audit"
	"github.com/ezscale/platform/core/catalog"
	"github.com/ezscale/platform/core/pluginhost"
)

func catalogCmd(g *globals) *cobra.Command {
	c := &cobra.Command{Use: "catalog", Short: "Manage the plan catalog"}
	c.AddCommand(&cobra.Command{
		Use:   "import FILE",
		Short: "Create or update the plans of a catalog file (JSON), by slug",
		Long: `Create the plans of a catalog file that do not exist yet (matched by slug) and
update those that differ; plans that already match are left alone, so importing
the same file again changes nothing. Plans not in the file are not touched.

The file is {"plans": [ … ]}, each plan the body of POST /api/v1/admin/plans.
Plan options are checked against each provisioner's option declaration: the
config's plugin executables are asked for it in describe mode (nothing is
started); a plugin that cannot be described is checked against the
declaration it last gave a running core.
config/examples/demo-catalog.json seeds the sandbox (make demo):

  ezscale catalog import --config config/examples/demo.hcl config/examples/demo-catalog.json`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			file, err := catalog.LoadFile(args[0])
			if err != nil {
				return err
			}
			a, err := g.openApp(cmd.Context())
			if err != nil {
				return err
			}
			defer a.Close()
			ctx := audit.WithMeta(cmd.Context(), audit.Meta{ActorType: audit.ActorSystem, ActorID: "cli", UserAgent: "ezscale catalog import"})
			describePlugins(cmd, a.Config, a.Catalog, file)
			res, err := a.Catalog.Import(ctx, file)
			for _, r := range res {
				fmt.Fprintf(cmd.OutOrStdout(), "%-10s %-24s %s\n", r.Action, r.Slug, r.ID)
			}
			return err
		},
	})
	return c
}

// describePlugins stores the option declaration of each plugin the
// catalog's plans name, from its executable in describe mode, so the plans
// are checked against the plugin as installed even before the first serve.
// A plugin without a block, or whose executable cannot be described, keeps
// its stored declaration (and without one its plans are refused).
func describePlugins(cmd *cobra.Command, cfg *config.Config, cat *catalog.Catalog, file *catalog.File) {
	names := map[string]bool{}
	for _, p := range file.Plans {
		names[p.Plugin] = true
	}
	for _, p := range cfg.Plugin {
		if !names[p.Name] {
			continue
		}
		d, err := pluginhost.Describe(cmd.Context(), p.Path, p.SHA256)
		if err == nil {
			err = cat.RecordOptions(cmd.Context(), p.Name, d.Version, d.Options)
		}
		if err != nil {
			fmt.Fprintf(cmd.ErrOrStderr(), "plugin %s: cannot read its option declaration (%v); using the last one stored\n", p.Name, err)
		}
	}
}
