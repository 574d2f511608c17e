package discordapi_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/ezscale/platform/plugins/discord/discordapi"
	"github.com/ezscale/platform/plugins/discord/fakediscord"
)

const testToken = "MTEwMDAwMDAwMDAwMDAwMDAwMA.fake.bot-token"

type testBundle struct {
	fake      *fakediscord.Server
	serverURL string
	client    *discordapi.Client
	guildID   string
	channelID string
	roleVPS   string
	roleVIP   string
	userID    string
	webhook   fakediscord.Webhook
}

// setup serves a fake with one guild (a channel, two roles, a member holding
// the VPS role, a webhook) and a client pointed at it; opts and cfg override
// the defaults.
func setup(t *testing.T, opts fakediscord.Options, cfg discordapi.Config) *testBundle {
	t.Helper()
	if opts.BotToken == "" {
		opts.BotToken = testToken
	}
	fake := fakediscord.New(opts)
	srv := httptest.NewServer(fake)
	t.Cleanup(srv.Close)

	b := &testBundle{fake: fake, serverURL: srv.URL}
	b.guildID = fake.AddGuild("EZSCALE")
	b.channelID = fake.AddChannel(b.guildID, "welcome")
	b.roleVPS = fake.AddRole(b.guildID, "VPS")
	b.roleVIP = fake.AddRole(b.guildID, "VIP")
	b.userID = "200000000000000001"
	fake.AddMember(b.guildID, b.userID, "customer", b.roleVPS)
	b.webhook = fake.AddWebhook(b.channelID)

	if cfg.BaseURL == "" {
		cfg.BaseURL = fakediscord.BaseURL(srv.URL)
	}
	if cfg.BotToken == "" {
		cfg.BotToken = testToken
	}
	client, err := discordapi.New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	b.client = client
	return b
}

func singleUse() discordapi.InviteParams {
	return discordapi.InviteParams{MaxAge: 86400, MaxUses: 1, Unique: true}
}

func TestCreateChannelInvite(t *testing.T) {
	t.Parallel()
	b := setup(t, fakediscord.Options{}, discordapi.Config{})

	before := time.Now()
	inv, err := b.client.CreateChannelInvite(context.Background(), b.channelID, singleUse(), "signup of account 42 (é)")
	if err != nil {
		t.Fatalf("CreateChannelInvite: %v", err)
	}
	if inv.Code == "" || inv.URL() != "https://discord.gg/"+inv.Code {
		t.Errorf("invite code %q, URL %q", inv.Code, inv.URL())
	}
	if diff := cmp.Diff([]any{1, 86400, 0, false, b.channelID, b.guildID},
		[]any{inv.MaxUses, inv.MaxAge, inv.Uses, inv.Temporary, inv.Channel.ID, inv.Guild.ID}); diff != "" {
		t.Errorf("invite fields (-want +got):\n%s", diff)
	}
	if inv.ExpiresAt == nil || inv.ExpiresAt.Before(before.Add(24*time.Hour-time.Minute)) {
		t.Errorf("expires_at %v, want about 24 h from now", inv.ExpiresAt)
	}
	want := []fakediscord.Invite{{Code: inv.Code, ChannelID: b.channelID, MaxAge: 86400, MaxUses: 1,
		Reason: "signup of account 42 (é)"}}
	if diff := cmp.Diff(want, b.fake.Invites()); diff != "" {
		t.Errorf("fake invites (-want +got):\n%s", diff)
	}

	reqs := b.fake.Requests()
	if len(reqs) != 1 {
		t.Fatalf("got %d requests, want 1", len(reqs))
	}
	gotHeaders := map[string]string{
		"Authorization": reqs[0].Header.Get("Authorization"),
		"User-Agent":    reqs[0].Header.Get("User-Agent"),
		"Content-Type":  reqs[0].Header.Get("Content-Type"),
	}
	wantHeaders := map[string]string{
		"Authorization": "Bot " + testToken,
		"User-Agent":    "DiscordBot (https://github.com/ezscale/platform, 1.0.0)",
		"Content-Type":  "application/json",
	}
	if diff := cmp.Diff(wantHeaders, gotHeaders); diff != "" {
		t.Errorf("request headers (-want +got):\n%s", diff)
	}

	// Two unique invites are two invites.
	inv2, err := b.client.CreateChannelInvite(context.Background(), b.channelID, singleUse(), "")
	if err != nil {
		t.Fatalf("second CreateChannelInvite: %v", err)
	}
	if inv2.Code == inv.Code {
		t.Errorf("unique invite reused code %q", inv.Code)
	}
}

