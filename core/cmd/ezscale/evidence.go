package main

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/ezscale/platform/core/audit"
	"github.com/ezscale/platform/core/compliance"
)

// evidenceCmd is the auditor's export of the SOC 2 evidence and its check
// (docs/compliance.md).
func evidenceCmd(g *globals) *cobra.Command {
	c := &cobra.Command{Use: "evidence", Short: "Export the SOC 2 evidence of a period for an auditor, and verify such an export"}
	var from, to, out string
	export := &cobra.Command{
		Use:   "export --from YYYY-MM-DD --to YYYY-MM-DD -o FILE",
		Short: "Write a zip of every policy, evidence file and review of the period, with a manifest (sha256 of each file, the audit chain's head)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if out == "" {
				return fmt.Errorf("-o FILE is required")
			}
			if err := compliance.ExportPeriod(from, to); err != nil {
				return err
			}
			a, err := g.openApp(cmd.Context())
			if err != nil {
				return err
			}
			defer a.Close()
			// Written beside FILE and renamed into place: a failed export
			// leaves no zip that looks whole.
			tmp, err := os.CreateTemp(filepath.Dir(out), ".evidence-*.zip")
			if err != nil {
				return err
			}
			defer os.Remove(tmp.Name())
			ctx := audit.WithMeta(cmd.Context(), audit.Meta{ActorType: audit.ActorSystem, ActorID: "cli", UserAgent: "ezscale evidence export"})
			m, err := a.Compliance.Export(ctx, compliance.Actor{}, from, to, tmp)
			if err != nil {
				_ = tmp.Close()
				return err
			}
			if err := tmp.Close(); err != nil {
				return err
			}
			if err := os.Rename(tmp.Name(), out); err != nil {
				return err
			}
			var size int64
			for _, f := range m.Files {
				size += f.Size
			}
			fmt.Fprintf(cmd.OutOrStdout(), "wrote %s: %d files (%d bytes) from %s to %s; audit chain head seq %d, hash %s\n",
				out, len(m.Files), size, from, to, m.AuditHead.Seq, m.AuditHead.Hash)
			return nil
		},
	}
	export.Flags().StringVar(&from, "from", "", "first day of the period (YYYY-MM-DD)")
	export.Flags().StringVar(&to, "to", "", "last day of the period (YYYY-MM-DD)")
	export.Flags().StringVarP(&out, "output", "o", "", "the zip to write")
	c.AddCommand(export)
	c.AddCommand(&cobra.Command{
		Use:   "verify FILE",
		Short: "Check an export against its manifest: every file present and unchanged, nothing extra; exit 1 otherwise",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			f, err := os.Open(args[0])
			if err != nil {
				return &exitError{code: 1, msg: fmt.Sprintf("evidence export %s: %v", args[0], err)}
			}
			defer f.Close()
			st, err := f.Stat()
			if err != nil {
				return err
			}
			rep, err := compliance.Verify(f, st.Size())
			if err != nil {
				return &exitError{code: 1, msg: fmt.Sprintf("evidence export %s is NOT valid: %v", args[0], err)}
			}
			if !rep.OK() {
				msg := fmt.Sprintf("evidence export %s is NOT intact: %d problem(s), %d of %d files match:", args[0], len(rep.Problems), rep.Checked, len(rep.Manifest.Files))
				for _, p := range rep.Problems {
					msg += "\n  " + p
				}
				return &exitError{code: 1, msg: msg}
			}
			m := rep.Manifest
			fmt.Fprintf(cmd.OutOrStdout(), "evidence export intact: %d files match the manifest (%s to %s, exported %s, audit chain head seq %d, hash %s)\n",
				rep.Checked, m.From, m.To, m.GeneratedAt.Format("2006-01-02T15:04:05Z07:00"), m.AuditHead.Seq, m.AuditHead.Hash)
			return nil
		},
	})
	return c
}
