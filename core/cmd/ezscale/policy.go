package main

import (
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	// The rule kinds register themselves with the packages that evaluate
	// them.
	_ "github.com/ezscale/platform/core/billing/budget"
	"github.com/ezscale/platform/core/policy"
)

func policyCmd() *cobra.Command {
	c := &cobra.Command{Use: "policy", Short: "Rules (expr expressions): list their kinds, check a rule"}
	c.AddCommand(&cobra.Command{
		Use:   "kinds",
		Short: "List the rule kinds with their variables and limits",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			out := cmd.OutOrStdout()
			for _, k := range policy.Kinds() {
				fmt.Fprintf(out, "%s (%s): %s\n", k.Name, k.Result, k.Doc)
				for _, f := range k.Fields {
					fmt.Fprintln(out, strings.TrimRight(fmt.Sprintf("  %-22s %-34s %s", f.Name, f.Type, f.Doc), " "))
				}
				fmt.Fprintf(out, "  limits: %s\n\n", k.Limits)
			}
			return nil
		},
	})
	var kind string
	check := &cobra.Command{
		Use:   "check --kind KIND [RULE | -]",
		Short: "Compile a rule (an argument, or stdin with -); exit 1 with line:column and a caret when it is refused",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			k, ok := policy.Lookup(kind)
			if !ok {
				var names []string
				for _, k := range policy.Kinds() {
					names = append(names, k.Name)
				}
				return fmt.Errorf("unknown rule kind %q (known: %s)", kind, strings.Join(names, ", "))
			}
			src := args[0]
			if src == "-" {
				b, err := io.ReadAll(io.LimitReader(cmd.InOrStdin(), int64(k.Limits.MaxSourceLen)+1))
				if err != nil {
					return err
				}
				src = string(b)
			}
			err := k.Check(src)
			var perr *policy.Error
			if errors.As(err, &perr) {
				return &exitError{code: 1, msg: perr.Format()}
			}
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "ok: a valid %s rule\n", k.Name)
			return nil
		},
	}
	check.Flags().StringVar(&kind, "kind", "", "the rule kind (see policy kinds)")
	_ = check.MarkFlagRequired("kind")
	c.AddCommand(check)
	return c
}
