// Package fakeanthropic is an in-memory Anthropic Messages API
// (POST /v1/messages) for tests, the demo and the benchmarks. It behaves
// like the reference (shared/reference/third-party-apis.md, sections 7 and
// 15): x-api-key auth (or the Bearer header the v2 SDK sends), both anthropic-version values, JSON error bodies
// with request_id and a request-id header on every response, the
// anthropic-ratelimit-* headers, 429 with retry-after, 529 overloaded, and
// streaming SSE with every event type (ping and a mid-stream error event
// included).
//
// What the model says comes from a Responder; the default one echoes the
// question, cites the first document and calls the first offered tool
// when the customer asks for a human. It is deterministic.
package fakeanthropic

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/ezscale/platform/plugins/internal/fault"
)

// Route is the one route the fake serves, named as fault injection names it.
const Route = "POST /v1/messages"

// The anthropic-version values the fake accepts: the v1 SDK's and the v2
// SDK's.
var Versions = []string{"2023-06-01", "2026-10-21"}

// DefaultAPIKey is the key the fake accepts when Options names none.
const DefaultAPIKey = "sk-ant-test-key"

// MaxTokensLimit is the largest max_tokens the fake accepts.
const MaxTokensLimit = 64000

// Options configure a fake.
type Options struct {
	// APIKey is the x-api-key it accepts. [DefaultAPIKey]
	APIKey string
	// RequestsPerMinute limits requests; over it the fake answers 429
	// rate_limit_error with retry-after. 0: 50 (the lowest tier's limit);
	// negative: no limit.
	RequestsPerMinute int
	// Responder writes the model's replies. [DefaultResponder]
	Responder Responder
	// Now is the clock for rate-limit windows. [time.Now]
	Now func() time.Time
}

// Reply is what the fake model answers: text (streamed as deltas of
// Chunks words each), then an optional tool call.
type Reply struct {
	Text string
	// Tool, when set, follows the text as a tool_use block and makes the
	// stop reason "tool_use".
	Tool *ToolCall
	// StopReason overrides the stop reason ("end_turn", or "tool_use"
	// with a Tool).
	StopReason string
}

// ToolCall is a tool_use block.
type ToolCall struct {
	Name  string
	Input map[string]any
}

// Responder answers one request.
type Responder func(*Request) Reply

// Request is a decoded Messages request, as the fake saw it.
type Request struct {
	Model         string          `json:"model"`
	MaxTokens     int64           `json:"max_tokens"`
	System        json.RawMessage `json:"system,omitempty"`
	Messages      []Message       `json:"messages"`
	Tools         []Tool          `json:"tools,omitempty"`
	ToolChoice    json.RawMessage `json:"tool_choice,omitempty"`
	Stream        bool            `json:"stream,omitempty"`
	StopSequences []string        `json:"stop_sequences,omitempty"`
	Metadata      *struct {
		UserID string `json:"user_id"`
	} `json:"metadata,omitempty"`
	// Header is the request's HTTP header.
	Header http.Header `json:"-"`
}

// Message is one message of a request.
type Message struct {
	Role    string          `json:"role"`
	Content json.RawMessage `json:"content"`
}

// Block is a content block of a request message (text, document,
// tool_use, tool_result); unused fields stay empty.
type Block struct {
	Type    string `json:"type"`
	Text    string `json:"text,omitempty"`
	Title   string `json:"title,omitempty"`
	Context string `json:"context,omitempty"`
	Source  *struct {
		Type      string `json:"type"`
		MediaType string `json:"media_type"`
		Data      string `json:"data"`
	} `json:"source,omitempty"`
	Name      string          `json:"name,omitempty"`
	Input     json.RawMessage `json:"input,omitempty"`
	ToolUseID string          `json:"tool_use_id,omitempty"`
}

// Tool is an offered tool.
type Tool struct {
	Name        string          `json:"name"`
	Description string          `json:"description,omitempty"`
	InputSchema json.RawMessage `json:"input_schema"`
}

