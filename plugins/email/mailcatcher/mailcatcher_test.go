package mailcatcher

import (
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

type testBundle struct {
	c    *Catcher
	smtp string // host:port
	web  *httptest.Server
}

func setup(t *testing.T, opts Options) *testBundle {
	t.Helper()
	opts.Now = func() time.Time { return time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC) }
	c := New(opts)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := c.SMTPServer()
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	web := httptest.NewServer(c)
	t.Cleanup(web.Close)
	return &testBundle{c: c, smtp: ln.Addr().String(), web: web}
}

// send delivers raw over SMTP, as the email plugin does.
func (b *testBundle) send(t *testing.T, from string, to []string, raw string) {
	t.Helper()
	c, err := smtp.Dial(b.smtp)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Mail(from, nil); err != nil {
		t.Fatal(err)
	}
	for _, rcpt := range to {
		if err := c.Rcpt(rcpt, nil); err != nil {
			t.Fatal(err)
		}
	}
	w, err := c.Data()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.WriteString(w, strings.ReplaceAll(raw, "\n", "\r\n")); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if err := c.Quit(); err != nil {
		t.Fatal(err)
	}
}

func (b *testBundle) get(t *testing.T, path string, out any) *http.Response {
	t.Helper()
	resp, err := http.Get(b.web.URL + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if out != nil {
		if err := json.Unmarshal(body, out); err != nil {
			t.Fatalf("GET %s: %v: %s", path, err, body)
		}
	}
	resp.Body = io.NopCloser(strings.NewReader(string(body)))
	return resp
}

// verification is a message shaped like the platform's: multipart
// alternative, an encoded-word subject, a quoted-printable text part whose
// link the encoding wraps, and an HTML part with a script in it.
const verification = `From: EZSCALE <noreply@demo.test>
To: alice@example.net
Subject: =?utf-8?q?Confirm_your_email_address_=E2=80=94_EZSCALE?=
MIME-Version: 1.0
Content-Type: multipart/alternative; boundary="b1"

--b1
Content-Type: text/plain; charset=utf-8
Content-Transfer-Encoding: quoted-printable

Open this link to confirm your address:
http://127.0.0.1:8080/verify-email?token=3DabcdefghijklmnopqrstuvwxyzABCDEFG=
HIJKLMNOP.

--b1
Content-Type: text/html; charset=utf-8
Content-Transfer-Encoding: base64

PHA+PGEgaHJlZj0iaHR0cDovLzEyNy4wLjAuMTo4MDgwL3ZlcmlmeS1lbWFpbCI+Q29uZmlybTwv
YT48L3A+PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==
--b1--
`

// TestCatcherShowsWhatArrived: a message sent over SMTP is listed and read
// back through the JSON API with its subject, text and HTML decoded and
// the link in its text found whole, newest first, filtered by recipient.
func TestCatcherShowsWhatArrived(t *testing.T) {
	t.Parallel()
	b := setup(t, Options{})
	arrived := b.c.Arrived()
	b.send(t, "noreply@demo.test", []string{"alice@example.net"}, verification)
	<-arrived
	b.send(t, "noreply@demo.test", []string{"bob@example.net"}, "Subject: Hello Bob\n\nHi.\n")

	var list struct {
		Data  []Summary `json:"data"`
		Total int       `json:"total"`
	}
	b.get(t, "/api/v1/messages", &list)
	var subjects []string
	for _, s := range list.Data {
		subjects = append(subjects, s.Subject)
	}
	if diff := cmp.Diff([]string{"Hello Bob", "Confirm your email address — EZSCALE"}, subjects); diff != "" {
		t.Errorf("list, newest first (-want +got):\n%s", diff)
	}
	b.get(t, "/api/v1/messages?to=ALICE@example.net", &list)
	if len(list.Data) != 1 || list.Total != 1 {
		t.Fatalf("filtered by recipient: %+v", list)
	}

	var m Message
	b.get(t, "/api/v1/messages/"+list.Data[0].ID, &m)
	want := Message{
		ID: "1", From: "noreply@demo.test", To: []string{"alice@example.net"},
		Subject:    "Confirm your email address — EZSCALE",
		ReceivedAt: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC),
		Text:       "Open this link to confirm your address:\r\nhttp://127.0.0.1:8080/verify-email?token=abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOP.\r\n",
		HTML:       `<p><a href="http://127.0.0.1:8080/verify-email">Confirm</a></p><script>alert(1)</script>`,
		Links:      []string{"http://127.0.0.1:8080/verify-email?token=abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOP"},
	}
	if diff := cmp.Diff(want, m, cmpopts.IgnoreFields(Message{}, "Size", "Headers")); diff != "" {
		t.Errorf("message (-want +got):\n%s", diff)
	}
	if m.Headers["To"][0] != "alice@example.net" {
		t.Errorf("headers: %v", m.Headers)
	}

	raw := b.get(t, "/api/v1/messages/1/raw", nil)
	body, _ := io.ReadAll(raw.Body)
	if !strings.Contains(string(body), "Content-Transfer-Encoding: quoted-printable") {
		t.Errorf("raw message is not the one received:\n%s", body)
	}
	if resp := b.get(t, "/api/v1/messages/99", nil); resp.StatusCode != http.StatusNotFound {
		t.Errorf("unknown message: %d, want 404", resp.StatusCode)
	}
}

