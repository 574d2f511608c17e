package supportpalapi_test

import (
	"context"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/ezscale/platform/plugins/internal/apierror"
	"github.com/ezscale/platform/plugins/supportpal/fakesupportpal"
	"github.com/ezscale/platform/plugins/supportpal/supportpalapi"
)

func client(t *testing.T, token string) (*supportpalapi.Client, *fakesupportpal.Server) {
	t.Helper()
	fake := fakesupportpal.New(fakesupportpal.Options{})
	srv := httptest.NewServer(fake)
	t.Cleanup(srv.Close)
	c, err := supportpalapi.New(srv.URL+"/api", token, nil, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	return c, fake
}

// TestListMessagesPagesUntilEmpty: more messages than one page (50) are
// all read, in order, through start/limit.
func TestListMessagesPagesUntilEmpty(t *testing.T) {
	t.Parallel()
	c, fake := client(t, fakesupportpal.DefaultToken)
	ctx := context.Background()
	u, err := c.CreateUser(ctx, supportpalapi.CreateUser{Email: "ada@example.com", FirstName: "Ada"})
	if err != nil {
		t.Fatal(err)
	}
	tk, err := c.CreateTicket(ctx, supportpalapi.CreateTicket{User: u.ID, Department: 1, Status: 1, Priority: 1, Subject: "s", Text: "first"})
	if err != nil {
		t.Fatal(err)
	}
	for range 60 {
		if _, err := fake.Reply(tk.ID, "reply", 0); err != nil {
			t.Fatal(err)
		}
	}
	ms, err := c.ListMessages(ctx, tk.ID)
	if err != nil || len(ms) != 61 || ms[0].Text != "first" {
		t.Fatalf("ListMessages: %d messages (first %+v), %v; want 61 starting with the ticket's", len(ms), ms[0], err)
	}
	list, count, err := c.ListTickets(ctx, supportpalapi.TicketFilter{Limit: 1})
	if err != nil || len(list) != 1 || count != 1 {
		t.Errorf("ListTickets: %v, count %d, %v", list, count, err)
	}
}

// TestErrorEnvelopeOn200IsAnError: {"status":"error"} with HTTP 200 (a
// taken email) fails with SupportPal's message; a bad token is a 401.
func TestErrorEnvelopeOn200IsAnError(t *testing.T) {
	t.Parallel()
	c, _ := client(t, fakesupportpal.DefaultToken)
	ctx := context.Background()
	if _, err := c.CreateUser(ctx, supportpalapi.CreateUser{Email: "ada@example.com"}); err != nil {
		t.Fatal(err)
	}
	_, err := c.CreateUser(ctx, supportpalapi.CreateUser{Email: "ada@example.com"})
	if e, ok := apierror.As(err); !ok || e.StatusCode != 200 || !strings.Contains(e.Message, "already been taken") {
		t.Errorf("second CreateUser: %v, want the envelope's error", err)
	}
	bad, _ := client(t, "wrong")
	if _, err := bad.FindUserByEmail(ctx, "ada@example.com", 0); apierror.StatusCode(err) != 401 {
		t.Errorf("bad token: %v, want 401", err)
	}
}