// Blocks returns the message's content as blocks (a string content is one
// text block).
func (m Message) Blocks() []Block {
	var s string
	if json.Unmarshal(m.Content, &s) == nil {
		return []Block{{Type: "text", Text: s}}
	}
	var bs []Block
	_ = json.Unmarshal(m.Content, &bs)
	return bs
}

// SystemText returns the system prompt's text (a string or text blocks).
func (r *Request) SystemText() string {
	var s string
	if json.Unmarshal(r.System, &s) == nil {
		return s
	}
	var bs []Block
	_ = json.Unmarshal(r.System, &bs)
	var parts []string
	for _, b := range bs {
		parts = append(parts, b.Text)
	}
	return strings.Join(parts, "\n")
}

// LastUserText is the text of the last text block of the last user
// message: the question, in a request built as the plugin builds it.
func (r *Request) LastUserText() string {
	for i := len(r.Messages) - 1; i >= 0; i-- {
		if r.Messages[i].Role != "user" {
			continue
		}
		bs := r.Messages[i].Blocks()
		for j := len(bs) - 1; j >= 0; j-- {
			if bs[j].Type == "text" {
				return bs[j].Text
			}
		}
		return ""
	}
	return ""
}

// Documents returns the request's document blocks, in order.
func (r *Request) Documents() []Block {
	var out []Block
	for _, m := range r.Messages {
		for _, b := range m.Blocks() {
			if b.Type == "document" {
				out = append(out, b)
			}
		}
	}
	return out
}

// DefaultResponder echoes the question. When a tool is offered and the
// question asks for a human (or a person, an operator, staff), it calls the
// first tool with a reason instead. When the request carries documents it
// cites the first one's context (as "[kb:ID]" when the context is
// "id: ID").
func DefaultResponder(r *Request) Reply {
	q := r.LastUserText()
	lq := strings.ToLower(q)
	if len(r.Tools) > 0 {
		for _, w := range []string{"human", "person", "operator", "staff"} {
			if strings.Contains(lq, w) {
				return Reply{Text: "I will hand this over to our team.",
					Tool: &ToolCall{Name: r.Tools[0].Name, Input: map[string]any{"reason": "the customer asked for a human"}}}
			}
		}
	}
	if len(q) > 200 {
		q = q[:200]
	}
	text := "You asked: " + q
	if docs := r.Documents(); len(docs) > 0 {
		id, ok := strings.CutPrefix(docs[0].Context, "id: ")
		if !ok {
			id = docs[0].Title
		}
		text += fmt.Sprintf(" See %q [kb:%s].", docs[0].Title, id)
	}
	return Reply{Text: text}
}

// Server is the fake; it is an http.Handler. Fault injection (FailNext,
// SetLatency, Calls…) comes from the embedded Injector, with routes named
// as Route, and over HTTP under /__fake/.
type Server struct {
	*fault.Injector
	opts Options
	lim  *fault.Limiter
	mux  *http.ServeMux

	mu        sync.Mutex
	requests  []*Request
	breaks    []streamBreak
	responder Responder
}

type streamBreak struct {
	after     int
	errorType string
}

// New returns a fake.
func New(opts Options) *Server {
	if opts.APIKey == "" {
		opts.APIKey = DefaultAPIKey
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Responder == nil {
		opts.Responder = DefaultResponder
	}
	rpm := opts.RequestsPerMinute
	if rpm == 0 {
		rpm = 50
	}
	if rpm < 0 {
		rpm = 0
	}
	s := &Server{Injector: &fault.Injector{}, opts: opts, lim: fault.NewLimiter(rpm, time.Minute), responder: opts.Responder}
	s.mux = http.NewServeMux()
	s.mux.HandleFunc(Route, s.messages)
	s.mux.Handle(fault.ControlPrefix, s.Injector.ControlHandler())
	s.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		s.writeError(w, http.StatusNotFound, "not_found_error", "Not found", "")
	})
	return s
}

func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.mux.ServeHTTP(w, r) }

// SetResponder replaces the responder.
func (s *Server) SetResponder(r Responder) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.responder = r
}

// SetRateLimit changes the requests-per-minute limit (0: none) and starts
// a new window.
func (s *Server) SetRateLimit(perMinute int) { s.lim.Set(perMinute, time.Minute) }

