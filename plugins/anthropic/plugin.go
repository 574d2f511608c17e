package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"time"

	"github.com/anthropics/anthropic-sdk-go/v2"
	"github.com/anthropics/anthropic-sdk-go/v2/option"

	"github.com/ezscale/platform/plugins/internal/apierror"
	"github.com/ezscale/platform/plugins/internal/pluginconf"
	"github.com/ezscale/platform/sdk"
	pb "github.com/ezscale/platform/sdk/pluginv1"
)

// Version is the plugin's version, reported by Describe.
const Version = "0.1.0"

// EscalateTool is the one tool the model is offered. Calling it is the
// assistant's only way to act: it asks for a human; the core opens the
// ticket.
const EscalateTool = "escalate_to_human"

// Plugin is the Anthropic assistant. Configure may swap the settings while
// answers run, so calls take them under a read lock.
type Plugin struct {
	*pluginconf.Holder[*configured]
}

// configured is a config's settings and the client built from them.
type configured struct {
	*settings
	client *anthropic.Client
}

// Interface guards: the compiler checks the plugin's kinds.
var (
	_ sdk.Plugin          = (*Plugin)(nil)
	_ sdk.ConfigValidator = (*Plugin)(nil)
	_ sdk.Assistant       = (*Plugin)(nil)
)

// New returns an unconfigured plugin. Configure makes no API call: a bad
// key shows as Unauthenticated on the first answer.
func New() *Plugin {
	return &Plugin{Holder: pluginconf.New(sdk.Description{Name: "anthropic", Version: Version, Schema: schema()}, configure)}
}

// configure parses cfg and builds the client. The plugin's settings are
// its only source: nothing is read from the process environment
// (ANTHROPIC_*).
func configure(cfg sdk.Config) (*configured, sdk.Diagnostics) {
	s, diags := parseConfig(cfg)
	if diags.HasErrors() {
		return nil, diags
	}
	c := anthropic.NewClient(
		option.WithoutEnvironmentDefaults(),
		option.WithAPIKey(s.apiKey),
		option.WithBaseURL(s.baseURL),
		option.WithMaxRetries(s.maxRetries),
		option.WithHTTPClient(&http.Client{}),
	)
	return &configured{settings: s, client: &c}, diags
}

// Answer is StreamAnswer with the pieces dropped.
func (p *Plugin) Answer(ctx context.Context, req *pb.AnswerRequest) (*pb.AnswerResponse, error) {
	var done *pb.AnswerResponse
	err := p.StreamAnswer(ctx, &pb.StreamAnswerRequest{Request: req}, func(m *pb.StreamAnswerResponse) error {
		if d := m.GetDone(); d != nil {
			done = d
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return done, nil
}

// StreamAnswer streams the model's answer: each text delta as it comes,
// then the finished answer with usage, citations and the escalation.
func (p *Plugin) StreamAnswer(ctx context.Context, r *pb.StreamAnswerRequest, send func(*pb.StreamAnswerResponse) error) error {
	c, err := p.Settings()
	if err != nil {
		return err
	}
	s, client := c.settings, c.client
	req := r.GetRequest()
	if strings.TrimSpace(req.GetQuestion()) == "" {
		return sdk.FieldErrorf("request.question", "is required")
	}
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()

	params := buildParams(s, req)
	stream := client.Messages.NewStreaming(ctx, params)
	defer stream.Close()
	var msg anthropic.Message
	for stream.Next() {
		ev := stream.Current()
		if err := msg.Accumulate(ev); err != nil {
			return sdk.Errorf(sdk.Internal, "reading the answer: %v", err)
		}
		if ev.Type == "content_block_delta" && ev.Delta.Type == "text_delta" && ev.Delta.Text != "" {
			if err := send(&pb.StreamAnswerResponse{Event: &pb.StreamAnswerResponse_Text{Text: ev.Delta.Text}}); err != nil {
				return err
			}
		}
	}
	if err := stream.Err(); err != nil {
		return toSDK(ctx, err)
	}
	return send(&pb.StreamAnswerResponse{Event: &pb.StreamAnswerResponse_Done{Done: finish(&msg, req)}})
}

// finish turns the accumulated message into the finished answer.
func finish(msg *anthropic.Message, req *pb.AnswerRequest) *pb.AnswerResponse {
	out := &pb.AnswerResponse{
		Model:      string(msg.Model),
		StopReason: string(msg.StopReason),
		Usage: &pb.TokenUsage{
			InputTokens:              msg.Usage.InputTokens,
			OutputTokens:             msg.Usage.OutputTokens,
			CacheCreationInputTokens: msg.Usage.CacheCreationInputTokens,
			CacheReadInputTokens:     msg.Usage.CacheReadInputTokens,
		},
	}
	var text strings.Builder
	for _, b := range msg.Content {
		switch b.Type {
		case "text":
			text.WriteString(b.Text)
		case "tool_use":
			if b.Name != EscalateTool {
				continue // no other tool is offered; nothing else can act
			}
			var in struct {
				Reason string `json:"reason"`
			}
			_ = json.Unmarshal(b.Input, &in)
			out.Escalate = true
			out.Reason = strings.TrimSpace(in.Reason)
			if out.Reason == "" {
				out.Reason = "the assistant asked for a human"
			}
			out.StopReason = "escalate"
		}
	}
	out.Answer = strings.TrimSpace(text.String())
	out.CitedDocumentIds = citations(out.Answer, req.GetDocuments())
	return out
}

// citationMarker is how the model cites an article: [kb:ID].
var citationMarker = regexp.MustCompile(`\[kb:([^\]\s]+)\]`)

// citations returns the ids of the request's documents the text cites, in
// order of first citation, each once; markers naming any other id are
// ignored.
func citations(text string, docs []*pb.KnowledgeDocument) []string {
	known := map[string]bool{}
	for _, d := range docs {
		known[d.GetId()] = true
	}
	var out []string
	seen := map[string]bool{}
	for _, m := range citationMarker.FindAllStringSubmatch(text, -1) {
		if id := m[1]; known[id] && !seen[id] {
			seen[id] = true
			out = append(out, id)
		}
	}
	return out
}

// toSDK maps the Anthropic SDK's errors onto the SDK's error kinds.
func toSDK(ctx context.Context, err error) error {
	var apiErr *anthropic.Error
	if errors.As(err, &apiErr) {
		msg := fmt.Sprintf("anthropic: %d %s (request %s)", apiErr.StatusCode, apiErr.Message, apiErr.RequestID)
		switch code := apiErr.StatusCode; {
		case code == http.StatusOK:
			// An error event in the middle of a streamed answer.
			return sdk.UnavailableError(0, "anthropic: the answer broke off: %s", apiErr.Message)
		case code == http.StatusUnauthorized, code == http.StatusForbidden:
			return sdk.Errorf(sdk.Unauthenticated, "%s", msg)
		case code == http.StatusTooManyRequests, code >= 500:
			var wait time.Duration
			if apiErr.Response != nil {
				wait = apierror.ParseRetryAfter(apiErr.Response.Header.Get("retry-after"), time.Now())
			}
			return sdk.UnavailableError(wait, "%s", msg)
		case code == http.StatusPaymentRequired:
			return sdk.UnavailableError(0, "%s: the Anthropic account needs credit", msg)
		default:
			return sdk.Errorf(sdk.InvalidInput, "%s", msg)
		}
	}
	if ctx.Err() != nil {
		return sdk.UnavailableError(0, "anthropic: %v", ctx.Err())
	}
	return sdk.UnavailableError(0, "anthropic: %v", err)
}
