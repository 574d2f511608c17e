package notify_test

import (
	"io"
	"net"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
)

// smtpSink is an in-process SMTP server (emersion/go-smtp, as in
// plugins/email's tests) that accepts and counts every message.
type smtpSink struct {
	host     string
	port     int
	received atomic.Int64
}

func startSMTP(t testing.TB) *smtpSink {
	t.Helper()
	s := &smtpSink{host: "127.0.0.1"}
	srv := smtp.NewServer(&sinkBackend{s: s})
	srv.Domain = "localhost"
	srv.ReadTimeout = 30 * time.Second
	srv.WriteTimeout = 30 * time.Second
	srv.MaxRecipients = 1
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s.port = l.Addr().(*net.TCPAddr).Port
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(func() { _ = srv.Close() })
	return s
}

type sinkBackend struct{ s *smtpSink }

func (b *sinkBackend) NewSession(*smtp.Conn) (smtp.Session, error) { return &sinkSession{s: b.s}, nil }

type sinkSession struct{ s *smtpSink }

func (*sinkSession) Mail(string, *smtp.MailOptions) error { return nil }
func (*sinkSession) Rcpt(string, *smtp.RcptOptions) error { return nil }
func (s *sinkSession) Data(r io.Reader) error {
	if _, err := io.Copy(io.Discard, r); err != nil {
		return err
	}
	s.s.received.Add(1)
	return nil
}
func (*sinkSession) Reset()        {}
func (*sinkSession) Logout() error { return nil }