// BreakNextStream makes the next streamed answer send an error event of
// errorType (e.g. "overloaded_error") after that many text deltas, and end.
func (s *Server) BreakNextStream(afterDeltas int, errorType string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.breaks = append(s.breaks, streamBreak{after: afterDeltas, errorType: errorType})
}

// Requests returns the requests the fake answered (authenticated and
// well-formed), oldest first.
func (s *Server) Requests() []*Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]*Request(nil), s.requests...)
}

var errorTypes = map[int]string{
	400: "invalid_request_error", 401: "authentication_error", 402: "billing_error", 403: "permission_error",
	404: "not_found_error", 413: "request_too_large", 429: "rate_limit_error", 500: "api_error", 529: "overloaded_error",
}

var errorMessages = map[string]string{
	"authentication_error": "invalid x-api-key", "rate_limit_error": "Number of requests has exceeded your rate limit",
	"overloaded_error": "Overloaded", "api_error": "Internal server error", "billing_error": "Your credit balance is too low",
	"permission_error": "Your API key does not have permission to use the specified resource",
	"not_found_error":  "Not found", "request_too_large": "Request exceeds the maximum allowed number of bytes",
	"invalid_request_error": "Invalid request",
}

func newRequestID() string {
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	return "req_" + hex.EncodeToString(b)
}

func (s *Server) writeError(w http.ResponseWriter, status int, typ, msg, requestID string) {
	if requestID == "" {
		requestID = newRequestID()
		w.Header().Set("request-id", requestID)
	}
	if msg == "" {
		msg = errorMessages[typ]
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{
		"type": "error", "error": map[string]string{"type": typ, "message": msg}, "request_id": requestID,
	})
}

// rateHeaders sets the anthropic-ratelimit-* headers. Token limits are the
// fake's nominal ones; requests follow the limiter.
func (s *Server) rateHeaders(h http.Header, limit, remaining int, reset time.Duration) {
	now := s.opts.Now().UTC()
	if limit == 0 {
		limit, remaining = 1000, 1000
	}
	resetAt := now.Add(reset).Format(time.RFC3339)
	h.Set("anthropic-ratelimit-requests-limit", strconv.Itoa(limit))
	h.Set("anthropic-ratelimit-requests-remaining", strconv.Itoa(remaining))
	h.Set("anthropic-ratelimit-requests-reset", resetAt)
	for _, k := range []string{"tokens", "input-tokens", "output-tokens"} {
		h.Set("anthropic-ratelimit-"+k+"-limit", "400000")
		h.Set("anthropic-ratelimit-"+k+"-remaining", "400000")
		h.Set("anthropic-ratelimit-"+k+"-reset", now.Format(time.RFC3339))
	}
}

// authenticated reports whether the request carries the key: in x-api-key
// (the reference's header) or as "Authorization: Bearer <key>", which is
// what the v2 Go SDK (v2.17.0) sends for option.WithAPIKey.
func (s *Server) authenticated(r *http.Request) bool {
	if k := r.Header.Get("x-api-key"); k != "" {
		return k == s.opts.APIKey
	}
	tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	return ok && tok == s.opts.APIKey
}