func TestAPIErrors(t *testing.T) {
	t.Parallel()
	b := setup(t, fakediscord.Options{}, discordapi.Config{})
	otherGuild := b.fake.AddGuild("locked")
	otherChannel := b.fake.AddChannel(otherGuild, "general")
	otherRole := b.fake.AddRole(otherGuild, "VPS")
	b.fake.AddMember(otherGuild, b.userID, "customer")
	b.fake.DenyPermission(otherGuild, fakediscord.PermManageRoles)
	b.fake.DenyPermission(otherGuild, fakediscord.PermCreateInstantInvite)
	ctx := context.Background()
	badToken, err := discordapi.New(discordapi.Config{BaseURL: fakediscord.BaseURL(b.serverURL), BotToken: "wrong"})
	if err != nil {
		t.Fatal(err)
	}
	const unknown = "999999999999999999"

	tests := []struct {
		name string
		call func() error
		want discordapi.APIError
	}{
		{"unknown channel", func() error {
			_, err := b.client.CreateChannelInvite(ctx, unknown, singleUse(), "")
			return err
		}, discordapi.APIError{Route: "POST /channels/{channel.id}/invites", StatusCode: 404, Code: 10003, Message: "Unknown Channel"}},
		{"missing invite permission", func() error {
			_, err := b.client.CreateChannelInvite(ctx, otherChannel, singleUse(), "")
			return err
		}, discordapi.APIError{Route: "POST /channels/{channel.id}/invites", StatusCode: 403, Code: 50013, Message: "Missing Permissions"}},
		{"bad token", func() error {
			_, err := badToken.CreateChannelInvite(ctx, b.channelID, singleUse(), "")
			return err
		}, discordapi.APIError{Route: "POST /channels/{channel.id}/invites", StatusCode: 401, Code: 0, Message: "401: Unauthorized"}},
		{"unknown guild", func() error {
			_, err := b.client.GetGuildMember(ctx, unknown, b.userID)
			return err
		}, discordapi.APIError{Route: "GET /guilds/{guild.id}/members/{user.id}", StatusCode: 404, Code: 10004, Message: "Unknown Guild"}},
		{"unknown member", func() error {
			_, err := b.client.GetGuildMember(ctx, b.guildID, unknown)
			return err
		}, discordapi.APIError{Route: "GET /guilds/{guild.id}/members/{user.id}", StatusCode: 404, Code: 10007, Message: "Unknown Member"}},
		{"unknown role", func() error {
			return b.client.AddGuildMemberRole(ctx, b.guildID, b.userID, unknown, "")
		}, discordapi.APIError{Route: "PUT /guilds/{guild.id}/members/{user.id}/roles/{role.id}", StatusCode: 404, Code: 10011, Message: "Unknown Role"}},
		{"missing manage roles", func() error {
			return b.client.RemoveGuildMemberRole(ctx, otherGuild, b.userID, otherRole, "")
		}, discordapi.APIError{Route: "DELETE /guilds/{guild.id}/members/{user.id}/roles/{role.id}", StatusCode: 403, Code: 50013, Message: "Missing Permissions"}},
		{"empty webhook message", func() error {
			_, err := b.client.ExecuteWebhook(ctx, b.webhook.URL(b.serverURL), discordapi.WebhookMessage{}, false)
			return err
		}, discordapi.APIError{Route: "POST /webhooks/{webhook.id}/{webhook.token}", StatusCode: 400, Code: 50006, Message: "Cannot send an empty message"}},
		{"invalid webhook token", func() error {
			wrong := fakediscord.Webhook{ID: b.webhook.ID, Token: "not-the-token"}
			_, err := b.client.ExecuteWebhook(ctx, wrong.URL(b.serverURL), discordapi.WebhookMessage{Content: "hi"}, false)
			return err
		}, discordapi.APIError{Route: "POST /webhooks/{webhook.id}/{webhook.token}", StatusCode: 401, Code: 50027, Message: "Invalid Webhook Token"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var apiErr *discordapi.APIError
			if err := tt.call(); !errors.As(err, &apiErr) {
				t.Fatalf("got %v, want *APIError", err)
			}
			if diff := cmp.Diff(tt.want, *apiErr); diff != "" {
				t.Errorf("APIError (-want +got):\n%s", diff)
			}
		})
	}
}

