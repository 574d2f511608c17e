package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"strings"

	"github.com/spf13/cobra"

	"github.com/ezscale/platform/config"
	"github.com/ezscale/platform/core/accounts"
	"github.com/ezscale/platform/core/app"
	"github.com/ezscale/platform/core/audit"
	"github.com/ezscale/platform/core/database"
	"github.com/ezscale/platform/core/logging"
)

func adminCmd(g *globals) *cobra.Command {
	c := &cobra.Command{Use: "admin", Short: "Manage staff users"}
	var email, role string
	var passwordStdin bool
	create := &cobra.Command{
		Use:   "create",
		Short: "Create a staff user (the first staff owner after installation)",
		Long: `Create a staff user. The password is read from standard input (never from a flag,
which would leave it in the shell history and the process list):

  printf '%s' "$ADMIN_PASSWORD" | ezscale admin create --email admin@example.com --password-stdin`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if !passwordStdin {
				return errors.New("pass --password-stdin and write the password to standard input")
			}
			pw, err := readPassword(cmd.InOrStdin())
			if err != nil {
				return err
			}
			a, err := g.openApp(cmd.Context())
			if err != nil {
				return err
			}
			defer a.Close()
			ctx := consoleCtx(cmd.Context(), "admin create")
			u, err := a.Accounts.CreateStaff(ctx, email, pw, role)
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "created staff %s %s (%s)\n", role, u.Email, u.ID)
			return nil
		},
	}
	create.Flags().StringVar(&email, "email", "", "email address of the staff user (required)")
	create.Flags().StringVar(&role, "role", accounts.StaffOwner, "staff role: support, admin or owner")
	create.Flags().BoolVar(&passwordStdin, "password-stdin", false, "read the password from standard input")
	_ = create.MarkFlagRequired("email")
	c.AddCommand(create, adminListCmd(g), adminStandingCmd(g, "disable"), adminStandingCmd(g, "enable"))
	return c
}

// consoleCtx marks what a command does as the operator's, for the audit log.
func consoleCtx(ctx context.Context, command string) context.Context {
	return audit.WithMeta(ctx, audit.Meta{ActorType: audit.ActorSystem, ActorID: "cli", UserAgent: "ezscale " + command})
}

func adminListCmd(g *globals) *cobra.Command {
	var all bool
	var query string
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List staff users (--all: every user) with their role and whether they are disabled",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			a, err := g.openApp(cmd.Context())
			if err != nil {
				return err
			}
			defer a.Close()
			f := accounts.UserFilter{Query: query}
			if !all {
				staff := true
				f.Staff = &staff
			}
			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "%-40s %-8s %-8s %s\n", "EMAIL", "ROLE", "STATUS", "ID")
			after := ""
			for {
				users, err := a.Accounts.ListUsers(cmd.Context(), accounts.Operator, f, after, 200)
				if err != nil {
					return err
				}
				for _, u := range users {
					role, status := "customer", "enabled"
					if u.StaffRole != nil {
						role = *u.StaffRole
					}
					if u.DisabledAt != nil {
						status = "disabled"
					}
					fmt.Fprintf(out, "%-40s %-8s %-8s %s\n", u.Email, role, status, u.ID)
				}
				if len(users) < 200 {
					return nil
				}
				after = users[len(users)-1].ID
			}
		},
	}
	cmd.Flags().BoolVar(&all, "all", false, "list customers too, not only staff")
	cmd.Flags().StringVarP(&query, "query", "q", "", "only users whose id is this, or whose email contains it")
	return cmd
}

// adminStandingCmd is `admin disable` or `admin enable`: the operator at the
// console is above every staff role (so an owner disabled by mistake can be
// re-enabled), but the last enabled owner is never disabled.
func adminStandingCmd(g *globals, verb string) *cobra.Command {
	short := "Re-enable a disabled user (staff or customer); they log in again"
	if verb == "disable" {
		short = "Disable a user (staff or customer) and revoke all their sessions and tokens; never the last owner"
	}
	return &cobra.Command{
		Use:   verb + " EMAIL|ID",
		Short: short,
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			a, err := g.openApp(cmd.Context())
			if err != nil {
				return err
			}
			defer a.Close()
			ctx := consoleCtx(cmd.Context(), "admin "+verb)
			var u *accounts.User
			if strings.Contains(args[0], "@") {
				u, err = a.Accounts.UserByEmail(ctx, args[0])
			} else {
				u, err = a.Accounts.User(ctx, args[0])
			}
			if err != nil {
				return fmt.Errorf("%s: %w", args[0], err)
			}
			if verb == "disable" {
				err = a.Accounts.DisableUser(ctx, accounts.Operator, u.ID)
			} else {
				err = a.Accounts.EnableUser(ctx, accounts.Operator, u.ID)
			}
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%sd %s (%s)\n", verb, u.Email, u.ID)
			return nil
		},
	}
}

func readPassword(r io.Reader) (string, error) {
	line, err := bufio.NewReader(io.LimitReader(r, 4096)).ReadString('\n')
	if err != nil && err != io.EOF {
		return "", fmt.Errorf("reading password: %w", err)
	}
	pw := strings.TrimRight(line, "\r\n")
	if pw == "" {
		return "", errors.New("no password on standard input")
	}
	return pw, nil
}

func auditCmd(g *globals) *cobra.Command {
	c := &cobra.Command{Use: "audit", Short: "Work with the tamper-evident audit log"}
	c.AddCommand(&cobra.Command{
		Use:   "verify",
		Short: "Verify the audit hash chain; exit 1 naming the first broken or missing seq",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			_, db, err := g.openDB(cmd.Context())
			if err != nil {
				return err
			}
			defer db.Close()
			rep, err := audit.Verify(cmd.Context(), db)
			if err != nil {
				return err
			}
			if !rep.OK {
				return &exitError{code: 1, msg: fmt.Sprintf("audit log BROKEN at seq %d: %s (%d events checked)", rep.BadSeq, rep.Problem, rep.Checked)}
			}
			fmt.Fprintf(cmd.OutOrStdout(), "audit log intact: %d events, last seq %d\n", rep.Checked, rep.LastSeq)
			return nil
		},
	})
	return c
}

// openApp loads the configuration and builds the platform from it, for a
// command that works through the domains. The caller closes it.
func (g *globals) openApp(ctx context.Context) (*app.App, error) {
	cfg, err := g.load()
	if err != nil {
		return nil, err
	}
	return app.New(ctx, cfg, logging.New("ezscale", cfg.Log.Level, cfg.Log.Format, nil))
}

// openDB loads the configuration and opens its database alone, for a
// command that needs no domain (migrate, audit verify): a small pool, since
// one command reads or writes at a time. The caller closes it.
func (g *globals) openDB(ctx context.Context) (*config.Config, *database.DB, error) {
	cfg, err := g.load()
	if err != nil {
		return nil, nil, err
	}
	db, err := database.Open(ctx, cfg.Database.URL, database.Options{MaxOpenConns: 4, ReadConns: 1})
	if err != nil {
		return nil, nil, err
	}
	return cfg, db, nil
}

func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.User == nil {
		return raw
	}
	if _, has := u.User.Password(); has {
		u.User = url.UserPassword(u.User.Username(), "xxxxx")
	}
	return u.String()
}