func (s *Server) messages(w http.ResponseWriter, r *http.Request) {
	reqID := newRequestID()
	w.Header().Set("request-id", reqID)
	if !s.authenticated(r) {
		s.writeError(w, 401, "authentication_error", "", reqID)
		return
	}
	v := r.Header.Get("anthropic-version")
	if v == "" {
		s.writeError(w, 400, "invalid_request_error", "anthropic-version: header is required", reqID)
		return
	}
	known := false
	for _, k := range Versions {
		known = known || k == v
	}
	if !known {
		s.writeError(w, 400, "invalid_request_error", fmt.Sprintf("anthropic-version: invalid version %q", v), reqID)
		return
	}
	if f, ok := s.Before(r.Context(), Route); ok {
		typ := errorTypes[f.Status]
		if typ == "" {
			typ = "api_error"
		}
		if f.Status == 429 {
			s.rateHeaders(w.Header(), 50, 0, f.RetryAfter)
		}
		if f.RetryAfter > 0 {
			w.Header().Set("retry-after", strconv.Itoa(fault.RetryAfterSeconds(f.RetryAfter)))
		}
		s.writeError(w, f.Status, typ, f.Message, reqID)
		return
	}
	ok, limit, remaining, reset := s.lim.Allow(s.opts.Now())
	s.rateHeaders(w.Header(), limit, remaining, reset)
	if !ok {
		w.Header().Set("retry-after", strconv.Itoa(fault.RetryAfterSeconds(reset)))
		s.writeError(w, 429, "rate_limit_error", "", reqID)
		return
	}
	var req Request
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 32<<20)).Decode(&req); err != nil {
		if strings.Contains(err.Error(), "too large") {
			s.writeError(w, 413, "request_too_large", "", reqID)
			return
		}
		s.writeError(w, 400, "invalid_request_error", "There was an issue with the format of your request: "+err.Error(), reqID)
		return
	}
	if msg := validate(&req); msg != "" {
		s.writeError(w, 400, "invalid_request_error", msg, reqID)
		return
	}
	req.Header = r.Header.Clone()
	s.mu.Lock()
	s.requests = append(s.requests, &req)
	responder := s.responder
	var brk *streamBreak
	if req.Stream && len(s.breaks) > 0 {
		brk = &s.breaks[0]
		s.breaks = s.breaks[1:]
	}
	s.mu.Unlock()

	reply := responder(&req)
	msgID := "msg_" + hex.EncodeToString([]byte(reqID[4:16]))
	usage := map[string]int64{"input_tokens": inputTokens(&req), "output_tokens": 0,
		"cache_creation_input_tokens": 0, "cache_read_input_tokens": 0}
	chunks := chunk(reply.Text)
	out := outputTokens(reply)
	if out > req.MaxTokens {
		// Cut the answer where the budget ends, as the model would.
		keep := int(req.MaxTokens)
		if keep < len(chunks) {
			chunks = chunks[:keep]
		}
		reply.Text = strings.Join(chunks, "")
		reply.Tool = nil
		reply.StopReason = "max_tokens"
		out = req.MaxTokens
	}
	stop := reply.StopReason
	if stop == "" {
		stop = "end_turn"
		if reply.Tool != nil {
			stop = "tool_use"
		}
	}
	toolID := "toolu_" + hex.EncodeToString([]byte(reqID[4:16]))
	if !req.Stream {
		var content []map[string]any
		if reply.Text != "" {
			content = append(content, map[string]any{"type": "text", "text": reply.Text})
		}
		if reply.Tool != nil {
			content = append(content, map[string]any{"type": "tool_use", "id": toolID, "name": reply.Tool.Name, "input": reply.Tool.Input})
		}
		usage["output_tokens"] = out
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{
			"id": msgID, "type": "message", "role": "assistant", "model": req.Model, "content": content,
			"stop_reason": stop, "stop_sequence": nil, "usage": usage,
		})
		return
	}
	s.stream(r.Context(), w, &req, msgID, toolID, chunks, reply, stop, usage, out, brk)
}