func TestInvalidFormBody(t *testing.T) {
	t.Parallel()
	b := setup(t, fakediscord.Options{}, discordapi.Config{})
	_, err := b.client.CreateChannelInvite(context.Background(), b.channelID, discordapi.InviteParams{MaxAge: 700000}, "")
	if !discordapi.HasCode(err, discordapi.CodeInvalidFormBody) {
		t.Fatalf("got %v, want code 50035", err)
	}
	var apiErr *discordapi.APIError
	errors.As(err, &apiErr)
	var fields map[string]struct {
		Errors []struct{ Code, Message string } `json:"_errors"`
	}
	if err := json.Unmarshal(apiErr.Errors, &fields); err != nil {
		t.Fatalf("decoding errors %s: %v", apiErr.Errors, err)
	}
	if got := fields["max_age"].Errors; len(got) != 1 || got[0].Code != "NUMBER_TYPE_MAX" {
		t.Errorf("max_age errors = %+v", got)
	}
}

func TestMemberRoles(t *testing.T) {
	t.Parallel()
	b := setup(t, fakediscord.Options{}, discordapi.Config{})
	ctx := context.Background()

	m, err := b.client.GetGuildMember(ctx, b.guildID, b.userID)
	if err != nil {
		t.Fatalf("GetGuildMember: %v", err)
	}
	if diff := cmp.Diff([]string{b.roleVPS}, m.Roles); diff != "" {
		t.Errorf("roles (-want +got):\n%s", diff)
	}
	if m.User == nil || m.User.ID != b.userID || m.JoinedAt.IsZero() {
		t.Errorf("member = %+v", m)
	}
	// Adding twice and removing a role the member lacks are both fine.
	for range 2 {
		if err := b.client.AddGuildMemberRole(ctx, b.guildID, b.userID, b.roleVIP, "vip"); err != nil {
			t.Fatalf("AddGuildMemberRole: %v", err)
		}
	}
	if err := b.client.RemoveGuildMemberRole(ctx, b.guildID, b.userID, b.roleVPS, ""); err != nil {
		t.Fatalf("RemoveGuildMemberRole: %v", err)
	}
	if err := b.client.RemoveGuildMemberRole(ctx, b.guildID, b.userID, b.roleVPS, ""); err != nil {
		t.Fatalf("second RemoveGuildMemberRole: %v", err)
	}
	got, _ := b.fake.MemberRoles(b.guildID, b.userID)
	if diff := cmp.Diff([]string{b.roleVIP}, got); diff != "" {
		t.Errorf("roles after sync (-want +got):\n%s", diff)
	}
}

func TestRefusedBeforeSending(t *testing.T) {
	t.Parallel()
	b := setup(t, fakediscord.Options{}, discordapi.Config{})
	noToken, err := discordapi.New(discordapi.Config{BaseURL: fakediscord.BaseURL(b.serverURL), BotToken: ""})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	tests := []struct {
		name string
		err  error
		want error
	}{
		{"path injection in id", b.client.AddGuildMemberRole(ctx, b.guildID, "../../channels/1", b.roleVIP, ""), discordapi.ErrInvalidID},
		{"empty id", func() error { _, err := b.client.GetGuildMember(ctx, "", b.userID); return err }(), discordapi.ErrInvalidID},
		{"no bot token", func() error { _, err := noToken.GetGuildMember(ctx, b.guildID, b.userID); return err }(), discordapi.ErrNoBotToken},
		{"not a webhook URL", func() error {
			_, err := b.client.ExecuteWebhook(ctx, b.serverURL+"/api/channels/1/messages", discordapi.WebhookMessage{Content: "x"}, false)
			return err
		}(), discordapi.ErrInvalidWebhookURL},
	}
	for _, tt := range tests {
		if !errors.Is(tt.err, tt.want) {
			t.Errorf("%s: got %v, want %v", tt.name, tt.err, tt.want)
		}
	}
	if n := len(b.fake.Requests()); n != 0 {
		t.Errorf("fake got %d requests, want none", n)
	}
}

