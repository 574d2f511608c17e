package mailcatcher

import (
	"bytes"
	"encoding/base64"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net/mail"
	"regexp"
	"strings"
	"time"
)

// Message is one message received.
type Message struct {
	// ID is the catcher's own, counting from 1.
	ID string `json:"id"`
	// From and To are the SMTP envelope (MAIL FROM, RCPT TO).
	From       string    `json:"from"`
	To         []string  `json:"to"`
	Subject    string    `json:"subject"`
	ReceivedAt time.Time `json:"received_at"`
	// Size is the raw message's length in bytes.
	Size int `json:"size"`
	// Headers are the message's header fields, encoded words decoded.
	Headers map[string][]string `json:"headers"`
	// Text and HTML are the decoded text/plain and text/html parts (the
	// first of each).
	Text string `json:"text"`
	HTML string `json:"html"`
	// Links are the http(s) URLs in the text part, in order.
	Links []string `json:"links"`
	// Raw is the message as received.
	Raw []byte `json:"-"`
}

// Summary is what the message list shows of a message.
type Summary struct {
	ID         string    `json:"id"`
	From       string    `json:"from"`
	To         []string  `json:"to"`
	Subject    string    `json:"subject"`
	ReceivedAt time.Time `json:"received_at"`
	Size       int       `json:"size"`
}

// Summary returns the message's list entry.
func (m Message) Summary() Summary {
	return Summary{ID: m.ID, From: m.From, To: m.To, Subject: m.Subject, ReceivedAt: m.ReceivedAt, Size: m.Size}
}

var linkRe = regexp.MustCompile(`https?://[^\s<>"']+`)

// parse reads what a person would look at in raw. A message that does not
// parse is kept with its raw text as the text part.
func parse(raw []byte) *Message {
	m := &Message{Raw: raw, Headers: map[string][]string{}, Links: []string{}}
	msg, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		m.Text = string(raw)
		return m
	}
	dec := new(mime.WordDecoder)
	for k, vs := range msg.Header {
		for _, v := range vs {
			if d, err := dec.DecodeHeader(v); err == nil {
				v = d
			}
			m.Headers[k] = append(m.Headers[k], v)
		}
	}
	if s := m.Headers["Subject"]; len(s) > 0 {
		m.Subject = s[0]
	}
	walk(msg.Header.Get("Content-Type"), msg.Header.Get("Content-Transfer-Encoding"), msg.Body, m, 0)
	for _, l := range linkRe.FindAllString(m.Text, -1) {
		m.Links = append(m.Links, strings.TrimRight(l, ".,;:!?)]"))
	}
	return m
}

// walk fills m.Text and m.HTML from the first text/plain and text/html
// parts, descending into multipart bodies (to a sane depth).
func walk(contentType, encoding string, body io.Reader, m *Message, depth int) {
	mt, params, err := mime.ParseMediaType(contentType)
	if err != nil {
		mt = "text/plain"
	}
	if strings.HasPrefix(mt, "multipart/") {
		if depth > 5 {
			return
		}
		r := multipart.NewReader(body, params["boundary"])
		for {
			p, err := r.NextRawPart()
			if err != nil {
				return
			}
			walk(p.Header.Get("Content-Type"), p.Header.Get("Content-Transfer-Encoding"), p, m, depth+1)
		}
	}
	if mt != "text/plain" && mt != "text/html" {
		return
	}
	switch strings.ToLower(strings.TrimSpace(encoding)) {
	case "quoted-printable":
		body = quotedprintable.NewReader(body)
	case "base64":
		body = base64.NewDecoder(base64.StdEncoding, newlineStripper{body})
	}
	b, err := io.ReadAll(body)
	if err != nil && len(b) == 0 {
		return
	}
	switch {
	case mt == "text/plain" && m.Text == "":
		m.Text = string(b)
	case mt == "text/html" && m.HTML == "":
		m.HTML = string(b)
	}
}

// newlineStripper drops CR and LF, which base64 bodies are wrapped with.
type newlineStripper struct{ r io.Reader }

func (n newlineStripper) Read(p []byte) (int, error) {
	for {
		k, err := n.r.Read(p)
		j := 0
		for _, c := range p[:k] {
			if c != '\r' && c != '\n' {
				p[j] = c
				j++
			}
		}
		if j > 0 || err != nil {
			return j, err
		}
	}
}