func (s *Server) stream(ctx context.Context, w http.ResponseWriter, req *Request, msgID, toolID string, chunks []string, reply Reply,
	stop string, usage map[string]int64, out int64, brk *streamBreak) {
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	w.WriteHeader(http.StatusOK)
	fl, _ := w.(http.Flusher)
	send := func(event string, data any) bool {
		b, _ := json.Marshal(data)
		if _, err := fmt.Fprintf(w, "event: %s\ndata: %s\n\n", event, b); err != nil {
			return false
		}
		if fl != nil {
			fl.Flush()
		}
		return ctx.Err() == nil
	}
	startUsage := map[string]int64{}
	for k, v := range usage {
		startUsage[k] = v
	}
	startUsage["output_tokens"] = 1
	if !send("message_start", map[string]any{"type": "message_start", "message": map[string]any{
		"id": msgID, "type": "message", "role": "assistant", "model": req.Model, "content": []any{},
		"stop_reason": nil, "stop_sequence": nil, "usage": startUsage}}) {
		return
	}
	index := 0
	deltas := 0
	broken := func() bool {
		if brk != nil && deltas >= brk.after {
			send("error", map[string]any{"type": "error", "error": map[string]string{
				"type": brk.errorType, "message": errorMessages[brk.errorType]}})
			return true
		}
		return false
	}
	if reply.Text != "" {
		if !send("content_block_start", map[string]any{"type": "content_block_start", "index": index,
			"content_block": map[string]any{"type": "text", "text": ""}}) {
			return
		}
		if !send("ping", map[string]any{"type": "ping"}) {
			return
		}
		for _, c := range chunks {
			if broken() {
				return
			}
			if !send("content_block_delta", map[string]any{"type": "content_block_delta", "index": index,
				"delta": map[string]any{"type": "text_delta", "text": c}}) {
				return
			}
			deltas++
		}
		if !send("content_block_stop", map[string]any{"type": "content_block_stop", "index": index}) {
			return
		}
		index++
	}
	if broken() {
		return
	}
	if reply.Tool != nil {
		if !send("content_block_start", map[string]any{"type": "content_block_start", "index": index,
			"content_block": map[string]any{"type": "tool_use", "id": toolID, "name": reply.Tool.Name, "input": map[string]any{}}}) {
			return
		}
		in, _ := json.Marshal(reply.Tool.Input)
		half := len(in) / 2
		for _, part := range []string{string(in[:half]), string(in[half:])} {
			if !send("content_block_delta", map[string]any{"type": "content_block_delta", "index": index,
				"delta": map[string]any{"type": "input_json_delta", "partial_json": part}}) {
				return
			}
		}
		if !send("content_block_stop", map[string]any{"type": "content_block_stop", "index": index}) {
			return
		}
	}
	if !send("message_delta", map[string]any{"type": "message_delta",
		"delta": map[string]any{"stop_reason": stop, "stop_sequence": nil},
		"usage": map[string]any{"output_tokens": out}}) {
		return
	}
	send("message_stop", map[string]any{"type": "message_stop"})
}

func validate(r *Request) string {
	switch {
	case r.Model == "":
		return "model: Field required"
	case r.MaxTokens <= 0:
		return "max_tokens: Input should be greater than or equal to 1"
	case r.MaxTokens > MaxTokensLimit:
		return fmt.Sprintf("max_tokens: %d > %d, which is the maximum allowed number of output tokens for %s", r.MaxTokens, MaxTokensLimit, r.Model)
	case len(r.Messages) == 0:
		return "messages: at least one message is required"
	case r.Messages[0].Role != "user":
		return "messages: first message must use the \"user\" role"
	}
	for i, m := range r.Messages {
		if m.Role != "user" && m.Role != "assistant" {
			return fmt.Sprintf("messages.%d.role: Input should be 'user' or 'assistant'", i)
		}
		if len(m.Blocks()) == 0 {
			return fmt.Sprintf("messages.%d.content: must not be empty", i)
		}
	}
	return ""
}

// chunk splits text into streaming deltas of one word (with its following
// spaces) each.
func chunk(text string) []string {
	var out []string
	start := 0
	for i := 1; i <= len(text); i++ {
		if i == len(text) || (text[i-1] == ' ' && text[i] != ' ') {
			out = append(out, text[start:i])
			start = i
		}
	}
	return out
}

// inputTokens estimates a request's tokens as the reference tokenizers do
// on English: about four bytes a token.
func inputTokens(r *Request) int64 {
	n := len(r.System)
	for _, m := range r.Messages {
		n += len(m.Content)
	}
	for _, t := range r.Tools {
		n += len(t.Name) + len(t.Description) + len(t.InputSchema)
	}
	return int64(math.Ceil(float64(n) / 4))
}

// outputTokens counts one token per streamed word, plus ten for a tool
// call.
func outputTokens(r Reply) int64 {
	n := int64(len(chunk(r.Text)))
	if r.Tool != nil {
		n += 10
	}
	return n
}
