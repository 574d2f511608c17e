package main

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"net"
	"net/mail"
	"net/textproto"
	"os"
	"strings"
	"time"

	gomail "github.com/wneessen/go-mail"

	"github.com/ezscale/platform/plugins/internal/pluginconf"
	"github.com/ezscale/platform/sdk"
	pb "github.com/ezscale/platform/sdk/pluginv1"
)

const version = "0.1.0"

// Plugin is the email notifier. Its Health answers from local state and
// never dials the server: health checks are frequent and must not look like
// a connection flood to the relay.
type Plugin struct {
	*pluginconf.Holder[*settings]
}

// settings is the validated config, ready to build SMTP clients from.
type settings struct {
	host        string
	from        *mail.Address
	msgIDDomain string
	sendTimeout time.Duration
	options     []gomail.Option
}

// New returns an unconfigured email plugin.
func New() *Plugin {
	return &Plugin{Holder: pluginconf.New(sdk.Description{
		Name:    "email",
		Version: version,
		Schema: sdk.NewSchema().
			String("host", sdk.Required(), sdk.Doc("SMTP server host name")).
			Int("port", sdk.Default(587), sdk.Doc("SMTP port: 587 for STARTTLS, 465 for implicit TLS, 25 for relays")).
			String("tls_policy", sdk.OneOf("none", "opportunistic", "mandatory", "implicit"), sdk.Default("mandatory"),
				sdk.Doc("none: plain text; opportunistic: STARTTLS when offered; mandatory: STARTTLS required; implicit: TLS from the first byte (port 465)")).
			String("tls_ca_file", sdk.Doc("PEM file of extra CA certificates to trust, for a relay with a private CA")).
			String("username", sdk.Doc("SMTP AUTH user; leave empty to send without authentication")).
			String("password", sdk.Secret(), sdk.Doc("SMTP AUTH password")).
			String("auth_mechanism", sdk.OneOf("auto", "plain", "login", "cram-md5", "scram-sha-256"), sdk.Default("auto"),
				sdk.Doc("auto picks the strongest mechanism the server offers")).
			String("from", sdk.Required(), sdk.Doc(`sender, "Name <address>" or "address"`)).
			String("message_id_domain", sdk.Doc("right-hand side of Message-IDs; default: the from address's domain")).
			String("helo", sdk.Doc("name sent in EHLO; default: the machine's host name")).
			Duration("connect_timeout", sdk.Default("10s"), sdk.Doc("dialing and SMTP handshake")).
			Duration("send_timeout", sdk.Default("30s"), sdk.Doc("one whole delivery")),
	}, build, pluginconf.NotConfigured(time.Second, "email plugin is not configured"))}
}

