package httpapi_test

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/uptrace/bun"

	"github.com/ezscale/platform/core/accounts"
	"github.com/ezscale/platform/core/database"
	"github.com/ezscale/platform/core/database/databasetest"
	"github.com/ezscale/platform/core/httpapi"
	"github.com/ezscale/platform/core/httpapi/apitest"
	"github.com/ezscale/platform/core/jobs"
	"github.com/ezscale/platform/core/notify"
	"github.com/ezscale/platform/core/ratelimit"
)

type testBundle struct {
	db       *database.DB
	notify   *notify.Service
	accounts *accounts.Service
	server   *httptest.Server
}

func setup(t *testing.T, db *database.DB, adjust ...func(*notify.Options)) *testBundle {
	t.Helper()
	reg := jobs.NewRegistry(time.Hour)
	opts := notify.Options{
		PublicURL: "https://billing.example.com", StreamPollInterval: 50 * time.Millisecond, StreamHeartbeat: time.Second,
	}
	for _, f := range adjust {
		f(&opts)
	}
	svc, err := notify.New(db, reg, opts)
	if err != nil {
		t.Fatal(err)
	}
	// The engine is built (Notify enqueues jobs) but not started.
	if _, err := jobs.New(db, reg, jobs.Options{Workers: 1, FetchCooldown: time.Second, FetchPollInterval: time.Second, RescueAfter: time.Hour, DefaultTimeout: time.Minute}); err != nil {
		t.Fatal(err)
	}
	limiter := ratelimit.New(db)
	acc := accounts.New(db, svc, limiter, accounts.Options{
		SessionTTL: time.Hour, LoginLimit: 100, LoginWindow: time.Minute, SignupLimit: 100, ResetTokenTTL: time.Hour,
		TOTPIssuer: "test", PublicURL: "https://billing.example.com",
	})
	srv := httpapi.New(httpapi.Deps{DB: db, Accounts: acc, Limiter: limiter}, httpapi.Options{}, &httpapi.NotificationsAPI{Notify: svc})
	ts := httptest.NewServer(srv.Handler())
	// Streams end when the service stops, before the server closes.
	t.Cleanup(ts.Close)
	t.Cleanup(svc.Stop)
	return &testBundle{db: db, notify: svc, accounts: acc, server: ts}
}

type member struct {
	ID, Email, Token string
}

func (b *testBundle) signup(t *testing.T, email string) member {
	t.Helper()
	ctx := context.Background()
	u, _, err := b.accounts.Signup(ctx, accounts.SignupInput{Email: email, Password: "correct horse battery"})
	if err != nil {
		t.Fatal(err)
	}
	sess, _, err := b.accounts.Login(ctx, accounts.LoginInput{Email: email, Password: "correct horse battery", IP: "192.0.2.1"})
	if err != nil {
		t.Fatal(err)
	}
	return member{ID: u.ID, Email: email, Token: sess.Token}
}

func (b *testBundle) notifyUser(t *testing.T, userID, service string) {
	t.Helper()
	err := b.db.Tx(context.Background(), func(ctx context.Context, tx bun.Tx) error {
		return b.notify.Notify(ctx, tx, notify.Event{Type: notify.ServiceProvisioned, UserIDs: []string{userID}, Data: map[string]any{"service_name": service}})
	})
	if err != nil {
		t.Fatal(err)
	}
}

// call makes an API request, checks the answer against the OpenAPI
// document (apitest) and decodes a successful JSON answer into out.
func (b *testBundle) call(t *testing.T, token, method, path string, body io.Reader, out any) int {
	t.Helper()
	var in any
	if body != nil {
		raw, err := io.ReadAll(body)
		if err != nil {
			t.Fatal(err)
		}
		in = raw
	}
	r := apitest.New(b.server.URL).Do(t, method, path, token, in)
	if out != nil && r.Status < 300 {
		r.Decode(t, out)
	}
	return r.Status
}

type sseEvent struct {
	ID, Name, Data string
}

