package main

import (
	"encoding/json"
	"errors"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/testing/protocmp"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/ezscale/platform/plugins/discord/fakediscord"
	"github.com/ezscale/platform/sdk"
	"github.com/ezscale/platform/sdk/conformance"
	"github.com/ezscale/platform/sdk/plugintest"
	pb "github.com/ezscale/platform/sdk/pluginv1"
)

const botToken = "MTEwMDAwMDAwMDAwMDAwMDAwMA.plugin.test-token"

type testBundle struct {
	fake      *fakediscord.Server
	serverURL string
	h         *plugintest.Harness
	guildID   string
	channelID string
	roles     map[string]string // name → id
	other     string            // a role the plugin does not manage
	userID    string
	webhook   fakediscord.Webhook
}

// setup serves a fake Discord with a guild (an invite channel, three managed
// roles and one unmanaged, a member holding "vps" and the unmanaged role, a
// webhook) and the plugin configured against it in a plugintest harness.
// overrides replace config values; a nil value removes the key.
func setup(t testing.TB, overrides map[string]any) *testBundle {
	t.Helper()
	return setupFake(t, fakediscord.Options{}, overrides)
}

// setupFake is setup with the fake's options (rate limits) chosen.
func setupFake(t testing.TB, opts fakediscord.Options, overrides map[string]any) *testBundle {
	t.Helper()
	opts.BotToken = botToken
	fake := fakediscord.New(opts)
	srv := httptest.NewServer(fake)
	t.Cleanup(srv.Close)
	b := &testBundle{fake: fake, serverURL: srv.URL, roles: map[string]string{}}
	b.guildID = fake.AddGuild("EZSCALE community")
	b.channelID = fake.AddChannel(b.guildID, "welcome")
	var roleList []string
	for _, name := range []string{"vps", "gaming", "vip"} {
		b.roles[name] = fake.AddRole(b.guildID, strings.ToUpper(name))
		roleList = append(roleList, name+"="+b.roles[name])
	}
	b.other = fake.AddRole(b.guildID, "Moderator")
	b.userID = "300000000000000001"
	fake.AddMember(b.guildID, b.userID, "customer", b.roles["vps"], b.other)
	b.webhook = fake.AddWebhook(b.channelID)

	cfg := map[string]any{
		"webhook_url":       b.webhook.URL(srv.URL),
		"bot_token":         botToken,
		"guild_id":          b.guildID,
		"invite_channel_id": b.channelID,
		"roles":             roleList,
		"api_base_url":      fakediscord.BaseURL(srv.URL),
	}
	for k, v := range overrides {
		if v == nil {
			delete(cfg, k)
		} else {
			cfg[k] = v
		}
	}
	b.h = plugintest.New(t, New(), plugintest.WithConfig(cfg))
	return b
}

func alert(key string) *pb.DeliverRequest {
	return &pb.DeliverRequest{IdempotencyKey: key, Channel: "discord", Recipient: "default",
		Subject: "Node fra-1 is down", TextBody: "No heartbeat for 5 minutes.", Category: "system"}
}

func TestNotifierConformance(t *testing.T) {
	t.Parallel()
	b := setup(t, nil)
	conformance.Notifier(t, b.h, conformance.NotifierFixture{
		Message: alert(""),
		Delivered: func(t *testing.T, req *pb.DeliverRequest, resp *pb.DeliverResponse) {
			for _, m := range b.fake.WebhookMessages() {
				if m.MessageID == resp.GetProviderMessageId() {
					return
				}
			}
			t.Errorf("message %q is not in the fake's webhook messages", resp.GetProviderMessageId())
		},
	})
}

func TestCommunityConformance(t *testing.T) {
	t.Parallel()
	b := setup(t, nil)
	conformance.Community(t, b.h, conformance.CommunityFixture{
		AccountID: "acc_1", UserExternalID: b.userID, Roles: []string{"gaming", "vip"},
	})
}

