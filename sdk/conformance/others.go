package conformance

import (
	"testing"

	"github.com/ezscale/platform/sdk"
	"github.com/ezscale/platform/sdk/plugintest"
	pb "github.com/ezscale/platform/sdk/pluginv1"
)

// Helpdesk runs the helpdesk suite: OpenTicket returns a ticket id, is
// idempotent per key and refused without one.
func Helpdesk(t *testing.T, h *plugintest.Harness, ticket *pb.OpenTicketRequest) {
	t.Helper()
	on(t, "helpdesk").requireKind(h, sdk.KindHelpdesk)
	Plugin(t, h)
	on(t, "helpdesk").run("Helpdesk", func(t st) {

		t.Helper()
		c := ctx(t)
		hd := h.Helpdesk()
		req := &pb.OpenTicketRequest{Customer: ticket.GetCustomer(), Subject: ticket.GetSubject(), Body: ticket.GetBody(),
			Department: ticket.GetDepartment(), Priority: ticket.GetPriority()}
		_, err := hd.OpenTicket(c, req)
		t.wantKind("OpenTicket without idempotency_key", err, sdk.InvalidInput)
		req.IdempotencyKey = "conformance-ticket"
		first, err := hd.OpenTicket(c, req)
		if err != nil || first.GetTicketId() == "" {
			t.Fatalf("OpenTicket: %v (id %q)", err, first.GetTicketId())
		}
		second, err := hd.OpenTicket(c, req)
		if err != nil || second.GetTicketId() != first.GetTicketId() {
			t.Errorf("OpenTicket repeated: %v, id %q, first %q (opened twice?)", err, second.GetTicketId(), first.GetTicketId())
		}
	})
}

// PricingSource runs the pricing source suite: every plan names its
// provider and plan id and has a non-negative price in a 3-letter currency.
func PricingSource(t *testing.T, h *plugintest.Harness) {
	t.Helper()
	on(t, "pricing source").requireKind(h, sdk.KindPricingSource)
	Plugin(t, h)
	on(t, "pricing source").run("PricingSource", func(t st) {

		t.Helper()
		resp, err := h.PricingSource().ListPlans(ctx(t), &pb.ListPlansRequest{})
		if err != nil {
			t.Fatalf("ListPlans: %v", err)
		}
		if len(resp.GetPlans()) == 0 {
			t.Fatal("ListPlans: no plans")
		}
		for _, p := range resp.GetPlans() {
			if p.GetProvider() == "" || p.GetPlanId() == "" {
				t.Errorf("plan %v: provider and plan_id are required", p)
			}
			if m := p.GetMonthlyPrice(); m.GetAmountMinor() < 0 || len(m.GetCurrency()) != 3 {
				t.Errorf("plan %s: monthly price %v must be >= 0 minor units in an ISO 4217 currency", p.GetPlanId(), m)
			}
		}
	})
}

// MonitorFixture is what the monitor suite needs.
type MonitorFixture struct {
	Known   *pb.GetServerStatsRequest
	Unknown *pb.GetServerStatsRequest
}

// Monitor runs the monitor suite: a known server has stats with players
// <= max players; an unknown one is NotFound.
func Monitor(t *testing.T, h *plugintest.Harness, f MonitorFixture) {
	t.Helper()
	on(t, "monitor").requireKind(h, sdk.KindMonitor)
	Plugin(t, h)
	on(t, "monitor").run("Monitor", func(t st) {

		t.Helper()
		c := ctx(t)
		s, err := h.Monitor().GetServerStats(c, f.Known)
		if err != nil {
			t.Fatalf("GetServerStats: %v", err)
		}
		if s.GetStatus() == "" || s.GetPlayers() < 0 || (s.GetMaxPlayers() > 0 && s.GetPlayers() > s.GetMaxPlayers()) {
			t.Errorf("GetServerStats: implausible stats %v", s)
		}
		_, err = h.Monitor().GetServerStats(c, f.Unknown)
		t.wantKind("GetServerStats of an unknown server", err, sdk.NotFound)
	})
}

// Assistant runs the assistant suite: an answer is either text or an
// escalation with a reason.
func Assistant(t *testing.T, h *plugintest.Harness, question *pb.AnswerRequest) {
	t.Helper()
	on(t, "assistant").requireKind(h, sdk.KindAssistant)
	Plugin(t, h)
	on(t, "assistant").run("Assistant", func(t st) {

		t.Helper()
		a, err := h.Assistant().Answer(ctx(t), question)
		if err != nil {
			t.Fatalf("Answer: %v", err)
		}
		if a.GetEscalate() && a.GetReason() == "" {
			t.Error("Answer: escalate without a reason")
		}
		if !a.GetEscalate() && a.GetAnswer() == "" {
			t.Error("Answer: neither an answer nor an escalation")
		}
	})
}

// CommunityFixture is what the community suite needs.
type CommunityFixture struct {
	AccountID      string
	UserExternalID string
	Roles          []string
}

// Community runs the community suite: an invite is created (and refused
// without a key), linking works, and SyncRoles is idempotent: a second sync
// with the same roles changes nothing.
func Community(t *testing.T, h *plugintest.Harness, f CommunityFixture) {
	t.Helper()
	on(t, "community").requireKind(h, sdk.KindCommunity)
	Plugin(t, h)
	on(t, "community").run("Community", func(t st) {

		t.Helper()
		c := ctx(t)
		cm := h.Community()
		_, err := cm.CreateInvite(c, &pb.CreateInviteRequest{AccountId: f.AccountID})
		t.wantKind("CreateInvite without idempotency_key", err, sdk.InvalidInput)
		inv, err := cm.CreateInvite(c, &pb.CreateInviteRequest{AccountId: f.AccountID, IdempotencyKey: "conformance-invite"})
		if err != nil || inv.GetUrl() == "" {
			t.Fatalf("CreateInvite: %v (url %q)", err, inv.GetUrl())
		}
		if _, err := cm.LinkUser(c, &pb.LinkUserRequest{AccountId: f.AccountID, UserExternalId: f.UserExternalID}); err != nil {
			t.Fatalf("LinkUser: %v", err)
		}
		if _, err := cm.SyncRoles(c, &pb.SyncRolesRequest{UserExternalId: f.UserExternalID, DesiredRoles: f.Roles}); err != nil {
			t.Fatalf("SyncRoles: %v", err)
		}
		again, err := cm.SyncRoles(c, &pb.SyncRolesRequest{UserExternalId: f.UserExternalID, DesiredRoles: f.Roles})
		if err != nil {
			t.Fatalf("SyncRoles again: %v", err)
		}
		if len(again.GetAdded())+len(again.GetRemoved()) != 0 {
			t.Errorf("SyncRoles with unchanged roles changed something: %v", again)
		}
	})
}
