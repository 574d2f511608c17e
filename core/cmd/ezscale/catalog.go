package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/ezscale/platform/core/audit"
	"github.com/ezscale/platform/core/provisioning"
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
config/examples/demo-catalog.json seeds the sandbox (make demo):

  ezscale catalog import --config config/examples/demo.hcl config/examples/demo-catalog.json`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			cat, err := provisioning.LoadCatalog(args[0])
			if err != nil {
				return err
			}
			cfg, err := g.load()
			if err != nil {
				return err
			}
			a, err := newApp(cmd.Context(), cfg)
			if err != nil {
				return err
			}
			defer a.Close()
			ctx := audit.WithMeta(cmd.Context(), audit.Meta{ActorType: audit.ActorSystem, ActorID: "cli", UserAgent: "ezscale catalog import"})
			res, err := provisioning.ImportCatalog(ctx, a.Billing, cat)
			for _, r := range res {
				fmt.Fprintf(cmd.OutOrStdout(), "%-10s %-24s %s\n", r.Action, r.Slug, r.ID)
			}
			return err
		},
	})
	return c
}
