// Command ezscale is the EZSCALE platform core: one binary for the server,
// migrations and the operator's CLI. `ezscale --help` lists the commands.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/ezscale/platform/config"
	"github.com/ezscale/platform/core/app"
	"github.com/ezscale/platform/core/logging"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

// exitError carries a specific exit status (e.g. audit verify's 1 for a
// broken chain) through cobra.
type exitError struct {
	code int
	msg  string
}

func (e *exitError) Error() string { return e.msg }

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	root := rootCmd()
	if err := root.ExecuteContext(ctx); err != nil {
		var ee *exitError
		if errors.As(err, &ee) {
			if ee.msg != "" {
				fmt.Fprintln(os.Stderr, ee.msg)
			}
			os.Exit(ee.code)
		}
		fmt.Fprintln(os.Stderr, "error:", err)
		os.Exit(1)
	}
}

type globals struct {
	configPath string
}

func rootCmd() *cobra.Command {
	g := &globals{}
	root := &cobra.Command{
		Use:           "ezscale",
		Short:         "EZSCALE platform core: accounts, billing, audit and automation for hosting companies",
		Version:       version,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.PersistentFlags().StringVarP(&g.configPath, "config", "c", os.Getenv("EZSCALE_CONFIG"),
		"HCL config file (default: built-in defaults; env EZSCALE_CONFIG); EZSCALE_<BLOCK>_<KEY> variables override it")
	root.AddCommand(serveCmd(g), migrateCmd(g), adminCmd(g), configCmd(g), auditCmd(g), pluginsCmd(g), billingCmd(g), policyCmd(), catalogCmd(g), secretsCmd(g))
	root.AddCommand(openapiCmd(), evidenceCmd(g))
	return root
}

// load reads the config; its errors already carry file:line:col.
func (g *globals) load() (*config.Config, error) {
	cfg, err := config.Load(g.configPath, os.Environ())
	if err != nil {
		var ce *config.Error
		if errors.As(err, &ce) {
			return nil, &exitError{code: 2, msg: "configuration error:\n" + ce.Error()}
		}
		return nil, err
	}
	return cfg, nil
}

func serveCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "serve",
		Short: "Run the API server and the job engine (migrates the database first)",
		Long: `Run the platform: apply pending migrations, start the job engine and serve the
HTTP API until SIGINT or SIGTERM, then shut down gracefully. Several replicas may
run against one PostgreSQL database.

The configured plugins start before the API serves. A plugin config block that
its plugin's schema refuses ends serve with exit status 2, naming the field and
its file:line:col; a plugin that fails to start for any other reason (missing
binary, checksum mismatch, crash) is logged and shown as failed in
GET /api/v1/admin/plugins while the rest of the platform runs. On shutdown every
plugin process is stopped.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			a, err := g.openApp(cmd.Context())
			if err != nil {
				return err
			}
			err = a.Run(cmd.Context())
			var pce *app.PluginConfigError
			if errors.As(err, &pce) {
				// Like any other config error: exit 2, naming the field
				// and where it was set.
				return &exitError{code: 2, msg: "configuration error:\n" + pce.Error()}
			}
			return err
		},
	}
}

func migrateCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "migrate",
		Short: "Apply pending database migrations (River's and the platform's) and exit",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, db, err := g.openDB(cmd.Context())
			if err != nil {
				return err
			}
			defer db.Close()
			logger := logging.New("ezscale", cfg.Log.Level, cfg.Log.Format, nil)
			applied, err := db.Migrate(cmd.Context(), logging.Slog(logger.Named("migrate")))
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s: %d migration(s) applied\n", db.Name, len(applied))
			return nil
		},
	}
}

func configCmd(g *globals) *cobra.Command {
	c := &cobra.Command{Use: "config", Short: "Inspect the configuration"}
	c.AddCommand(&cobra.Command{
		Use:   "validate",
		Short: "Check the config file and EZSCALE_* variables; exit 2 with file:line:col errors when invalid",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := g.load()
			if err != nil {
				return err
			}
			src := g.configPath
			if src == "" {
				src = "built-in defaults"
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s: valid (%d plugin block(s), database %s)\n", src, len(cfg.Plugin), redactURL(cfg.Database.URL))
			return nil
		},
	})
	return c
}