func TestDeliverRendersAnEmbedWithoutPings(t *testing.T) {
	t.Parallel()
	b := setup(t, map[string]any{"username": "EZSCALE alerts"})
	req := alert("k1")
	req.TextBody = "@everyone " + strings.Repeat("x", 5000)
	req.HtmlBody = "<p>ignored</p>"
	req.Category = "security"
	resp, err := b.h.Notifier().Deliver(t.Context(), req)
	if err != nil {
		t.Fatalf("Deliver: %v", err)
	}
	msgs := b.fake.WebhookMessages()
	if len(msgs) != 1 || msgs[0].MessageID != resp.GetProviderMessageId() {
		t.Fatalf("fake messages %+v, response %v", msgs, resp)
	}
	var body struct {
		Username        string         `json:"username"`
		Content         string         `json:"content"`
		AllowedMentions map[string]any `json:"allowed_mentions"`
		Embeds          []struct {
			Title       string `json:"title"`
			Description string `json:"description"`
			Color       int    `json:"color"`
			Footer      struct{ Text string }
		} `json:"embeds"`
	}
	if err := json.Unmarshal(msgs[0].Body, &body); err != nil {
		t.Fatal(err)
	}
	if len(body.Embeds) != 1 {
		t.Fatalf("embeds = %+v", body.Embeds)
	}
	e := body.Embeds[0]
	got := []any{body.Username, body.Content, body.AllowedMentions, e.Title, len([]rune(e.Description)),
		strings.HasSuffix(e.Description, "…"), e.Color, e.Footer.Text}
	want := []any{"EZSCALE alerts", "", map[string]any{"parse": []any{}}, "Node fra-1 is down", 4096, true, 0xE74C3C, "security"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestDeliverRecipients(t *testing.T) {
	t.Parallel()
	b := setup(t, nil)
	second := b.fake.AddWebhook(b.channelID)
	n := b.h.Notifier()

	req := alert("by-url")
	req.Recipient = second.URL(b.serverURL)
	if _, err := n.Deliver(t.Context(), req); err != nil {
		t.Fatalf("Deliver to a webhook URL: %v", err)
	}
	if msgs := b.fake.WebhookMessages(); len(msgs) != 1 || msgs[0].WebhookID != second.ID {
		t.Errorf("messages = %+v, want one through the second webhook", msgs)
	}
	for name, recipient := range map[string]string{
		"user id (DM)":  b.userID,
		"foreign host":  "https://evil.example/api/webhooks/1/token",
		"not a webhook": b.serverURL + "/api/channels/1",
	} {
		req := alert("bad-" + name)
		req.Recipient = recipient
		_, err := n.Deliver(t.Context(), req)
		if sdk.KindOf(err) != sdk.InvalidInput {
			t.Errorf("%s: got %v, want InvalidInput", name, err)
		}
	}
}

func TestDeliverErrors(t *testing.T) {
	t.Parallel()

	t.Run("deleted webhook is not found and not called again", func(t *testing.T) {
		t.Parallel()
		b := setup(t, nil)
		b.fake.DeleteWebhook(b.webhook.ID)
		for i := range 2 {
			_, err := b.h.Notifier().Deliver(t.Context(), alert("gone-"+string(rune('a'+i))))
			if sdk.KindOf(err) != sdk.NotFound {
				t.Fatalf("got %v, want NotFound", err)
			}
		}
		if n := b.fake.RequestCount(fakediscord.RouteExecuteWebhook); n != 1 {
			t.Errorf("%d webhook requests, want 1", n)
		}
	})

	t.Run("long rate limit is unavailable with retry-after", func(t *testing.T) {
		t.Parallel()
		b := setup(t, map[string]any{"max_rate_limit_wait": "1s"})
		b.fake.InjectFailure(fakediscord.RouteExecuteWebhook, fakediscord.Failure{Status: 429, RetryAfter: 30})
		start := time.Now()
		_, err := b.h.Notifier().Deliver(t.Context(), alert("limited"))
		if sdk.KindOf(err) != sdk.Unavailable || sdk.RetryAfterOf(err) < 29*time.Second {
			t.Fatalf("got %v (retry after %s), want Unavailable with about 30s", err, sdk.RetryAfterOf(err))
		}
		if d := time.Since(start); d > 2*time.Second {
			t.Errorf("took %s; should not wait beyond max_rate_limit_wait", d)
		}
		// The client remembers the limit: an early retry fails without a
		// request, so the bot does not pile up 429s towards a Cloudflare ban.
		if _, err := b.h.Notifier().Deliver(t.Context(), alert("limited")); sdk.KindOf(err) != sdk.Unavailable {
			t.Errorf("early retry: got %v, want Unavailable", err)
		}
		if n := b.fake.RequestCount(fakediscord.RouteExecuteWebhook); n != 1 {
			t.Errorf("%d webhook requests, want 1", n)
		}
	})

	t.Run("short rate limit is waited out", func(t *testing.T) {
		t.Parallel()
		b := setup(t, nil)
		b.fake.InjectFailure(fakediscord.RouteExecuteWebhook, fakediscord.Failure{Status: 429, RetryAfter: 0.2})
		if _, err := b.h.Notifier().Deliver(t.Context(), alert("short")); err != nil {
			t.Fatalf("Deliver: %v", err)
		}
	})

	t.Run("Discord outage is unavailable", func(t *testing.T) {
		t.Parallel()
		b := setup(t, nil)
		b.fake.InjectFailure(fakediscord.RouteExecuteWebhook, fakediscord.Failure{Status: 503, Message: "upstream connect error"})
		_, err := b.h.Notifier().Deliver(t.Context(), alert("outage"))
		if sdk.KindOf(err) != sdk.Unavailable || sdk.RetryAfterOf(err) <= 0 {
			t.Fatalf("got %v, want Unavailable with a retry hint", err)
		}
	})

	t.Run("empty message", func(t *testing.T) {
		t.Parallel()
		b := setup(t, nil)
		req := alert("empty")
		req.Subject, req.TextBody, req.HtmlBody = "", "", "<b>only html</b>"
		_, err := b.h.Notifier().Deliver(t.Context(), req)
		var e *sdk.Error
		if sdk.KindOf(err) != sdk.InvalidInput || !errors.As(err, &e) || e.Field != "text_body" {
			t.Fatalf("got %v, want InvalidInput on text_body", err)
		}
	})
}

func TestCreateInvite(t *testing.T) {
	t.Parallel()
	b := setup(t, nil)
	c := b.h.Community()
	before := time.Now()
	inv, err := c.CreateInvite(t.Context(), &pb.CreateInviteRequest{IdempotencyKey: "signup-42", AccountId: "acc_42"})
	if err != nil {
		t.Fatalf("CreateInvite: %v", err)
	}
	again, err := c.CreateInvite(t.Context(), &pb.CreateInviteRequest{IdempotencyKey: "signup-42", AccountId: "acc_42"})
	if err != nil {
		t.Fatalf("CreateInvite again: %v", err)
	}
	if diff := cmp.Diff(inv, again, protocmp.Transform()); diff != "" {
		t.Errorf("same key, other invite (-first +second):\n%s", diff)
	}
	if inv.GetUrl() != "https://discord.gg/"+inv.GetCode() {
		t.Errorf("url %q code %q", inv.GetUrl(), inv.GetCode())
	}
	if exp := inv.GetExpiresAt().AsTime(); exp.Before(before.Add(24*time.Hour-time.Minute)) || exp.After(before.Add(24*time.Hour+time.Minute)) {
		t.Errorf("expires at %v, want 24 h from now", exp)
	}
	want := []fakediscord.Invite{{Code: inv.GetCode(), ChannelID: b.channelID, MaxAge: 86400, MaxUses: 1,
		Reason: "EZSCALE invite for account acc_42"}}
	if diff := cmp.Diff(want, b.fake.Invites()); diff != "" {
		t.Errorf("fake invites (-want +got):\n%s", diff)
	}

	short, err := c.CreateInvite(t.Context(), &pb.CreateInviteRequest{IdempotencyKey: "short", AccountId: "acc_42",
		MaxAge: durationpb.New(90 * time.Minute)})
	if err != nil || short.GetCode() == inv.GetCode() {
		t.Fatalf("CreateInvite with max_age: %v, %v", short, err)
	}
	if got := b.fake.Invites()[1].MaxAge; got != 5400 {
		t.Errorf("max_age %d, want 5400", got)
	}
	_, err = c.CreateInvite(t.Context(), &pb.CreateInviteRequest{IdempotencyKey: "forever", AccountId: "acc_42",
		MaxAge: durationpb.New(30 * 24 * time.Hour)})
	if sdk.KindOf(err) != sdk.InvalidInput {
		t.Errorf("30-day invite: got %v, want InvalidInput", err)
	}
}

func TestSyncRoles(t *testing.T) {
	t.Parallel()
	b := setup(t, nil)
	c := b.h.Community()

	res, err := c.SyncRoles(t.Context(), &pb.SyncRolesRequest{UserExternalId: b.userID, DesiredRoles: []string{"vip", "gaming", "vip"}})
	if err != nil {
		t.Fatalf("SyncRoles: %v", err)
	}
	want := &pb.SyncRolesResponse{Added: []string{"gaming", "vip"}, Removed: []string{"vps"}}
	if diff := cmp.Diff(want, res, protocmp.Transform()); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	got, _ := b.fake.MemberRoles(b.guildID, b.userID)
	wantRoles := []string{b.roles["gaming"], b.roles["vip"], b.other}
	if diff := cmp.Diff(slices.Sorted(slices.Values(wantRoles)), got); diff != "" {
		t.Errorf("member roles (-want +got); the unmanaged role must stay:\n%s", diff)
	}
	writes := b.fake.RequestCount(fakediscord.RouteAddMemberRole) + b.fake.RequestCount(fakediscord.RouteRemoveMemberRole)

	res, err = c.SyncRoles(t.Context(), &pb.SyncRolesRequest{UserExternalId: b.userID, DesiredRoles: []string{"gaming", "vip"}})
	if err != nil || len(res.GetAdded())+len(res.GetRemoved()) != 0 {
		t.Errorf("second sync: %v, %v; want no change", res, err)
	}
	if n := b.fake.RequestCount(fakediscord.RouteAddMemberRole) + b.fake.RequestCount(fakediscord.RouteRemoveMemberRole); n != writes {
		t.Errorf("second sync made %d role calls", n-writes)
	}

	res, err = c.SyncRoles(t.Context(), &pb.SyncRolesRequest{UserExternalId: b.userID})
	if err != nil || len(res.GetRemoved()) != 2 {
		t.Errorf("sync to no roles: %v, %v", res, err)
	}
}

func TestCommunityErrors(t *testing.T) {
	t.Parallel()
	b := setup(t, nil)
	c := b.h.Community()
	ctx := t.Context()
	webhookOnly := setup(t, map[string]any{"bot_token": nil, "guild_id": nil, "invite_channel_id": nil, "roles": nil}).h.Community()
	denied := setup(t, nil)
	denied.fake.DenyPermission(denied.guildID, fakediscord.PermManageRoles)

	tests := []struct {
		name string
		err  error
		want sdk.ErrorKind
	}{
		{"unknown role", func() error {
			_, err := c.SyncRoles(ctx, &pb.SyncRolesRequest{UserExternalId: b.userID, DesiredRoles: []string{"admin"}})
			return err
		}(), sdk.InvalidInput},
		{"not a user id", func() error {
			_, err := c.SyncRoles(ctx, &pb.SyncRolesRequest{UserExternalId: "someone#1234"})
			return err
		}(), sdk.InvalidInput},
		{"sync a non-member", func() error {
			_, err := c.SyncRoles(ctx, &pb.SyncRolesRequest{UserExternalId: "399999999999999999", DesiredRoles: []string{"vip"}})
			return err
		}(), sdk.NotFound},
		{"link a non-member", func() error {
			_, err := c.LinkUser(ctx, &pb.LinkUserRequest{AccountId: "acc_1", UserExternalId: "399999999999999999"})
			return err
		}(), sdk.NotFound},
		{"bot lacks MANAGE_ROLES", func() error {
			_, err := denied.h.Community().SyncRoles(ctx, &pb.SyncRolesRequest{UserExternalId: denied.userID, DesiredRoles: []string{"vip"}})
			return err
		}(), sdk.Unauthenticated},
		{"no bot configured", func() error {
			_, err := webhookOnly.CreateInvite(ctx, &pb.CreateInviteRequest{IdempotencyKey: "k", AccountId: "acc_1"})
			return err
		}(), sdk.NotSupported},
	}
	for _, tt := range tests {
		if got := sdk.KindOf(tt.err); got != tt.want {
			t.Errorf("%s: got %v (%v), want %s", tt.name, got, tt.err, tt.want)
		}
	}
}

func TestLinkUser(t *testing.T) {
	t.Parallel()
	b := setup(t, nil)
	res, err := b.h.Community().LinkUser(t.Context(), &pb.LinkUserRequest{AccountId: "acc_1", UserExternalId: b.userID})
	if err != nil || res.GetDisplayName() != "customer" {
		t.Fatalf("LinkUser = %v, %v; want display name \"customer\"", res, err)
	}
}

func TestValidateConfig(t *testing.T) {
	t.Parallel()
	b := setup(t, nil)
	tests := []struct {
		name   string
		cfg    map[string]any
		fields []string
	}{
		{"nothing configured", map[string]any{}, []string{""}},
		{"webhook only", map[string]any{"webhook_url": "https://discord.com/api/webhooks/1/abc"}, nil},
		{"bad webhook", map[string]any{"webhook_url": "https://discord.com/channels/1"}, []string{"webhook_url"}},
		{"half a bot", map[string]any{"bot_token": "t", "guild_id": "1"}, []string{"invite_channel_id"}},
		{"bad ids and roles", map[string]any{"bot_token": "t", "guild_id": "g", "invite_channel_id": "2",
			"roles": []any{"vps=1", "VIP=2", "gaming", "vps=3"}}, []string{"guild_id", "roles", "roles", "roles"}},
		{"username Discord refuses", map[string]any{"webhook_url": "https://discord.com/api/webhooks/1/abc", "username": "Discord Bot"},
			[]string{"username"}},
		{"invite too long", map[string]any{"webhook_url": "https://discord.com/api/webhooks/1/abc", "invite_max_age": "720h"},
			[]string{"invite_max_age"}},
	}
	for _, tt := range tests {
		diags, err := b.h.Plugin().ValidateConfig(t.Context(), tt.cfg)
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		var got []string
		for _, d := range diags {
			got = append(got, d.Field)
		}
		if diff := cmp.Diff(tt.fields, got); diff != "" {
			t.Errorf("%s: fields (-want +got):\n%s\n%v", tt.name, diff, diags)
		}
	}
}
