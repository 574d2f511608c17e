package main

import (
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/ezscale/platform/core/accounts"
)

func secretsCmd(g *globals) *cobra.Command {
	c := &cobra.Command{
		Use:   "secrets",
		Short: "Manage the key that seals two-factor secrets at rest",
		Long: `Two-factor (TOTP) secrets are stored encrypted with AES-256-GCM under auth.secrets_key,
which comes from the environment only (EZSCALE_AUTH_SECRETS_KEY). To rotate it:

  1. ezscale secrets generate                      # the new key
  2. run every replica with EZSCALE_AUTH_SECRETS_KEY=<new> and
     EZSCALE_AUTH_SECRETS_PREVIOUS_KEYS=<old>     # both open, the new one seals
  3. ezscale secrets rotate                        # (same environment) re-seal under the new key
  4. drop EZSCALE_AUTH_SECRETS_PREVIOUS_KEYS and restart`,
	}
	c.AddCommand(&cobra.Command{
		Use:   "generate",
		Short: "Print a new random secrets key (base64 of 32 bytes)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			fmt.Fprintln(cmd.OutOrStdout(), accounts.GenerateKey())
			return nil
		},
	})
	c.AddCommand(&cobra.Command{
		Use:   "rotate",
		Short: "Re-seal every two-factor secret under the current auth.secrets_key",
		Long: `Re-seal under the current auth.secrets_key every two-factor secret sealed under a
previous key (auth.secrets_previous_keys must still name it) or stored in plaintext. Safe
to run again; it reports how many secrets it re-sealed.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			a, err := g.openApp(cmd.Context())
			if err != nil {
				return err
			}
			defer a.Close()
			id := a.Accounts.SecretsKeyID()
			if id == "" {
				return errors.New("no secrets key: set EZSCALE_AUTH_SECRETS_KEY (and EZSCALE_AUTH_SECRETS_PREVIOUS_KEYS to the old key)")
			}
			n, err := a.Accounts.SealSecrets(consoleCtx(cmd.Context(), "secrets rotate"), true)
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "re-sealed %d two-factor secret(s) under key %s\n", n, id)
			return nil
		},
	})
	return c
}