func TestExecuteWebhook(t *testing.T) {
	t.Parallel()
	b := setup(t, fakediscord.Options{}, discordapi.Config{})
	ctx := context.Background()
	url := b.webhook.URL(b.serverURL)

	msg := discordapi.WebhookMessage{
		Content:         "Node fra-1 is down @everyone",
		Username:        "EZSCALE alerts",
		Embeds:          []discordapi.Embed{{Title: "fra-1", Description: "no heartbeat for 5 minutes", Color: 0xE74C3C}},
		AllowedMentions: discordapi.NoMentions(),
	}
	got, err := b.client.ExecuteWebhook(ctx, url, msg, true)
	if err != nil {
		t.Fatalf("ExecuteWebhook wait: %v", err)
	}
	if got == nil || got.ID == "" || got.ChannelID != b.channelID || got.Content != msg.Content || len(got.Embeds) != 1 {
		t.Errorf("message = %+v", got)
	}
	none, err := b.client.ExecuteWebhook(ctx, url, discordapi.WebhookMessage{Content: "second"}, false)
	if err != nil || none != nil {
		t.Fatalf("ExecuteWebhook without wait = %v, %v; want nil, nil", none, err)
	}

	delivered := b.fake.WebhookMessages()
	if len(delivered) != 2 {
		t.Fatalf("fake has %d messages, want 2", len(delivered))
	}
	var body map[string]any
	if err := json.Unmarshal(delivered[0].Body, &body); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(map[string]any{"parse": []any{}}, body["allowed_mentions"]); diff != "" {
		t.Errorf("allowed_mentions (-want +got):\n%s", diff)
	}
	for _, r := range b.fake.Requests() {
		if auth := r.Header.Get("Authorization"); auth != "" {
			t.Errorf("webhook request sent Authorization %q; the URL token is the credential", auth)
		}
	}
}

func TestDeletedWebhookIsNotRetried(t *testing.T) {
	t.Parallel()
	b := setup(t, fakediscord.Options{}, discordapi.Config{})
	b.fake.DeleteWebhook(b.webhook.ID)
	url := b.webhook.URL(b.serverURL)

	for i := range 3 {
		_, err := b.client.ExecuteWebhook(context.Background(), url, discordapi.WebhookMessage{Content: "hi"}, false)
		if !discordapi.IsNotFound(err) || !discordapi.HasCode(err, discordapi.CodeUnknownWebhook) {
			t.Fatalf("call %d: got %v, want 404 Unknown Webhook", i, err)
		}
	}
	if n := b.fake.RequestCount(fakediscord.RouteExecuteWebhook); n != 1 {
		t.Errorf("fake got %d webhook requests, want 1: a 404 webhook must not be called again", n)
	}
}

func TestServerErrorsAreNotRetried(t *testing.T) {
	t.Parallel()
	b := setup(t, fakediscord.Options{}, discordapi.Config{})
	b.fake.InjectFailure(fakediscord.RouteExecuteWebhook, fakediscord.Failure{Status: 502, Message: "Bad Gateway"})
	_, err := b.client.ExecuteWebhook(context.Background(), b.webhook.URL(b.serverURL), discordapi.WebhookMessage{Content: "hi"}, false)
	var apiErr *discordapi.APIError
	if !errors.As(err, &apiErr) || apiErr.StatusCode != 502 {
		t.Fatalf("got %v, want a 502 *APIError", err)
	}
	if n := b.fake.RequestCount(fakediscord.RouteExecuteWebhook); n != 1 {
		t.Errorf("fake got %d requests, want 1", n)
	}
}

