// Command ezscale-fakes serves, on localhost, the third parties the sandbox
// (make demo) and end-to-end tests run the platform against: the
// VirtFusion, Pterodactyl and Kasm fakes, the Discord fake (seeded with a
// guild, roles and webhooks, see sandbox.go), a mail catcher (SMTP in, a
// web inbox and a JSON API out) and, with -stripe, Stripe's stripe-mock
// behind stripemock.TestMode, and the game-server listings: a BattleMetrics
// API and GameTracker server pages (empty until servers are added over
// POST /__fake/servers).
//
//	go run ./cmd/ezscale-fakes -virtfusion 127.0.0.1:8481 -pterodactyl 127.0.0.1:8482 -kasm 127.0.0.1:8483
//
// An empty address leaves that fake off; port 0 picks a free port. Once
// listening it prints one line per fake, "<name> <base URL>" (the SMTP
// listener as "smtp smtp://host:port"), so a script can read the addresses,
// and serves until SIGINT or SIGTERM. The panel fakes accept failure
// injection under /__fake/ (see package fault); the Discord fake has its own
// /__fake/ routes (package fakediscord). The Discord fake, the mail catcher
// and Stripe log what they are asked on stderr. With -anthropic and
// -supportpal it also serves the Anthropic Messages API and SupportPal
// fakes (off by default).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/ezscale/platform/plugins/anthropic/fakeanthropic"
	"github.com/ezscale/platform/plugins/battlemetrics/fakebattlemetrics"
	"github.com/ezscale/platform/plugins/discord/fakediscord"
	"github.com/ezscale/platform/plugins/email/mailcatcher"
	"github.com/ezscale/platform/plugins/gametracker/fakegametracker"
	"github.com/ezscale/platform/plugins/kasm/fakekasm"
	"github.com/ezscale/platform/plugins/pterodactyl/fakepterodactyl"
	"github.com/ezscale/platform/plugins/stripe/stripemock"
	"github.com/ezscale/platform/plugins/supportpal/fakesupportpal"
	"github.com/ezscale/platform/plugins/virtfusion/fakevirtfusion"
)

func main() {
	if err := run(context.Background(), os.Args[1:], os.Stdout, os.Stderr); err != nil {
		log.Fatal(err)
	}
}

