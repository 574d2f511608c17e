package fakediscord_test

import (
	"fmt"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/ezscale/platform/plugins/discord/fakediscord"
)

var demoSeed = fakediscord.GuildSeed{
	ID: "100000000000000001", Name: "Demo",
	Channels: []fakediscord.Named{{ID: "100000000000000002", Name: "welcome"}, {ID: "100000000000000003", Name: "alerts"}},
	Roles:    []fakediscord.Named{{ID: "100000000000000011", Name: "vps"}, {ID: "100000000000000012", Name: "gaming"}},
	Webhooks: []fakediscord.WebhookSeed{{ID: "100000000000000021", Token: "hook-token", ChannelID: "100000000000000003"}},
}

type logLines struct {
	mu    sync.Mutex
	lines []string
}

func (l *logLines) logf(format string, args ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lines = append(l.lines, fmt.Sprintf(format, args...))
}

func (l *logLines) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Join(l.lines, "\n")
}

// TestSeedJoinAndState: a seeded guild answers the bot API under the ids
// the seed chose; a person joins with a single-use invite over the control
// route (a second person cannot); roles given through the API show by name
// in the state view; the log tells each step without the webhook token.
func TestSeedJoinAndState(t *testing.T) {
	t.Parallel()
	var log logLines
	fake := fakediscord.New(fakediscord.Options{BotToken: token, Logf: log.logf})
	if err := fake.Seed(demoSeed); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(fake)
	t.Cleanup(srv.Close)
	api := fakediscord.BaseURL(srv.URL)

	inv := do(t, "POST", api+"/channels/100000000000000002/invites", "Bot "+token, ua, `{"max_uses":1,"unique":true,"max_age":3600}`)
	if inv.status != 200 {
		t.Fatalf("create invite on the seeded channel: %d %v", inv.status, inv.body)
	}
	code := inv.body["code"].(string)
	join := do(t, "POST", srv.URL+"/__fake/invites/"+code+"/join", "", "curl/8", `{"user_id":"200000000000000001","username":"alice"}`)
	if join.status != 200 || join.body["guild_id"] != demoSeed.ID {
		t.Fatalf("join: %d %v", join.status, join.body)
	}
	again := do(t, "POST", srv.URL+"/__fake/invites/"+code+"/join", "", "curl/8", `{"user_id":"200000000000000002","username":"bob"}`)
	if again.status != 404 || again.body["code"] != float64(10006) {
		t.Errorf("a used-up single-use invite: %d %v, want 404 Unknown Invite", again.status, again.body)
	}
	if r := do(t, "PUT", api+"/guilds/100000000000000001/members/200000000000000001/roles/100000000000000011", "Bot "+token, ua, ""); r.status != 204 {
		t.Fatalf("add role: %d %v", r.status, r.body)
	}
	if r := do(t, "POST", srv.URL+"/api/webhooks/100000000000000021/hook-token?wait=true", "", ua, `{"embeds":[{"title":"Service failed"}]}`); r.status != 200 {
		t.Fatalf("seeded webhook: %d %v", r.status, r.body)
	}

	st := fake.State()
	want := []fakediscord.StateMember{{ID: "200000000000000001", Username: "alice", Roles: []string{"vps"}}}
	if diff := cmp.Diff(want, st.Guilds[0].Members); diff != "" {
		t.Errorf("members (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]fakediscord.StateInvite{{Code: code, GuildID: demoSeed.ID, ChannelID: "100000000000000002", Uses: 1, MaxUses: 1, MaxAge: 3600, Deleted: true}}, st.Invites); diff != "" {
		t.Errorf("invites (-want +got):\n%s", diff)
	}
	if len(st.WebhookMessages) != 1 {
		t.Errorf("webhook messages: %v", st.WebhookMessages)
	}

	out := log.String()
	for _, want := range []string{
		"invite " + code + " to #welcome created (max_uses 1, max_age 3600s)",
		"alice (200000000000000001) joined \"Demo\" with invite " + code,
		"role vps given to alice (200000000000000001)",
		"webhook message", "to #alerts: \"Service failed\"",
		"POST /api/webhooks/100000000000000021/… -> 200",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("log lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "hook-token") {
		t.Errorf("the log shows the webhook token:\n%s", out)
	}
}

// TestSeedRefusesCollisions: ids must be snowflakes not yet used, and a
// webhook must sit on one of the seed's channels; a refused seed creates
// nothing.
func TestSeedRefusesCollisions(t *testing.T) {
	t.Parallel()
	fake := fakediscord.New(fakediscord.Options{BotToken: token})
	if err := fake.Seed(demoSeed); err != nil {
		t.Fatal(err)
	}
	bad := []fakediscord.GuildSeed{
		demoSeed,
		{ID: "not-a-snowflake", Name: "x"},
		{ID: "100000000000000099", Name: "x", Roles: []fakediscord.Named{{ID: "100000000000000011", Name: "vps"}}},
		{ID: "100000000000000098", Name: "x", Webhooks: []fakediscord.WebhookSeed{{ID: "100000000000000097", Token: "t", ChannelID: "100000000000000002"}}},
	}
	for i, g := range bad {
		if err := fake.Seed(g); err == nil {
			t.Errorf("seed %d was accepted", i)
		}
	}
	if n := len(fake.State().Guilds); n != 1 {
		t.Errorf("%d guilds after refused seeds, want 1", n)
	}
}