func build(cfg sdk.Config) (*settings, sdk.Diagnostics) {
	var diags sdk.Diagnostics
	s := &settings{host: cfg.String("host"), sendTimeout: cfg.Duration("send_timeout")}
	from, err := mail.ParseAddress(cfg.String("from"))
	if err != nil {
		diags = append(diags, sdk.FieldDiagnostic("from", "%s", "not an email address: "+err.Error())...)
	} else {
		s.from = from
	}
	s.msgIDDomain = cfg.String("message_id_domain")
	if s.msgIDDomain == "" && from != nil {
		s.msgIDDomain = from.Address[strings.LastIndexByte(from.Address, '@')+1:]
	}
	port := cfg.Int("port")
	if port < 1 || port > 65535 {
		diags = append(diags, sdk.FieldDiagnostic("port", "must be between 1 and 65535")...)
	}
	tlsConfig := &tls.Config{ServerName: s.host, MinVersion: tls.VersionTLS12}
	if f := cfg.String("tls_ca_file"); f != "" {
		pem, err := os.ReadFile(f)
		if err != nil {
			diags = append(diags, sdk.FieldDiagnostic("tls_ca_file", "%s", err.Error())...)
		} else {
			pool, err := x509.SystemCertPool()
			if err != nil {
				pool = x509.NewCertPool()
			}
			if !pool.AppendCertsFromPEM(pem) {
				diags = append(diags, sdk.FieldDiagnostic("tls_ca_file", "%s", "no PEM certificate in "+f)...)
			}
			tlsConfig.RootCAs = pool
		}
	}
	s.options = []gomail.Option{
		gomail.WithPort(int(port)),
		gomail.WithTimeout(cfg.Duration("connect_timeout")),
		gomail.WithTLSConfig(tlsConfig),
	}
	switch cfg.String("tls_policy") {
	case "none":
		s.options = append(s.options, gomail.WithTLSPolicy(gomail.NoTLS))
	case "opportunistic":
		s.options = append(s.options, gomail.WithTLSPolicy(gomail.TLSOpportunistic))
	case "mandatory":
		s.options = append(s.options, gomail.WithTLSPolicy(gomail.TLSMandatory))
	case "implicit":
		s.options = append(s.options, gomail.WithSSL())
	}
	if h := cfg.String("helo"); h != "" {
		s.options = append(s.options, gomail.WithHELO(h))
	}
	user, pass := cfg.String("username"), cfg.String("password")
	switch {
	case user != "" && pass == "":
		diags = append(diags, sdk.FieldDiagnostic("password", "is required when username is set")...)
	case user == "" && pass != "":
		diags = append(diags, sdk.FieldDiagnostic("username", "is required when password is set")...)
	case user != "":
		mech := map[string]gomail.SMTPAuthType{
			"auto": gomail.SMTPAuthAutoDiscover, "plain": gomail.SMTPAuthPlain, "login": gomail.SMTPAuthLogin,
			"cram-md5": gomail.SMTPAuthCramMD5, "scram-sha-256": gomail.SMTPAuthSCRAMSHA256,
		}[cfg.String("auth_mechanism")]
		s.options = append(s.options, gomail.WithSMTPAuth(mech), gomail.WithUsername(user), gomail.WithPassword(pass))
	}
	return s, diags
}

// reservedHeaders are set by the plugin itself; a request may not override
// them through DeliverRequest.headers.
var reservedHeaders = map[string]bool{
	"From": true, "To": true, "Cc": true, "Bcc": true, "Subject": true, "Date": true, "Message-Id": true,
	"Mime-Version": true, "Content-Type": true, "Content-Transfer-Encoding": true, "Sender": true, "Return-Path": true,
}

// MessageID derives the Message-ID (without angle brackets) from an
// idempotency key: a repeat of the same delivery carries the same id.
func MessageID(key, domain string) string {
	sum := sha256.Sum256([]byte(key))
	return "ezscale." + hex.EncodeToString(sum[:16]) + "@" + domain
}

// Deliver implements sdk.Notifier.
func (p *Plugin) Deliver(ctx context.Context, req *pb.DeliverRequest) (*pb.DeliverResponse, error) {
	s, err := p.Settings()
	if err != nil {
		return nil, err
	}
	msg, id, err := s.message(req)
	if err != nil {
		return nil, err
	}
	client, err := gomail.NewClient(s.host, s.options...)
	if err != nil {
		return nil, sdk.Errorf(sdk.Internal, "building SMTP client: %v", err)
	}
	sctx, cancel := context.WithTimeout(ctx, s.sendTimeout)
	defer cancel()
	if err := client.DialAndSendWithContext(sctx, msg); err != nil {
		return nil, classify(err)
	}
	return &pb.DeliverResponse{ProviderMessageId: "<" + id + ">"}, nil
}

