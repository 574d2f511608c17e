package main

import (
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/ezscale/platform/core/audit"
	"github.com/ezscale/platform/core/billing"
)

func billingCmd(g *globals) *cobra.Command {
	c := &cobra.Command{Use: "billing", Short: "Billing administration"}
	var asOf string
	var steps []string
	var sync bool
	run := &cobra.Command{
		Use:   "run",
		Short: "Trigger a billing run (the daily run's chain of steps, or the steps named)",
		Long: `Trigger a billing run: generate renewal invoices, apply credit, check auto top-ups,
charge due invoices, send reminders, suspend and terminate overdue services. Every
step is idempotent, so a run that repeats the daily one does no harm.

By default the run is queued and the job engine of a running "ezscale serve" works
it. With --sync the steps run here, one after the other, and their counts are
printed (charges and provisioning they cause are still queued as jobs).

  ezscale billing run
  ezscale billing run --as-of 2026-03-01 --step generate --sync`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var when time.Time
			if asOf != "" {
				t, err := time.Parse("2006-01-02", asOf)
				if err != nil {
					return fmt.Errorf("--as-of: %q is not a date as YYYY-MM-DD", asOf)
				}
				when = t
			}
			a, err := g.openApp(cmd.Context())
			if err != nil {
				return err
			}
			defer a.Close()
			ctx := audit.WithMeta(cmd.Context(), audit.Meta{ActorType: audit.ActorSystem, ActorID: "cli", UserAgent: "ezscale billing run"})
			if !sync {
				r, err := a.Billing.TriggerRun(ctx, billing.RunInput{AsOf: when, Steps: steps, By: "cli"})
				if err != nil {
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "billing run %s queued as of %s\n", r.ID, r.AsOf.Format(time.RFC3339))
				return nil
			}
			if when.IsZero() {
				when = time.Now().UTC()
			}
			if len(steps) == 0 {
				steps = billing.Steps
			}
			for _, s := range steps {
				start := time.Now()
				n, err := a.Billing.RunStepNow(ctx, s, when)
				if err != nil {
					return fmt.Errorf("step %s: %w", s, err)
				}
				fmt.Fprintf(cmd.OutOrStdout(), "%-13s %8d  %s\n", s, n, time.Since(start).Round(time.Millisecond))
			}
			return nil
		},
	}
	run.Flags().StringVar(&asOf, "as-of", "", "the run's date, YYYY-MM-DD (default today)")
	run.Flags().StringSliceVar(&steps, "step", nil, "run only these steps: generate, apply_credit, auto_topup, charge, remind, suspend, terminate")
	run.Flags().BoolVar(&sync, "sync", false, "run the steps in this process instead of queueing them")
	c.AddCommand(run)
	return c
}