// TestCatcherPagesAreSafe: the web pages escape what a message says, and a
// message's HTML part is served under a sandbox policy so its scripts
// never run with the catcher's origin.
func TestCatcherPagesAreSafe(t *testing.T) {
	t.Parallel()
	b := setup(t, Options{})
	b.send(t, "x@demo.test", []string{"alice@example.net"}, verification)
	b.send(t, "x@demo.test", []string{"alice@example.net"}, "Subject: <img src=x onerror=alert(1)>\n\nhi\n")

	inbox := b.get(t, "/", nil)
	page, _ := io.ReadAll(inbox.Body)
	if strings.Contains(string(page), "<img src=x") || !strings.Contains(string(page), "&lt;img src=x onerror=alert(1)&gt;") {
		t.Errorf("the inbox does not escape subjects:\n%s", page)
	}
	if !strings.Contains(string(page), `href="/messages/1"`) {
		t.Errorf("the inbox does not link the first message:\n%s", page)
	}

	msg := b.get(t, "/messages/1", nil)
	page, _ = io.ReadAll(msg.Body)
	for _, want := range []string{"Confirm your email address — EZSCALE", `<iframe sandbox src="/messages/1/html"`, "verify-email?token=abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOP"} {
		if !strings.Contains(string(page), want) {
			t.Errorf("the message page lacks %q:\n%s", want, page)
		}
	}

	part := b.get(t, "/messages/1/html", nil)
	if csp := part.Header.Get("Content-Security-Policy"); !strings.HasPrefix(csp, "sandbox") || !strings.Contains(csp, "default-src 'none'") {
		t.Errorf("HTML part served with Content-Security-Policy %q, want a sandbox that runs nothing", csp)
	}
	if resp := b.get(t, "/messages/2/html", nil); resp.StatusCode != http.StatusNotFound {
		t.Errorf("HTML part of a text-only message: %d, want 404", resp.StatusCode)
	}
}

// TestCatcherKeepsTheLatest: beyond Limit the oldest message is dropped;
// DELETE empties the inbox.
func TestCatcherKeepsTheLatest(t *testing.T) {
	t.Parallel()
	b := setup(t, Options{Limit: 2})
	for _, s := range []string{"one", "two", "three"} {
		b.send(t, "x@demo.test", []string{"alice@example.net"}, "Subject: "+s+"\n\n"+s+"\n")
	}
	var got []string
	for _, m := range b.c.Messages() {
		got = append(got, m.ID+" "+m.Subject)
	}
	if diff := cmp.Diff([]string{"3 three", "2 two"}, got); diff != "" {
		t.Errorf("kept (-want +got):\n%s", diff)
	}

	req, _ := http.NewRequest(http.MethodDelete, b.web.URL+"/api/v1/messages", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent || len(b.c.Messages()) != 0 {
		t.Errorf("DELETE: %d, %d messages left", resp.StatusCode, len(b.c.Messages()))
	}
}