func (s *settings) message(req *pb.DeliverRequest) (*gomail.Msg, string, error) {
	if req.GetChannel() != "email" {
		return nil, "", sdk.FieldErrorf("channel", "the email plugin delivers the email channel, not %q", req.GetChannel())
	}
	if req.GetRecipient() == "" {
		return nil, "", sdk.FieldErrorf("recipient", "is required")
	}
	rcpt, err := mail.ParseAddress(req.GetRecipient())
	if err != nil {
		return nil, "", sdk.FieldErrorf("recipient", "not an email address: %v", err)
	}
	if req.GetTextBody() == "" && req.GetHtmlBody() == "" {
		return nil, "", sdk.FieldErrorf("text_body", "a text or an HTML body is required")
	}
	m := gomail.NewMsg()
	m.FromMailAddress(s.from)
	if err := m.AddToFormat(req.GetRecipientName(), rcpt.Address); err != nil {
		return nil, "", sdk.FieldErrorf("recipient", "%v", err)
	}
	m.Subject(req.GetSubject())
	id := MessageID(req.GetIdempotencyKey(), s.msgIDDomain)
	m.SetMessageIDWithValue(id)
	m.SetDate()
	for name, value := range req.GetHeaders() {
		canonical := textproto.CanonicalMIMEHeaderKey(name)
		switch {
		case !validHeaderName(name):
			return nil, "", sdk.FieldErrorf("headers."+name, "not a valid header name")
		case reservedHeaders[canonical]:
			return nil, "", sdk.FieldErrorf("headers."+name, "is set by the email plugin and cannot be overridden")
		case strings.ContainsAny(value, "\r\n"):
			// A newline would let a value inject further headers.
			return nil, "", sdk.FieldErrorf("headers."+name, "must not contain line breaks")
		}
		m.SetGenHeader(gomail.Header(canonical), value)
	}
	switch {
	case req.GetTextBody() != "" && req.GetHtmlBody() != "":
		m.SetBodyString(gomail.TypeTextPlain, req.GetTextBody())
		m.AddAlternativeString(gomail.TypeTextHTML, req.GetHtmlBody())
	case req.GetTextBody() != "":
		m.SetBodyString(gomail.TypeTextPlain, req.GetTextBody())
	default:
		m.SetBodyString(gomail.TypeTextHTML, req.GetHtmlBody())
	}
	return m, id, nil
}

// validHeaderName allows RFC 5322 field names: printable ASCII but colon.
func validHeaderName(name string) bool {
	if name == "" {
		return false
	}
	for _, r := range name {
		if r < 33 || r > 126 || r == ':' {
			return false
		}
	}
	return true
}

// classify maps SMTP failures to SDK error kinds: the core retries
// Unavailable later and gives up on the others.
func classify(err error) error {
	var tp *textproto.Error
	if errors.As(err, &tp) {
		switch {
		case tp.Code == 535 || tp.Code == 534 || tp.Code == 530:
			return sdk.Errorf(sdk.Unauthenticated, "SMTP server refused the credentials: %v", err)
		case tp.Code >= 400 && tp.Code < 500:
			return sdk.UnavailableError(time.Minute, "SMTP server deferred the message: %v", err)
		}
	}
	var se *gomail.SendError
	if errors.As(err, &se) {
		switch {
		case se.IsTemp():
			return sdk.UnavailableError(time.Minute, "SMTP server deferred the message: %v", err)
		case se.Reason == gomail.ErrSMTPRcptTo:
			return sdk.FieldErrorf("recipient", "SMTP server refused the recipient: %v", err)
		case se.ErrorCode() >= 500:
			return sdk.Errorf(sdk.InvalidInput, "SMTP server refused the message: %v", err)
		}
	}
	var ne net.Error
	if errors.As(err, &ne) || errors.Is(err, context.DeadlineExceeded) || errors.Is(err, os.ErrDeadlineExceeded) {
		return sdk.UnavailableError(time.Minute, "SMTP server unreachable: %v", err)
	}
	if strings.Contains(err.Error(), "auth") {
		return sdk.Errorf(sdk.Unauthenticated, "SMTP authentication failed: %v", err)
	}
	return sdk.UnavailableError(time.Minute, "sending mail: %v", err)
}

var (
	_ sdk.Plugin          = (*Plugin)(nil)
	_ sdk.ConfigValidator = (*Plugin)(nil)
	_ sdk.Notifier        = (*Plugin)(nil)
)
