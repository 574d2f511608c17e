package main

import (
	"context"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net/mail"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/ezscale/platform/sdk"
	"github.com/ezscale/platform/sdk/conformance"
	"github.com/ezscale/platform/sdk/plugintest"
	pb "github.com/ezscale/platform/sdk/pluginv1"
)

type testBundle struct {
	smtp *smtpServer
	h    *plugintest.Harness
}

// setup starts an SMTP server and the plugin configured for it.
func setup(t testing.TB, so serverOptions, cfg map[string]any) *testBundle {
	t.Helper()
	s := startSMTP(t, so)
	base := map[string]any{
		"host": s.host, "port": s.port, "tls_policy": "none",
		"from": "Example Hosting <billing@example.com>",
	}
	if so.user != "" {
		base["username"], base["password"] = so.user, so.pass
		if so.tls == "" {
			// "auto" never picks PLAIN on an unencrypted connection; go-mail
			// allows an explicit PLAIN to a loopback server only.
			base["auth_mechanism"] = "plain"
		}
	}
	if s.caFile != "" {
		base["tls_ca_file"] = s.caFile
	}
	for k, v := range cfg {
		base[k] = v
	}
	return &testBundle{smtp: s, h: plugintest.New(t, New(), plugintest.WithConfig(base))}
}

func message(key, rcpt string) *pb.DeliverRequest {
	return &pb.DeliverRequest{
		IdempotencyKey: key, Channel: "email", Recipient: rcpt, RecipientName: "Ada Lovelace",
		Subject: "Your invoice", TextBody: "Invoice 42 is due.", HtmlBody: "<p>Invoice <b>42</b> is due.</p>",
		Category: "billing",
	}
}

func TestConformance(t *testing.T) {
	t.Parallel()
	b := setup(t, serverOptions{user: "mailer", pass: "s3cret"}, nil)
	conformance.Notifier(t, b.h, conformance.NotifierFixture{
		Message: message("", "ada@example.net"),
		Delivered: func(t *testing.T, req *pb.DeliverRequest, resp *pb.DeliverResponse) {
			m, ok := b.smtp.find("Message-ID: " + resp.GetProviderMessageId())
			if !ok {
				t.Fatalf("the SMTP server has no message %s", resp.GetProviderMessageId())
			}
			if diff := cmp.Diff(received{From: "billing@example.com", To: []string{"ada@example.net"}, User: "mailer"}, m,
				cmpIgnoreData); diff != "" {
				t.Errorf("envelope (-want +got):\n%s", diff)
			}
		},
	})
}

var cmpIgnoreData = cmp.FilterPath(func(p cmp.Path) bool { return p.Last().String() == ".Data" }, cmp.Ignore())

func TestMultipartMessageAndHeaders(t *testing.T) {
	t.Parallel()
	b := setup(t, serverOptions{}, nil)
	req := message("invoice-42-reminder", "ada@example.net")
	req.Headers = map[string]string{
		"List-Unsubscribe":      "<https://example.com/u/abc>, <mailto:unsub@example.com?subject=abc>",
		"List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
	}
	resp, err := b.h.Notifier().Deliver(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	wantID := "<" + MessageID("invoice-42-reminder", "example.com") + ">"
	if diff := cmp.Diff(wantID, resp.GetProviderMessageId()); diff != "" {
		t.Errorf("provider message id (-want +got):\n%s", diff)
	}
	msgs := b.smtp.messages()
	if len(msgs) != 1 {
		t.Fatalf("%d messages, want 1", len(msgs))
	}
	m, err := mail.ReadMessage(strings.NewReader(string(msgs[0].Data)))
	if err != nil {
		t.Fatal(err)
	}
	gotHeaders := map[string]string{}
	for _, k := range []string{"From", "To", "Subject", "Message-Id", "List-Unsubscribe", "List-Unsubscribe-Post"} {
		gotHeaders[k] = m.Header.Get(k)
	}
	wantHeaders := map[string]string{
		"From":                  `"Example Hosting" <billing@example.com>`,
		"To":                    `"Ada Lovelace" <ada@example.net>`,
		"Subject":               "Your invoice",
		"Message-Id":            wantID,
		"List-Unsubscribe":      req.Headers["List-Unsubscribe"],
		"List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
	}
	if diff := cmp.Diff(wantHeaders, gotHeaders); diff != "" {
		t.Errorf("headers (-want +got):\n%s", diff)
	}
	mediaType, params, err := mime.ParseMediaType(m.Header.Get("Content-Type"))
	if err != nil || mediaType != "multipart/alternative" {
		t.Fatalf("Content-Type %q (%v), want multipart/alternative", m.Header.Get("Content-Type"), err)
	}
	parts := map[string]string{}
	mr := multipart.NewReader(m.Body, params["boundary"])
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		var r io.Reader = p
		if p.Header.Get("Content-Transfer-Encoding") == "quoted-printable" {
			r = quotedprintable.NewReader(p)
		}
		body, err := io.ReadAll(r)
		if err != nil {
			t.Fatal(err)
		}
		ct, _, _ := mime.ParseMediaType(p.Header.Get("Content-Type"))
		parts[ct] = string(body)
	}
	if diff := cmp.Diff(map[string]string{"text/plain": req.TextBody, "text/html": req.HtmlBody}, parts); diff != "" {
		t.Errorf("parts (-want +got):\n%s", diff)
	}
}

