package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/ezscale/platform/sdk"
	pb "github.com/ezscale/platform/sdk/pluginv1"
)

// Plugin is a notifier for the "webhook" channel.
type Plugin struct {
	mu     sync.RWMutex
	url    string
	token  string
	client *http.Client
}

// settings is the config block, declared as a struct: the schema comes
// from the tags, and Configure decodes into it.
type settings struct {
	URL     string        `config:"url,required,url" doc:"where to POST messages"`
	Token   string        `config:"token,secret" doc:"sent as a Bearer token when set"`
	Timeout time.Duration `config:"timeout,positive" default:"10s" doc:"per delivery"`
}

var config = sdk.ConfigOf[settings]()

// Describe is static: the SDK calls it in describe mode too.
func (p *Plugin) Describe() sdk.Description {
	return sdk.Description{Name: "webhook", Version: "0.1.0", Schema: config.Schema()}
}

// Configure decodes the config; unknown, missing and invalid fields come
// back as diagnostics naming the field.
func (p *Plugin) Configure(_ context.Context, cfg sdk.Config) error {
	s, diags := config.Decode(cfg)
	if diags.HasErrors() {
		return diags
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.url, p.token = s.URL, s.Token
	p.client = &http.Client{Timeout: s.Timeout}
	return nil
}

// Health answers from local state only.
func (p *Plugin) Health(context.Context) error { return nil }

// Deliver makes the plugin a Notifier. The receiver deduplicates on the
// Idempotency-Key header, so the key doubles as the provider message id.
func (p *Plugin) Deliver(ctx context.Context, req *pb.DeliverRequest) (*pb.DeliverResponse, error) {
	if req.GetChannel() != "webhook" {
		return nil, sdk.FieldErrorf("channel", "this plugin only delivers to the webhook channel, not %q", req.GetChannel())
	}
	if req.GetRecipient() == "" {
		return nil, sdk.FieldErrorf("recipient", "is required")
	}
	body, err := json.Marshal(map[string]string{
		"recipient": req.GetRecipient(), "subject": req.GetSubject(), "text": req.GetTextBody(),
	})
	if err != nil {
		return nil, err
	}
	p.mu.RLock()
	url, token, client := p.url, p.token, p.client
	p.mu.RUnlock()

	httpReq, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return nil, sdk.Errorf(sdk.InvalidInput, "building request: %v", err)
	}
	httpReq.Header.Set("Content-Type", "application/json")
	httpReq.Header.Set("Idempotency-Key", req.GetIdempotencyKey())
	if token != "" {
		httpReq.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := client.Do(httpReq)
	if err != nil {
		// Network trouble is worth retrying later.
		return nil, sdk.UnavailableError(time.Minute, "posting webhook: %v", err)
	}
	defer resp.Body.Close()
	switch {
	case resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden:
		return nil, sdk.Errorf(sdk.Unauthenticated, "webhook refused the token (HTTP %d)", resp.StatusCode)
	case resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500:
		return nil, sdk.UnavailableError(time.Minute, "webhook answered HTTP %d", resp.StatusCode)
	case resp.StatusCode >= 400:
		return nil, sdk.Errorf(sdk.InvalidInput, "webhook answered HTTP %d", resp.StatusCode)
	}
	return &pb.DeliverResponse{ProviderMessageId: fmt.Sprintf("webhook-%s", req.GetIdempotencyKey())}, nil
}

// Interface guards: the compiler checks the plugin's kinds. Kinds are
// derived from method sets, so without them a misspelt Deliver would
// compile and the plugin would silently not be a notifier (Serve would
// refuse it, but only at start).
var (
	_ sdk.Plugin   = (*Plugin)(nil)
	_ sdk.Notifier = (*Plugin)(nil)
)