func TestTokenNeverInErrors(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.NotFoundHandler())
	srv.Close() // connection refused from here on
	client, err := discordapi.New(discordapi.Config{BaseURL: srv.URL + "/api/v10", BotToken: testToken})
	if err != nil {
		t.Fatal(err)
	}
	webhookToken := "secret-webhook-token-value"
	_, err = client.ExecuteWebhook(context.Background(), srv.URL+"/api/webhooks/123/"+webhookToken, discordapi.WebhookMessage{Content: "x"}, false)
	if err == nil || strings.Contains(err.Error(), webhookToken) {
		t.Errorf("error %q is nil or contains the webhook token", err)
	}
}

func statuses(reqs []fakediscord.Request, route string) []int {
	var out []int
	for _, r := range reqs {
		if r.Route == route {
			out = append(out, r.Status)
		}
	}
	return out
}

func TestWaitsWhenBucketExhausted(t *testing.T) {
	t.Parallel()
	const window = 800 * time.Millisecond
	b := setup(t, fakediscord.Options{BucketLimit: 2, BucketWindow: window}, discordapi.Config{})
	ctx := context.Background()
	otherChannel := b.fake.AddChannel(b.guildID, "other")

	start := time.Now()
	for i := range 3 {
		if _, err := b.client.CreateChannelInvite(ctx, b.channelID, singleUse(), ""); err != nil {
			t.Fatalf("invite %d: %v", i, err)
		}
		if i == 1 {
			// The bucket is now empty for this channel only: another
			// channel (another major parameter) goes straight through.
			t0 := time.Now()
			if _, err := b.client.CreateChannelInvite(ctx, otherChannel, singleUse(), ""); err != nil {
				t.Fatalf("other channel: %v", err)
			}
			if d := time.Since(t0); d > window/2 {
				t.Errorf("other channel waited %s; buckets are per channel", d)
			}
		}
	}
	if d := time.Since(start); d < window*3/4 {
		t.Errorf("three calls on a 2-per-%s bucket took %s; the third should have waited", window, d)
	}
	if diff := cmp.Diff([]int{200, 200, 200, 200}, statuses(b.fake.Requests(), fakediscord.RouteCreateInvite)); diff != "" {
		t.Errorf("statuses (-want +got), want no 429:\n%s", diff)
	}
}

func TestRetriesAfter429(t *testing.T) {
	t.Parallel()
	b := setup(t, fakediscord.Options{}, discordapi.Config{})
	b.fake.InjectFailure(fakediscord.RouteAddMemberRole, fakediscord.Failure{Status: 429, RetryAfter: 0.25})

	start := time.Now()
	if err := b.client.AddGuildMemberRole(context.Background(), b.guildID, b.userID, b.roleVIP, ""); err != nil {
		t.Fatalf("AddGuildMemberRole: %v", err)
	}
	if d := time.Since(start); d < 250*time.Millisecond {
		t.Errorf("retried after %s, before retry_after", d)
	}
	if diff := cmp.Diff([]int{429, 204}, statuses(b.fake.Requests(), fakediscord.RouteAddMemberRole)); diff != "" {
		t.Errorf("statuses (-want +got):\n%s", diff)
	}
}

func TestGlobal429PausesEveryRoute(t *testing.T) {
	t.Parallel()
	b := setup(t, fakediscord.Options{}, discordapi.Config{MaxRetries: -1})
	b.fake.InjectFailure(fakediscord.RouteCreateInvite, fakediscord.Failure{Status: 429, RetryAfter: 0.3, Global: true})
	ctx := context.Background()

	_, err := b.client.CreateChannelInvite(ctx, b.channelID, singleUse(), "")
	var rl *discordapi.RateLimitError
	if !errors.As(err, &rl) || !rl.Global || rl.Scope != "global" || rl.RetryAfter != 300*time.Millisecond {
		t.Fatalf("got %#v, want a global *RateLimitError of 300ms", err)
	}
	start := time.Now()
	if _, err := b.client.GetGuildMember(ctx, b.guildID, b.userID); err != nil {
		t.Fatalf("GetGuildMember: %v", err)
	}
	if d := time.Since(start); d < 200*time.Millisecond {
		t.Errorf("another route went after %s; a global 429 pauses every route", d)
	}
}

