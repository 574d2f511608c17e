package main

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/ezscale/platform/plugins/supportpal/supportpalapi"
	"github.com/ezscale/platform/sdk"
)

func schema() *sdk.Schema {
	return sdk.NewSchema().
		String("base_url", sdk.Required(), sdk.Doc("the helpdesk's API root, https://help.example.com[/install-path]/api")).
		String("api_token", sdk.Required(), sdk.Secret(),
			sdk.Doc(`read/write API token (Settings → Core → API tokens); give it from the environment, e.g. api_token = env("SUPPORTPAL_TOKEN")`)).
		Int("department_id", sdk.Required(), sdk.Doc("department new tickets open in (it must belong to the brand)")).
		Int("status_id", sdk.Default(int64(1)), sdk.Doc("status new tickets get (1 is Open in a new install)")).
		StringList("priorities", sdk.Default([]any{"low=1", "medium=2", "high=3", "urgent=4"}),
			sdk.Doc(`SupportPal priority id for each of the core's priorities, as "name=id"`)).
		String("default_priority", sdk.Default("medium"), sdk.OneOf("low", "medium", "high", "urgent"),
			sdk.Doc("priority of a ticket whose request names none")).
		Int("brand_id", sdk.Default(int64(0)), sdk.Doc("brand of new users and tickets; 0: the default brand")).
		StringList("closed_statuses", sdk.Default([]any{"Closed", "Resolved"}),
			sdk.Doc("status names the core reports as closed")).
		StringList("waiting_statuses", sdk.Default([]any{"Awaiting Reply", "On Hold"}),
			sdk.Doc("status names the core reports as waiting on the customer")).
		Bool("send_user_email", sdk.Default(true), sdk.Doc("let SupportPal email the customer about the new ticket")).
		Duration("timeout", sdk.Default("15s"), sdk.Doc("per HTTP request to SupportPal"))
}

type settings struct {
	client          *supportpalapi.Client
	departmentID    int64
	statusID        int64
	priorities      map[string]int64
	defaultPriority string
	brandID         int64
	closed, waiting map[string]bool
	sendUserEmail   bool
}

func parseConfig(cfg sdk.Config) (*settings, sdk.Diagnostics) {
	var diags sdk.Diagnostics
	fail := func(field, format string, args ...any) {
		diags = append(diags, sdk.FieldDiagnostic(field, "%s", fmt.Sprintf(format, args...))...)
	}
	s := &settings{
		departmentID:    cfg.Int("department_id"),
		statusID:        cfg.Int("status_id"),
		priorities:      map[string]int64{},
		defaultPriority: cfg.String("default_priority"),
		brandID:         cfg.Int("brand_id"),
		closed:          lowerSet(cfg.StringList("closed_statuses")),
		waiting:         lowerSet(cfg.StringList("waiting_statuses")),
		sendUserEmail:   cfg.Bool("send_user_email"),
	}
	c, err := supportpalapi.New(cfg.String("base_url"), cfg.String("api_token"), nil, cfg.Duration("timeout"))
	if err != nil {
		fail("base_url", "%v", err)
	}
	s.client = c
	if cfg.String("api_token") == "" {
		fail("api_token", "is required")
	}
	if s.departmentID <= 0 {
		fail("department_id", "must be a SupportPal department id")
	}
	if s.statusID <= 0 {
		fail("status_id", "must be a SupportPal status id")
	}
	for _, p := range cfg.StringList("priorities") {
		name, id, ok := strings.Cut(p, "=")
		n, err := strconv.ParseInt(strings.TrimSpace(id), 10, 64)
		name = strings.TrimSpace(name)
		if !ok || err != nil || n <= 0 || !validPriority(name) {
			fail("priorities", "%q: want \"low|medium|high|urgent=<id>\"", p)
			continue
		}
		s.priorities[name] = n
	}
	if _, ok := s.priorities[s.defaultPriority]; !ok && len(diags) == 0 {
		fail("default_priority", "%q has no id in priorities", s.defaultPriority)
	}
	return s, diags
}

func validPriority(p string) bool {
	return p == "low" || p == "medium" || p == "high" || p == "urgent"
}

func lowerSet(l []string) map[string]bool {
	m := map[string]bool{}
	for _, v := range l {
		m[strings.ToLower(strings.TrimSpace(v))] = true
	}
	return m
}