type fake struct {
	name, addr, path string
	handler          http.Handler
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("ezscale-fakes", flag.ContinueOnError)
	vfAddr := fs.String("virtfusion", "127.0.0.1:8481", "VirtFusion fake address (empty: off)")
	vfToken := fs.String("virtfusion-token", "vf-test-token", "VirtFusion API token the fake accepts")
	ptAddr := fs.String("pterodactyl", "127.0.0.1:8482", "Pterodactyl fake address (empty: off)")
	ptApp := fs.String("pterodactyl-app-key", fakepterodactyl.DefaultApplicationKey, "Pterodactyl application (ptla_) key")
	ptClient := fs.String("pterodactyl-client-key", fakepterodactyl.DefaultClientKey, "Pterodactyl client (ptlc_) key")
	ptInstall := fs.Duration("pterodactyl-install", 0, "how long a new Pterodactyl server stays installing")
	kasmAddr := fs.String("kasm", "127.0.0.1:8483", "Kasm fake address (empty: off)")
	kasmKey := fs.String("kasm-key", fakekasm.DefaultAPIKey, "Kasm API key")
	kasmSecret := fs.String("kasm-secret", fakekasm.DefaultAPISecret, "Kasm API key secret")
	kasmStart := fs.Duration("kasm-start", 0, "how long a new Kasm session stays starting")
	scale := fs.Int("scale", 1, "multiply the VirtFusion hypervisors' and Pterodactyl nodes' capacity (e.g. 10 to provision thousands of services)")
	noLimits := fs.Bool("no-rate-limits", false, "turn off Pterodactyl's default rate limits (240/min application, 720/min client) and the Anthropic fake's (50/min), e.g. for benchmarks")
	discordAddr := fs.String("discord", "127.0.0.1:8484", "Discord fake address (empty: off)")
	discordBot := fs.String("discord-bot-token", DefaultDiscordBotToken, "Discord bot token the fake accepts")
	discordHook := fs.String("discord-webhook-token", DefaultDiscordWebhookToken, "token of the seeded #alerts webhook")
	stripeAddr := fs.String("stripe", "", "Stripe address: stripe-mock behind stripemock.TestMode (empty: off)")
	stripeMock := fs.String("stripe-mock", "", "the stripe-mock executable (default: found in PATH, then $(go env GOPATH)/bin)")
	mailAddr := fs.String("mail", "127.0.0.1:8486", "mail catcher's web inbox and JSON API (empty: off)")
	smtpAddr := fs.String("smtp", "127.0.0.1:8487", "mail catcher's SMTP listener (empty: off)")
	anthropicAddr := fs.String("anthropic", "", "Anthropic Messages API fake address, e.g. 127.0.0.1:8490 (empty: off)")
	anthropicKey := fs.String("anthropic-key", fakeanthropic.DefaultAPIKey, "Anthropic API key the fake accepts")
	supportpalAddr := fs.String("supportpal", "", "SupportPal fake address, e.g. 127.0.0.1:8491 (empty: off); API under /api")
	supportpalToken := fs.String("supportpal-token", fakesupportpal.DefaultToken, "SupportPal API token the fake accepts")
	bmAddr := fs.String("battlemetrics", "127.0.0.1:8488", "BattleMetrics API fake address (empty: off)")
	bmToken := fs.String("battlemetrics-token", fakebattlemetrics.DefaultToken, "BattleMetrics token the fake accepts (requests without one are anonymous)")
	gtAddr := fs.String("gametracker", "127.0.0.1:8489", "GameTracker server-page fake address (empty: off)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	logger := log.New(stderr, "", log.LstdFlags)
	logAs := func(name string) func(string, ...any) {
		return func(format string, args ...any) { logger.Printf(name+": "+format, args...) }
	}

	ptOpts := fakepterodactyl.Options{ApplicationKey: *ptApp, ClientKey: *ptClient, InstallDuration: *ptInstall, Scale: *scale}
	if *noLimits {
		ptOpts.ApplicationRateLimit, ptOpts.ClientRateLimit = -1, -1
	}
	fakes := []fake{
		{"virtfusion", *vfAddr, fakevirtfusion.BasePath, fakevirtfusion.New(fakevirtfusion.Options{Token: *vfToken, HypervisorScale: *scale})},
		{"pterodactyl", *ptAddr, "", fakepterodactyl.New(ptOpts)},
		{"kasm", *kasmAddr, "", fakekasm.New(fakekasm.Options{APIKey: *kasmKey, APISecret: *kasmSecret, StartDuration: *kasmStart})},
	}
	if *discordAddr != "" {
		d := fakediscord.New(fakediscord.Options{BotToken: *discordBot, Logf: logAs("discord")})
		if err := d.Seed(sandboxGuild(*discordHook)); err != nil {
			return err
		}
		fakes = append(fakes, fake{"discord", *discordAddr, "", d})
	}
	if *stripeAddr != "" {
		var mock *stripemock.Server
		var err error
		if *stripeMock != "" {
			mock, err = stripemock.StartBinary(*stripeMock)
		} else {
			mock, err = stripemock.Start()
		}
		if err != nil {
			return fmt.Errorf("error starting stripe-mock for -stripe: %w", err)
		}
		defer mock.Close()
		fakes = append(fakes, fake{"stripe", *stripeAddr, "", logRequests(stripemock.NewTestMode(mock.URL), logAs("stripe"))})
	}
	if *anthropicAddr != "" {
		aOpts := fakeanthropic.Options{APIKey: *anthropicKey}
		if *noLimits {
			aOpts.RequestsPerMinute = -1
		}
		fakes = append(fakes, fake{"anthropic", *anthropicAddr, "", fakeanthropic.New(aOpts)})
	}
	if *supportpalAddr != "" {
		sp := fakesupportpal.New(fakesupportpal.Options{Token: *supportpalToken})
		fakes = append(fakes, fake{"supportpal", *supportpalAddr, "/api", sp})
	}
	if *bmAddr != "" {
		bmOpts := fakebattlemetrics.Options{Tokens: []string{*bmToken}}
		if *noLimits {
			bmOpts.AnonymousLimit, bmOpts.TokenLimit = -1, -1
		}
		fakes = append(fakes, fake{"battlemetrics", *bmAddr, "", fakebattlemetrics.New(bmOpts)})
	}
	if *gtAddr != "" {
		fakes = append(fakes, fake{"gametracker", *gtAddr, "", fakegametracker.New()})
	}
	var catcher *mailcatcher.Catcher
	if *mailAddr != "" || *smtpAddr != "" {
		catcher = mailcatcher.New(mailcatcher.Options{Logf: logAs("mail")})
	}
	if *mailAddr != "" {
		fakes = append(fakes, fake{"mail", *mailAddr, "", catcher})
	}

	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	errc := make(chan error, len(fakes)+1)
	var servers []*http.Server
	if *smtpAddr != "" {
		ln, err := net.Listen("tcp", *smtpAddr)
		if err != nil {
			return fmt.Errorf("error listening for smtp on %s: %w", *smtpAddr, err)
		}
		srv := catcher.SMTPServer()
		defer srv.Close()
		fmt.Fprintf(stdout, "smtp smtp://%s\n", ln.Addr())
		go func() {
			if err := srv.Serve(ln); err != nil {
				errc <- fmt.Errorf("smtp: %w", err)
			}
		}()
	}
	for _, f := range fakes {
		if f.addr == "" {
			continue
		}
		ln, err := net.Listen("tcp", f.addr)
		if err != nil {
			return fmt.Errorf("error listening for %s on %s: %w", f.name, f.addr, err)
		}
		srv := &http.Server{Handler: f.handler, ReadHeaderTimeout: 10 * time.Second}
		servers = append(servers, srv)
		fmt.Fprintf(stdout, "%s http://%s%s\n", f.name, ln.Addr(), f.path)
		go func() {
			if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
				errc <- fmt.Errorf("%s: %w", f.name, err)
			}
		}()
	}
	if len(servers) == 0 && *smtpAddr == "" {
		return errors.New("every fake is off: give at least one address")
	}
	var err error
	select {
	case <-ctx.Done():
	case err = <-errc:
	}
	shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for _, srv := range servers {
		_ = srv.Shutdown(shutdown)
	}
	return err
}