func TestBoundedWaiting(t *testing.T) {
	t.Parallel()
	ctx := context.Background()

	t.Run("longer than MaxWait", func(t *testing.T) {
		t.Parallel()
		b := setup(t, fakediscord.Options{}, discordapi.Config{MaxWait: time.Second})
		b.fake.InjectFailure(fakediscord.RouteCreateInvite, fakediscord.Failure{Status: 429, RetryAfter: 5})
		start := time.Now()
		_, err := b.client.CreateChannelInvite(ctx, b.channelID, singleUse(), "")
		var rl *discordapi.RateLimitError
		if !errors.As(err, &rl) || rl.RetryAfter < 4*time.Second {
			t.Fatalf("got %v, want *RateLimitError with RetryAfter about 5s", err)
		}
		if d := time.Since(start); d > 500*time.Millisecond {
			t.Errorf("took %s; a wait beyond MaxWait must fail at once", d)
		}
		if n := b.fake.RequestCount(fakediscord.RouteCreateInvite); n != 1 {
			t.Errorf("fake got %d requests, want 1", n)
		}
	})

	t.Run("retries exhausted", func(t *testing.T) {
		t.Parallel()
		b := setup(t, fakediscord.Options{}, discordapi.Config{MaxRetries: 2})
		b.fake.InjectFailure(fakediscord.RouteGetMember, fakediscord.Failure{Status: 429, RetryAfter: 0.01, Times: 5})
		_, err := b.client.GetGuildMember(ctx, b.guildID, b.userID)
		var rl *discordapi.RateLimitError
		if !errors.As(err, &rl) || rl.Scope != "user" || rl.Message != "You are being rate limited." {
			t.Fatalf("got %v, want *RateLimitError", err)
		}
		if n := b.fake.RequestCount(fakediscord.RouteGetMember); n != 3 {
			t.Errorf("fake got %d requests, want 3 (1 + 2 retries)", n)
		}
	})

	t.Run("deadline before reset", func(t *testing.T) {
		t.Parallel()
		b := setup(t, fakediscord.Options{}, discordapi.Config{})
		b.fake.InjectFailure(fakediscord.RouteGetMember, fakediscord.Failure{Status: 429, RetryAfter: 2})
		dctx, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
		defer cancel()
		start := time.Now()
		_, err := b.client.GetGuildMember(dctx, b.guildID, b.userID)
		var rl *discordapi.RateLimitError
		if !errors.As(err, &rl) {
			t.Fatalf("got %v, want *RateLimitError", err)
		}
		if d := time.Since(start); d > 250*time.Millisecond {
			t.Errorf("took %s; should not sleep past the deadline", d)
		}
	})

	t.Run("cancelled while waiting", func(t *testing.T) {
		t.Parallel()
		b := setup(t, fakediscord.Options{}, discordapi.Config{})
		b.fake.InjectFailure(fakediscord.RouteGetMember, fakediscord.Failure{Status: 429, RetryAfter: 2})
		cctx, cancel := context.WithCancel(ctx)
		time.AfterFunc(100*time.Millisecond, cancel)
		_, err := b.client.GetGuildMember(cctx, b.guildID, b.userID)
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("got %v, want context.Canceled", err)
		}
	})
}

func TestConcurrentCallsShareLimits(t *testing.T) {
	t.Parallel()
	b := setup(t, fakediscord.Options{BucketLimit: 5, BucketWindow: 200 * time.Millisecond},
		discordapi.Config{MaxRetries: 20})
	const n = 20
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for range n {
		wg.Go(func() {
			_, err := b.client.CreateChannelInvite(context.Background(), b.channelID, singleUse(), "")
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Errorf("invite: %v", err)
		}
	}
	if got := len(b.fake.Invites()); got != n {
		t.Errorf("fake has %d invites, want %d", got, n)
	}
}
