package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/hashicorp/go-hclog"
	"github.com/spf13/cobra"

	"github.com/ezscale/platform/core/pluginhost"
	"github.com/ezscale/platform/sdk"
	"github.com/ezscale/platform/sdk/conformance"
	"github.com/ezscale/platform/sdk/plugintest"
	pb "github.com/ezscale/platform/sdk/pluginv1"
)

// conformanceRun is what `plugins conformance` runs: a built plugin, its
// config, and the fixture values the suites need.
type conformanceRun struct {
	path      string
	config    map[string]any
	options   map[string]string
	channel   string
	recipient string
	verbose   bool
}

func pluginsConformanceCmd(g *globals) *cobra.Command {
	var (
		optionFlags []string
		r           conformanceRun
	)
	c := &cobra.Command{
		Use:   "conformance PATH | conformance NAME --config FILE",
		Short: "Run the SDK's conformance suite of a plugin's kind against a built plugin, in any language",
		Long: `Start the plugin executable at PATH as the core would (go-plugin handshake with
AutoMTLS, over the real protocol) and run the conformance suite of each kind it
describes, as conformance.Provisioner, conformance.Notifier, … do in go test:
so a plugin written in any language can be checked. The suite restarts the
plugin on its data directory (a fresh temporary one per run) and on a new one,
to prove that a Create retried across a restart acts once.

The plugin's config is the config {} block of the plugin "NAME" block of the
--config FILE whose name is NAME or whose path is PATH; without --config it is
empty. Point it at a test backend: the suite creates, suspends and terminates.

Fixtures: a provisioner's service has service id "conformance-svc-1", a test
customer and the plan options given with --option KEY=VALUE; a notifier's
message needs --channel and --recipient. The community, monitor and payment
gateway suites need fixtures only go test can give; their kinds are reported
as not checked.

Exit status 0 when every suite passes, 1 when one fails (the failures are
printed, prefixed "conformance: <kind>: …"), 2 for a usage error.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := r.resolve(g, args[0]); err != nil {
				return err
			}
			r.options = map[string]string{}
			for _, kv := range optionFlags {
				k, v, ok := strings.Cut(kv, "=")
				if !ok || k == "" {
					return &exitError{code: 2, msg: fmt.Sprintf("--option %q: want KEY=VALUE", kv)}
				}
				r.options[k] = v
			}
			// The testing package runs the suites, as go test would, and
			// exits with their status.
			testing.Init()
			if err := flag.CommandLine.Parse([]string{"-test.v=" + fmt.Sprint(r.verbose)}); err != nil {
				return err
			}
			testing.Main(func(pat, str string) (bool, error) { return regexp.MatchString(pat, str) },
				[]testing.InternalTest{{Name: "Conformance", F: r.run}}, nil, nil)
			return nil
		},
	}
	c.Flags().StringArrayVar(&optionFlags, "option", nil, "a plan option of the provisioner's test service, KEY=VALUE (repeatable)")
	c.Flags().StringVar(&r.channel, "channel", "", "the channel of the notifier's test message")
	c.Flags().StringVar(&r.recipient, "recipient", "", "the recipient of the notifier's test message")
	c.Flags().BoolVarP(&r.verbose, "verbose", "v", false, "print every check, not only failures")
	return c
}

// resolve finds the executable and its config: the block named arg (or
// whose path is arg) of the --config file, else arg as a path with an empty
// config.
func (r *conformanceRun) resolve(g *globals, arg string) error {
	r.path, r.config = arg, map[string]any{}
	if g.configPath == "" {
		return nil
	}
	cfg, err := g.load()
	if err != nil {
		return err
	}
	for _, p := range cfg.Plugin {
		if p.Name == arg || p.Path == arg {
			r.path = p.Path
			if p.Config != nil {
				r.config = p.Config
			}
			return nil
		}
	}
	if _, err := os.Stat(arg); errors.Is(err, os.ErrNotExist) {
		return &exitError{code: 2, msg: fmt.Sprintf("%s: no such file, and %s has no plugin block of that name or path", arg, g.configPath)}
	}
	return &exitError{code: 2, msg: fmt.Sprintf("%s has no plugin block whose name or path is %q", g.configPath, arg)}
}

// run is the test the testing package runs: the plugin launched over
// go-plugin, then each kind's suite.
func (r *conformanceRun) run(t *testing.T) {
	level := hclog.Off // go-plugin reports every kill at a restart
	if r.verbose {
		level = hclog.Info
	}
	logger := hclog.New(&hclog.LoggerOptions{Name: "plugin", Output: os.Stderr, Level: level})
	h := plugintest.Launch(t, plugintest.Launcher(pluginhost.ConformanceLauncher(r.path, logger)), plugintest.WithConfig(r.config))
	kinds := sdk.DescribedKinds(h.Description())
	t.Logf("%s: %s %s, kinds %v", r.path, h.Description().GetName(), h.Description().GetVersion(), kinds)
	if slices.Contains(kinds, sdk.KindNotifier) && (r.channel == "" || r.recipient == "") {
		t.Fatal("conformance: notifier: the suite delivers a message: give --channel and --recipient (one its backend accepts)")
	}
	for _, k := range kinds {
		switch k {
		case sdk.KindProvisioner:
			conformance.Provisioner(t, h, conformance.ProvisionerFixture{Service: &pb.ServiceRef{
				ServiceId: "conformance-svc-1", PlanOptions: r.options,
				Customer: &pb.Customer{AccountId: "conformance-acct-1", Email: "conformance@example.com", Name: "Conformance Test"},
			}})
		case sdk.KindNotifier:
			conformance.Notifier(t, h, conformance.NotifierFixture{Message: &pb.DeliverRequest{
				Channel: r.channel, Recipient: r.recipient, Subject: "EZSCALE conformance", TextBody: "A message sent by ezscale plugins conformance.",
			}})
		case sdk.KindPricingSource:
			conformance.PricingSource(t, h)
		case sdk.KindAssistant:
			q := &pb.AnswerRequest{Question: "How do I reset my server's password?", Documents: []*pb.KnowledgeDocument{{
				Id: "reset-password.md", Title: "Resetting a server's password",
				Text: "Open the service in the control panel and choose Reset password."}}}
			conformance.Assistant(t, h, q)
			conformance.AssistantStream(t, h, conformance.AssistantFixture{Question: q})
		case sdk.KindHelpdesk:
			ticket := &pb.OpenTicketRequest{
				Customer: &pb.Customer{AccountId: "conformance-acct-1", Email: "conformance@example.com", Name: "Conformance Test"},
				Subject:  "EZSCALE conformance", Body: "A ticket opened by ezscale plugins conformance.", Priority: "low",
			}
			conformance.Helpdesk(t, h, ticket)
			conformance.HelpdeskTickets(t, h, conformance.HelpdeskFixture{Ticket: ticket, UnknownTicketID: "999999999"})
		default:
			t.Run(string(k), func(t *testing.T) {
				t.Skipf("conformance: %s: not checked here: its suite needs fixtures only go test can give (conformance package)", k)
			})
		}
	}
}
