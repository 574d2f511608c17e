package conformance

import (
	"net/url"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

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
	// Known is a server the provider lists; Unknown is one it does not.
	Known   *pb.GetServerStatsRequest
	Unknown *pb.GetServerStatsRequest
	// HistoryStart and HistoryStop bound the player history the suite reads
	// of Known when the plugin has capability monitor.player_history; zero
	// means the last 24 hours.
	HistoryStart, HistoryStop time.Time
}

// Monitor runs the monitor suite: a known server has stats with a status,
// players <= max players, a provider id that reads the same server again,
// and absolute listing and banner URLs; an unknown one is NotFound; a
// request naming no server is InvalidInput. With monitor.player_history the
// history of the known server lies between start and stop with min <=
// value <= max, and a start after stop is InvalidInput; without it the call
// answers NotSupported.
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
		if s.GetProviderServerId() == "" {
			t.Errorf("GetServerStats: no provider_server_id in %v", s)
		}
		for name, v := range map[string]string{"listing_url": s.GetListingUrl(), "banner_url": s.GetBannerUrl()} {
			if u, err := url.Parse(v); v != "" && (err != nil || !u.IsAbs()) {
				t.Errorf("GetServerStats: %s %q is not an absolute URL", name, v)
			}
		}
		again, err := h.Monitor().GetServerStats(c, &pb.GetServerStatsRequest{ProviderServerId: s.GetProviderServerId(), Game: f.Known.GetGame()})
		if err != nil || again.GetProviderServerId() != s.GetProviderServerId() {
			t.Errorf("GetServerStats by provider_server_id %q: %v, %v; want the same server", s.GetProviderServerId(), again, err)
		}
		_, err = h.Monitor().GetServerStats(c, f.Unknown)
		t.wantKind("GetServerStats of an unknown server", err, sdk.NotFound)
		_, err = h.Monitor().GetServerStats(c, &pb.GetServerStatsRequest{})
		t.wantKind("GetServerStats naming no server", err, sdk.InvalidInput)
	})
	on(t, "monitor").run("PlayerHistory", func(t st) {
		t.Helper()
		c := ctx(t)
		start, stop := f.HistoryStart, f.HistoryStop
		if start.IsZero() || stop.IsZero() {
			stop = time.Now()
			start = stop.Add(-24 * time.Hour)
		}
		req := &pb.GetPlayerHistoryRequest{Address: f.Known.GetAddress(), Port: f.Known.GetPort(), Game: f.Known.GetGame(),
			ProviderServerId: f.Known.GetProviderServerId(), Start: timestamppb.New(start), Stop: timestamppb.New(stop), ResolutionMinutes: 60}
		if !h.HasCapability(sdk.CapPlayerHistory) {
			_, err := h.Monitor().GetPlayerHistory(c, req)
			t.wantKind("GetPlayerHistory without capability "+string(sdk.CapPlayerHistory), err, sdk.NotSupported)
			return
		}
		got, err := h.Monitor().GetPlayerHistory(c, req)
		if err != nil {
			t.Fatalf("GetPlayerHistory: %v", err)
		}
		for _, p := range got.GetPoints() {
			at := p.GetTimestamp().AsTime()
			if at.Before(start.Truncate(time.Hour)) || at.After(stop) || p.GetMin() > p.GetValue() || p.GetValue() > p.GetMax() || p.GetMin() < 0 {
				t.Errorf("GetPlayerHistory: point %v outside [%s, %s] or not min <= value <= max", p, start, stop)
			}
		}
		bad := &pb.GetPlayerHistoryRequest{Address: req.Address, Port: req.Port, Game: req.Game, ProviderServerId: req.ProviderServerId,
			Start: req.Stop, Stop: req.Start}
		_, err = h.Monitor().GetPlayerHistory(c, bad)
		t.wantKind("GetPlayerHistory with start after stop", err, sdk.InvalidInput)
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