// openStream connects to the notification stream and returns its events.
func (b *testBundle) openStream(t *testing.T, token string) <-chan sseEvent {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	req, err := http.NewRequestWithContext(ctx, "GET", b.server.URL+"/api/v1/me/notifications/stream", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
		t.Fatalf("stream: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	out := make(chan sseEvent, 100)
	go func() {
		defer resp.Body.Close()
		defer close(out)
		sc := bufio.NewScanner(resp.Body)
		var ev sseEvent
		for sc.Scan() {
			line := sc.Text()
			switch {
			case line == "":
				if ev.Name != "" {
					out <- ev
				}
				ev = sseEvent{}
			case strings.HasPrefix(line, "id: "):
				ev.ID = strings.TrimPrefix(line, "id: ")
			case strings.HasPrefix(line, "event: "):
				ev.Name = strings.TrimPrefix(line, "event: ")
			case strings.HasPrefix(line, "data: "):
				ev.Data = strings.TrimPrefix(line, "data: ")
			}
		}
	}()
	return out
}

// next returns the stream's next event, skipping nothing.
func next(t *testing.T, c <-chan sseEvent) sseEvent {
	t.Helper()
	select {
	case ev, ok := <-c:
		if !ok {
			t.Fatal("stream ended")
		}
		return ev
	case <-time.After(30 * time.Second):
		t.Fatal("no event within 30s")
	}
	return sseEvent{}
}

func unreadOf(t *testing.T, ev sseEvent) int {
	t.Helper()
	if ev.Name != "unread" {
		t.Fatalf("event %q, want unread (data %s)", ev.Name, ev.Data)
	}
	var u notify.Unread
	if err := json.Unmarshal([]byte(ev.Data), &u); err != nil {
		t.Fatal(err)
	}
	return u.Total
}

func notificationOf(t *testing.T, ev sseEvent) httpapi.NotificationView {
	t.Helper()
	if ev.Name != "notification" {
		t.Fatalf("event %q, want notification (data %s)", ev.Name, ev.Data)
	}
	var v httpapi.NotificationView
	if err := json.Unmarshal([]byte(ev.Data), &v); err != nil {
		t.Fatal(err)
	}
	if v.ID != ev.ID {
		t.Errorf("event id %q, notification id %q", ev.ID, v.ID)
	}
	return v
}

// TestStreamDeliversToTheRightUserOnly: two users, one stream each over
// real HTTP; each stream carries its own user's notifications and unread
// counts and nothing of the other's.
func TestStreamDeliversToTheRightUserOnly(t *testing.T) {
	t.Parallel()
	databasetest.Each(t, func(t *testing.T, db *database.DB) {
		b := setup(t, db)
		ada := b.signup(t, "ada@example.com")
		bob := b.signup(t, "bob@example.com")
		adaStream, bobStream := b.openStream(t, ada.Token), b.openStream(t, bob.Token)
		if n := unreadOf(t, next(t, adaStream)); n != 0 {
			t.Fatalf("ada starts with %d unread", n)
		}
		if n := unreadOf(t, next(t, bobStream)); n != 0 {
			t.Fatalf("bob starts with %d unread", n)
		}

		b.notifyUser(t, ada.ID, "ada-vps")
		got := notificationOf(t, next(t, adaStream))
		if got.Title != "ada-vps is ready" || got.Category != "services" || got.Read {
			t.Errorf("ada's notification: %+v", got)
		}
		if n := unreadOf(t, next(t, adaStream)); n != 1 {
			t.Errorf("ada unread %d, want 1", n)
		}

		// Bob's next event is his own notification, so ada's never
		// reached his stream.
		b.notifyUser(t, bob.ID, "bob-vps")
		bobs := notificationOf(t, next(t, bobStream))
		if bobs.Title != "bob-vps is ready" {
			t.Errorf("bob's stream: %+v", bobs)
		}
		if n := unreadOf(t, next(t, bobStream)); n != 1 {
			t.Errorf("bob unread %d, want 1", n)
		}

		// Marking read updates the count on the stream (through the
		// database, as from another replica); ada's next event is not
		// bob's notification.
		if code := b.call(t, ada.Token, "POST", "/api/v1/me/notifications/"+bobs.ID+"/read", nil, nil); code != http.StatusNotFound {
			t.Errorf("ada marking bob's notification read: %d, want 404", code)
		}
		var list httpapi.List[httpapi.NotificationView]
		b.call(t, ada.Token, "GET", "/api/v1/me/notifications", nil, &list)
		if len(list.Data) != 1 {
			t.Fatalf("ada lists %d notifications", len(list.Data))
		}
		if code := b.call(t, ada.Token, "POST", "/api/v1/me/notifications/"+list.Data[0].ID+"/read", nil, nil); code != http.StatusOK {
			t.Fatalf("mark read: %d", code)
		}
		if n := unreadOf(t, next(t, adaStream)); n != 0 {
			t.Errorf("ada unread after reading: %d, want 0", n)
		}
		b.notifyUser(t, ada.ID, "ada-second")
		if got := notificationOf(t, next(t, adaStream)); got.Title != "ada-second is ready" {
			t.Errorf("ada's stream: %+v", got)
		}
	})
}

// TestStreamCapPerUser: beyond notifications.stream_max_per_user open
// streams, a user's next one is answered 429 problem+json with a
// Retry-After; other users are not affected, and a stream the client
// closes frees its place.
func TestStreamCapPerUser(t *testing.T) {
	t.Parallel()
	databasetest.Each(t, func(t *testing.T, db *database.DB) {
		b := setup(t, db, func(o *notify.Options) { o.StreamMaxPerUser = 2 })
		ada := b.signup(t, "ada-cap@example.com")
		bob := b.signup(t, "bob-cap@example.com")
		open := func(token string) (*http.Response, context.CancelFunc) {
			t.Helper()
			ctx, cancel := context.WithCancel(context.Background())
			t.Cleanup(cancel)
			req, err := http.NewRequestWithContext(ctx, "GET", b.server.URL+"/api/v1/me/notifications/stream", nil)
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Authorization", "Bearer "+token)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { resp.Body.Close() })
			return resp, cancel
		}
		first, closeFirst := open(ada.Token)
		second, _ := open(ada.Token)
		for _, r := range []*http.Response{first, second} {
			if r.StatusCode != http.StatusOK {
				t.Fatalf("stream within the cap: %d", r.StatusCode)
			}
		}
		third, _ := open(ada.Token)
		if third.StatusCode != http.StatusTooManyRequests || third.Header.Get("Content-Type") != "application/problem+json" || third.Header.Get("Retry-After") == "" {
			t.Fatalf("stream beyond the cap: %d %s, Retry-After %q", third.StatusCode, third.Header.Get("Content-Type"), third.Header.Get("Retry-After"))
		}
		var p httpapi.Problem
		if err := json.NewDecoder(third.Body).Decode(&p); err != nil || p.Code != "rate_limited" {
			t.Fatalf("problem %+v, %v", p, err)
		}
		if r, _ := open(bob.Token); r.StatusCode != http.StatusOK {
			t.Fatalf("another user's stream: %d", r.StatusCode)
		}

		// The client goes away: the server ends the stream and frees its
		// slot (waited for on the database, not on a timer).
		closeFirst()
		deadline := time.After(30 * time.Second)
		for {
			n, err := b.db.NewSelect().Table("notification_streams").Where("user_id = ?", ada.ID).Count(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if n == 1 {
				break
			}
			select {
			case <-deadline:
				t.Fatalf("%d of ada's streams still open 30s after one closed", n)
			case <-time.After(10 * time.Millisecond):
			}
		}
		if r, _ := open(ada.Token); r.StatusCode != http.StatusOK {
			t.Fatalf("stream after one closed: %d", r.StatusCode)
		}
	})
}

// TestStreamNeedsAToken: the stream is authenticated like every route.
func TestStreamNeedsAToken(t *testing.T) {
	t.Parallel()
	b := setup(t, databasetest.New(t, database.SQLite))
	if code := b.call(t, "", "GET", "/api/v1/me/notifications/stream", nil, nil); code != http.StatusUnauthorized {
		t.Fatalf("stream without a token: %d", code)
	}
	if code := b.call(t, "ezs_nope", "GET", "/api/v1/me/notifications/stream", nil, nil); code != http.StatusUnauthorized {
		t.Fatalf("stream with a bad token: %d", code)
	}
}

// TestNotificationCenter: filters, pagination, read/unread, mark all read.
func TestNotificationCenter(t *testing.T) {
	t.Parallel()
	databasetest.Each(t, func(t *testing.T, db *database.DB) {
		b := setup(t, db)
		ada := b.signup(t, "ada@example.com")
		for _, s := range []string{"one", "two", "three"} {
			b.notifyUser(t, ada.ID, s)
		}
		err := db.Tx(context.Background(), func(ctx context.Context, tx bun.Tx) error {
			return b.notify.Notify(ctx, tx, notify.Event{Type: notify.TopUpCompleted, UserIDs: []string{ada.ID}, Data: map[string]any{"amount": int64(5000), "currency": "USD"}})
		})
		if err != nil {
			t.Fatal(err)
		}
		titles := func(path string) []string {
			var out []string
			for path != "" {
				var page httpapi.List[httpapi.NotificationView]
				if code := b.call(t, ada.Token, "GET", path, nil, &page); code != http.StatusOK {
					t.Fatalf("GET %s: %d", path, code)
				}
				for _, n := range page.Data {
					out = append(out, n.Title)
				}
				path = ""
				if page.NextCursor != "" {
					path = "/api/v1/me/notifications?limit=2&cursor=" + url.QueryEscape(page.NextCursor)
				}
			}
			return out
		}
		want := []string{"50.00 USD added to your account", "three is ready", "two is ready", "one is ready"}
		if diff := cmp.Diff(want, titles("/api/v1/me/notifications?limit=2")); diff != "" {
			t.Errorf("pages (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff(want[:1], titles("/api/v1/me/notifications?category=billing")); diff != "" {
			t.Errorf("billing (-want +got):\n%s", diff)
		}
		var count notify.Unread
		b.call(t, ada.Token, "GET", "/api/v1/me/notifications/unread-count", nil, &count)
		if diff := cmp.Diff(notify.Unread{Total: 4, ByCategory: map[notify.Category]int{"billing": 1, "services": 3, "support": 0, "system": 0}}, count); diff != "" {
			t.Errorf("unread (-want +got):\n%s", diff)
		}
		var updated map[string]int
		b.call(t, ada.Token, "POST", "/api/v1/me/notifications/read-all?category=services", nil, &updated)
		if updated["updated"] != 3 {
			t.Errorf("read-all updated %v", updated)
		}
		if diff := cmp.Diff(want[:1], titles("/api/v1/me/notifications?unread=true")); diff != "" {
			t.Errorf("unread only (-want +got):\n%s", diff)
		}
		var page httpapi.List[httpapi.NotificationView]
		b.call(t, ada.Token, "GET", "/api/v1/me/notifications?category=services&limit=1", nil, &page)
		var n httpapi.NotificationView
		b.call(t, ada.Token, "POST", "/api/v1/me/notifications/"+page.Data[0].ID+"/unread", nil, &n)
		if n.Read || n.ReadAt != nil {
			t.Errorf("after unread: %+v", n)
		}
		if code := b.call(t, ada.Token, "GET", "/api/v1/me/notifications?category=nope", nil, nil); code != http.StatusBadRequest {
			t.Errorf("bad category: %d", code)
		}
	})
}

// TestOneClickUnsubscribe: a mail provider's RFC 8058 POST to the
// List-Unsubscribe URL works without a login; a GET only shows a page.
func TestOneClickUnsubscribe(t *testing.T) {
	t.Parallel()
	databasetest.Each(t, func(t *testing.T, db *database.DB) {
		b := setup(t, db)
		ada := b.signup(t, "ada@example.com")
		link, err := b.notify.UnsubscribeURL(context.Background(), ada.ID, notify.Announcement)
		if err != nil {
			t.Fatal(err)
		}
		path := strings.TrimPrefix(link, "https://billing.example.com")
		announcementEmail := func() bool {
			var doc struct {
				Preferences []notify.Preference `json:"preferences"`
			}
			b.call(t, ada.Token, "GET", "/api/v1/me/notification-preferences", nil, &doc)
			for _, p := range doc.Preferences {
				if p.Type == notify.Announcement && p.Channel == notify.ChannelEmail {
					return p.Enabled
				}
			}
			t.Fatal("no announcement email preference")
			return false
		}

		resp, err := http.Get(b.server.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		page, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || !strings.Contains(string(page), `<form method="post"`) {
			t.Fatalf("GET: %d %s", resp.StatusCode, page)
		}
		if !announcementEmail() {
			t.Fatal("a GET unsubscribed")
		}

		resp, err = http.Post(b.server.URL+path, "application/x-www-form-urlencoded", strings.NewReader("List-Unsubscribe=One-Click"))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("one-click POST: %d", resp.StatusCode)
		}
		if announcementEmail() {
			t.Fatal("still subscribed after the one-click POST")
		}
		resp, err = http.Post(b.server.URL+"/api/v1/unsubscribe?token=forged.token", "application/x-www-form-urlencoded", strings.NewReader("List-Unsubscribe=One-Click"))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest {
			t.Fatalf("forged token: %d", resp.StatusCode)
		}
	})
}

// TestPreferencesAPI: read, change, refuse locked cells.
func TestPreferencesAPI(t *testing.T) {
	t.Parallel()
	b := setup(t, databasetest.New(t, database.SQLite))
	ada := b.signup(t, "ada@example.com")
	body := `{"preferences":[{"type":"invoice.paid","channel":"email","enabled":false}]}`
	var doc struct {
		Preferences []notify.Preference `json:"preferences"`
	}
	if code := b.call(t, ada.Token, "PATCH", "/api/v1/me/notification-preferences", strings.NewReader(body), &doc); code != http.StatusOK {
		t.Fatalf("PATCH: %d", code)
	}
	for _, p := range doc.Preferences {
		if p.Type == notify.InvoicePaid && p.Channel == notify.ChannelEmail && p.Enabled {
			t.Error("invoice.paid email still on")
		}
	}
	locked := `{"preferences":[{"type":"security.new_login","channel":"email","enabled":false}]}`
	if code := b.call(t, ada.Token, "PATCH", "/api/v1/me/notification-preferences", strings.NewReader(locked), nil); code != http.StatusBadRequest {
		t.Errorf("turning a security email off: %d, want 400", code)
	}
	if code := b.call(t, ada.Token, "PATCH", "/api/v1/me/notification-preferences", strings.NewReader(`{"role":"admin"}`), nil); code != http.StatusBadRequest {
		t.Errorf("unknown field: %d, want 400", code)
	}
}
