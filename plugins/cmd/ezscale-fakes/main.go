// Command ezscale-fakes serves the VirtFusion, Pterodactyl and Kasm fakes on
// localhost so the platform (make demo, end-to-end tests) can run against
// them without the real services.
//
//	go run ./cmd/ezscale-fakes -virtfusion 127.0.0.1:8481 -pterodactyl 127.0.0.1:8482 -kasm 127.0.0.1:8483
//
// An empty address leaves that fake off; port 0 picks a free port. Once
// listening it prints one line per fake, "<name> <base URL>", so a script
// can read the addresses, and serves until SIGINT or SIGTERM. Each fake also
// accepts failure injection under /__fake/ (see package fault).
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

	"github.com/ezscale/platform/plugins/kasm/fakekasm"
	"github.com/ezscale/platform/plugins/pterodactyl/fakepterodactyl"
	"github.com/ezscale/platform/plugins/virtfusion/fakevirtfusion"
)

func main() {
	if err := run(context.Background(), os.Args[1:], os.Stdout); err != nil {
		log.Fatal(err)
	}
}

type fake struct {
	name, addr, path string
	handler          http.Handler
}

func run(ctx context.Context, args []string, stdout io.Writer) error {
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
	noLimits := fs.Bool("no-rate-limits", false, "turn off Pterodactyl's default rate limits (240/min application, 720/min client), e.g. for benchmarks")
	if err := fs.Parse(args); err != nil {
		return err
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

	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	errc := make(chan error, len(fakes))
	var servers []*http.Server
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
	if len(servers) == 0 {
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
