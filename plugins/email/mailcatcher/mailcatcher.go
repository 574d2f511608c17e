// Package mailcatcher is the sandbox's mail server (`make demo`): it accepts
// every message over SMTP (emersion/go-smtp; plain text, no authentication,
// any sender and recipient), keeps the latest ones in memory, and shows them
// to people (a web page) and scripts (a JSON API). Nothing is relayed.
//
// The email plugin is pointed at its SMTP listener with tls_policy "none";
// its HTTP handler serves:
//
//	GET    /                         the inbox, newest first (HTML)
//	GET    /messages/{id}            one message: headers, text, links, HTML part (HTML)
//	GET    /messages/{id}/html       the message's HTML part, sandboxed (no script runs)
//	GET    /api/v1/messages          {"data":[summary…],"total":n}, newest first; ?to=ADDR filters
//	GET    /api/v1/messages/{id}     the whole message: text, html, links, headers
//	GET    /api/v1/messages/{id}/raw the message as received (message/rfc822)
//	DELETE /api/v1/messages          empties the inbox
//
// It is a development tool: it trusts its callers and is meant for loopback
// addresses only.
package mailcatcher

import (
	"bytes"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/emersion/go-smtp"
)

// Options configure a Catcher.
type Options struct {
	// Limit is how many messages are kept; the oldest is dropped first
	// (default 500).
	Limit int
	// MaxMessageBytes bounds one message (default 10 MiB).
	MaxMessageBytes int64
	// Logf, when set, is told about every message accepted.
	Logf func(format string, args ...any)
	// Now is the clock (default time.Now).
	Now func() time.Time
}

// Catcher holds the messages. Its methods are safe for concurrent use.
type Catcher struct {
	opts    Options
	handler http.Handler

	mu       sync.Mutex
	next     int
	messages []*Message // oldest first
	arrived  chan struct{}
}

// New returns an empty Catcher.
func New(opts Options) *Catcher {
	if opts.Limit <= 0 {
		opts.Limit = 500
	}
	if opts.MaxMessageBytes <= 0 {
		opts.MaxMessageBytes = 10 << 20
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	c := &Catcher{opts: opts, arrived: make(chan struct{})}
	c.handler = c.routes()
	return c
}

// SMTPServer returns an SMTP server delivering into c; serve it on a
// listener with Serve, stop it with Close.
func (c *Catcher) SMTPServer() *smtp.Server {
	srv := smtp.NewServer(backend{c})
	srv.Domain = "localhost"
	srv.MaxMessageBytes = c.opts.MaxMessageBytes
	srv.MaxRecipients = 100
	srv.ReadTimeout = time.Minute
	srv.WriteTimeout = time.Minute
	return srv
}

// Messages returns the messages kept, newest first.
func (c *Catcher) Messages() []Message {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]Message, 0, len(c.messages))
	for i := len(c.messages) - 1; i >= 0; i-- {
		out = append(out, *c.messages[i])
	}
	return out
}

// Message returns the message with that id.
func (c *Catcher) Message(id string) (Message, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, m := range c.messages {
		if m.ID == id {
			return *m, true
		}
	}
	return Message{}, false
}

// Arrived returns a channel closed when the next message arrives (or the
// inbox is emptied), so a caller can wait without polling.
func (c *Catcher) Arrived() <-chan struct{} {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.arrived
}

// Clear empties the inbox.
func (c *Catcher) Clear() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.messages = nil
	close(c.arrived)
	c.arrived = make(chan struct{})
}

// add stores a message received over SMTP.
func (c *Catcher) add(from string, to []string, raw []byte) *Message {
	m := parse(raw)
	m.From, m.To, m.Size = from, to, len(raw)
	c.mu.Lock()
	c.next++
	m.ID = strconv.Itoa(c.next)
	m.ReceivedAt = c.opts.Now().UTC()
	c.messages = append(c.messages, m)
	if over := len(c.messages) - c.opts.Limit; over > 0 {
		c.messages = append([]*Message(nil), c.messages[over:]...)
	}
	close(c.arrived)
	c.arrived = make(chan struct{})
	c.mu.Unlock()
	if c.opts.Logf != nil {
		c.opts.Logf("message %s from %s to %s: %q", m.ID, from, strings.Join(to, ", "), m.Subject)
	}
	return m
}

type backend struct{ c *Catcher }

func (b backend) NewSession(*smtp.Conn) (smtp.Session, error) { return &session{c: b.c}, nil }

// session accepts any sender and recipient: a catcher keeps everything.
type session struct {
	c    *Catcher
	from string
	to   []string
}

func (s *session) Mail(from string, _ *smtp.MailOptions) error {
	s.from = from
	return nil
}

func (s *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	s.to = append(s.to, to)
	return nil
}

func (s *session) Data(r io.Reader) error {
	var buf bytes.Buffer
	if _, err := io.Copy(&buf, r); err != nil {
		return err
	}
	s.c.add(s.from, append([]string(nil), s.to...), buf.Bytes())
	return nil
}

func (s *session) Reset()        { s.from, s.to = "", nil }
func (s *session) Logout() error { return nil }