func TestTLSPolicies(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, server, policy string
		wantTLS              bool
	}{
		{"none", "", "none", false},
		{"opportunistic without STARTTLS", "", "opportunistic", false},
		{"opportunistic with STARTTLS", "starttls", "opportunistic", true},
		{"mandatory", "starttls", "mandatory", true},
		{"implicit", "implicit", "implicit", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			b := setup(t, serverOptions{tls: tc.server, user: "u", pass: "p"}, map[string]any{"tls_policy": tc.policy})
			if _, err := b.h.Notifier().Deliver(context.Background(), message("k", "ada@example.net")); err != nil {
				t.Fatal(err)
			}
			if got := b.smtp.messages()[0].TLS; got != tc.wantTLS {
				t.Errorf("delivered over TLS = %v, want %v", got, tc.wantTLS)
			}
		})
	}
	t.Run("mandatory without STARTTLS fails", func(t *testing.T) {
		t.Parallel()
		b := setup(t, serverOptions{}, map[string]any{"tls_policy": "mandatory"})
		if _, err := b.h.Notifier().Deliver(context.Background(), message("k", "ada@example.net")); err == nil {
			t.Fatal("delivered in plain text despite tls_policy mandatory")
		}
		if n := len(b.smtp.messages()); n != 0 {
			t.Errorf("%d messages reached the server", n)
		}
	})
}

func TestErrorKinds(t *testing.T) {
	t.Parallel()
	b := setup(t, serverOptions{user: "u", pass: "p"}, nil)
	wrongPass := setup(t, serverOptions{user: "u", pass: "p"}, map[string]any{"password": "wrong"})
	down := setup(t, serverOptions{}, map[string]any{"port": 1})

	injection := message("k", "ada@example.net")
	injection.Headers = map[string]string{"X-Note": "hi\r\nBcc: victim@example.org"}
	reserved := message("k", "ada@example.net")
	reserved.Headers = map[string]string{"bcc": "victim@example.org"}
	for _, tc := range []struct {
		name  string
		h     *plugintest.Harness
		req   *pb.DeliverRequest
		kind  sdk.ErrorKind
		field string
	}{
		{"wrong password", wrongPass.h, message("k", "ada@example.net"), sdk.Unauthenticated, ""},
		{"recipient refused", b.h, message("k", "reject@example.net"), sdk.InvalidInput, "recipient"},
		{"recipient deferred", b.h, message("k", "defer@example.net"), sdk.Unavailable, ""},
		{"server down", down.h, message("k", "ada@example.net"), sdk.Unavailable, ""},
		{"not an address", b.h, message("k", "ada at example"), sdk.InvalidInput, "recipient"},
		{"no body", b.h, &pb.DeliverRequest{IdempotencyKey: "k", Channel: "email", Recipient: "a@example.net"}, sdk.InvalidInput, "text_body"},
		{"header injection", b.h, injection, sdk.InvalidInput, "headers.X-Note"},
		{"reserved header", b.h, reserved, sdk.InvalidInput, "headers.bcc"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := tc.h.Notifier().Deliver(context.Background(), tc.req)
			var e *sdk.Error
			if !asError(err, &e) || e.Kind != tc.kind || e.Field != tc.field {
				t.Errorf("got %v, want kind %s field %q", err, tc.kind, tc.field)
			}
		})
	}
	if n := len(b.smtp.messages()); n != 0 {
		t.Errorf("%d messages were accepted by the server, want 0", n)
	}
}

func asError(err error, target **sdk.Error) bool {
	e, ok := err.(*sdk.Error)
	*target = e
	return ok
}

func TestConfigValidation(t *testing.T) {
	t.Parallel()
	h := plugintest.New(t, New(), plugintest.WithoutConfigure())
	diags, err := h.Plugin().Configure(context.Background(), map[string]any{
		"host": "smtp.example.com", "from": "not an address", "username": "u",
		"tls_ca_file": "/nonexistent/ca.pem", "tls_policy": "sometimes",
	})
	if err != nil {
		t.Fatal(err)
	}
	var fields []string
	for _, d := range diags {
		fields = append(fields, d.Field)
	}
	if diff := cmp.Diff([]string{"tls_policy"}, fields); diff != "" {
		t.Errorf("schema stage (-want +got):\n%s", diff)
	}
	diags, err = h.Plugin().Configure(context.Background(), map[string]any{
		"host": "smtp.example.com", "from": "not an address", "username": "u", "tls_ca_file": "/nonexistent/ca.pem",
	})
	if err != nil {
		t.Fatal(err)
	}
	fields = nil
	for _, d := range diags {
		fields = append(fields, d.Field)
	}
	if diff := cmp.Diff([]string{"from", "tls_ca_file", "password"}, fields); diff != "" {
		t.Errorf("plugin stage (-want +got):\n%s", diff)
	}
}
