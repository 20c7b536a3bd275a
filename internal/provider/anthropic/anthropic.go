// Package anthropic calls Anthropic's Messages API and translates it to and
// from Switchboard's OpenAI-shaped format, streams included.
package anthropic

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/switchboard-gw/switchboard/internal/api"
	ant "github.com/switchboard-gw/switchboard/internal/api/anthropic"
	wire "github.com/switchboard-gw/switchboard/internal/api/openai"
	"github.com/switchboard-gw/switchboard/internal/config"
	"github.com/switchboard-gw/switchboard/internal/provider"
)

// DefaultBaseURL is Anthropic's API origin.
const DefaultBaseURL = "https://api.anthropic.com"

func init() {
	provider.Register(provider.Spec{
		Type: "anthropic",
		Env:  config.EnvSpec{KeyVar: "ANTHROPIC_API_KEY", BaseURLVar: "ANTHROPIC_BASE_URL"},
		New: func(cfg config.Provider, hc *http.Client) (provider.Provider, error) {
			if cfg.APIKey == "" {
				return nil, fmt.Errorf("api_key is required for anthropic (set it in the config or ANTHROPIC_API_KEY)")
			}
			base := cfg.BaseURL
			if base == "" {
				base = DefaultBaseURL
			}
			c := &Client{name: cfg.Name, url: strings.TrimRight(base, "/") + "/v1/messages", hc: hc, header: http.Header{}}
			c.header.Set("x-api-key", cfg.APIKey)
			c.header.Set("anthropic-version", ant.Version)
			c.header.Set("Content-Type", "application/json")
			for k, v := range cfg.Headers {
				c.header.Set(k, v)
			}
			return c, nil
		},
	})
}

// Client calls one Anthropic account.
type Client struct {
	name   string
	url    string
	hc     *http.Client
	header http.Header
	// now is time.Now, replaceable in tests for stable "created" fields.
	now func() time.Time
}

var _ provider.Provider = (*Client)(nil)

// Chat translates the request, calls Messages, and translates the answer.
func (c *Client) Chat(ctx context.Context, req *provider.ChatRequest) (*provider.Response, error) {
	areq, tr, err := toAnthropic(req.Body, req.Model, req.DropParams, req.OnDrop)
	if err != nil {
		return nil, err
	}
	body, err := json.Marshal(areq)
	if err != nil {
		return nil, fmt.Errorf("%s: encode request: %w", c.name, err)
	}
	hreq, err := http.NewRequestWithContext(ctx, http.MethodPost, c.url, bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", c.name, err)
	}
	for k, v := range c.header {
		hreq.Header[k] = v
	}
	if areq.Stream {
		hreq.Header.Set("Accept", "text/event-stream")
	}
	resp, err := provider.Do(c.hc, hreq, c.name)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode >= 300 {
		return nil, provider.ReadError(resp, ant.ParseError)
	}
	out := &provider.Response{Header: resp.Header}
	if areq.Stream {
		out.Stream = newStream(resp.Body, c.name, tr, req.Fields.IncludeUsage, c.created())
		return out, nil
	}
	raw, err := provider.ReadBody(ctx, resp, c.name)
	if err != nil {
		return nil, err
	}
	var ares ant.Response
	if err := json.Unmarshal(raw, &ares); err != nil {
		return nil, &api.Error{Status: http.StatusBadGateway, Type: api.TypeUpstream, Code: "invalid_upstream_response",
			Message: "The upstream provider " + c.name + " returned a response Switchboard could not read.", Cause: err}
	}
	res := fromAnthropic(&ares, tr, c.created())
	out.Body, err = json.Marshal(res)
	if err != nil {
		return nil, err
	}
	out.Usage = usageOf(ares.Usage)
	return out, nil
}

func (c *Client) created() int64 {
	if c.now != nil {
		return c.now().Unix()
	}
	return time.Now().Unix()
}

// Embed: Anthropic has no embeddings API.
func (c *Client) Embed(context.Context, *provider.EmbedRequest) (*provider.Response, error) {
	return nil, api.BadRequest("model", "unsupported_model", "Anthropic does not offer embeddings; route this model to an embeddings provider.")
}

// fromAnthropic translates a Messages response.
func fromAnthropic(r *ant.Response, tr translation, created int64) *wire.ChatResponse {
	msg := wire.ResponseMessage{Role: "assistant"}
	var text strings.Builder
	hasText := false
	for _, b := range r.Content {
		switch b.Type {
		case "text":
			text.WriteString(b.Text)
			hasText = true
		case "thinking":
			msg.ReasoningContent += b.Thinking
			if b.Signature != "" {
				msg.ReasoningSignature = b.Signature
			}
		case "tool_use":
			args := compactArgs(b.Input)
			if tr.jsonTool && b.Name == jsonToolName {
				text.WriteString(args)
				hasText = true
				continue
			}
			msg.ToolCalls = append(msg.ToolCalls, wire.ToolCall{ID: b.ID, Type: "function", Function: wire.FunctionCall{Name: b.Name, Arguments: args}})
		}
	}
	if hasText || len(msg.ToolCalls) == 0 {
		s := text.String()
		msg.Content = &s
	}
	finish := finishReason(r.StopReason)
	if tr.jsonTool && finish == "tool_calls" && len(msg.ToolCalls) == 0 {
		finish = "stop"
	}
	u := openAIUsage(r.Usage)
	return &wire.ChatResponse{
		ID: r.ID, Object: "chat.completion", Created: created, Model: r.Model,
		Choices: []wire.Choice{{Index: 0, Message: msg, FinishReason: finish, Logprobs: json.RawMessage("null")}},
		Usage:   &u,
	}
}

// compactArgs renders tool input as OpenAI arguments: compact JSON, "{}"
// for a tool called without arguments.
func compactArgs(in json.RawMessage) string {
	if len(bytes.TrimSpace(in)) == 0 || string(in) == "null" {
		return "{}"
	}
	var b bytes.Buffer
	if json.Compact(&b, in) != nil {
		return string(in)
	}
	return b.String()
}

func finishReason(stop string) string {
	switch stop {
	case "max_tokens", "model_context_window_exceeded":
		return "length"
	case "tool_use":
		return "tool_calls"
	case "refusal":
		return "content_filter"
	default: // end_turn, stop_sequence, pause_turn
		return "stop"
	}
}

func openAIUsage(u ant.Usage) wire.Usage {
	prompt := u.InputTokens + u.CacheReadInputTokens + u.CacheCreationInputTokens
	return wire.Usage{
		PromptTokens:        prompt,
		CompletionTokens:    u.OutputTokens,
		TotalTokens:         prompt + u.OutputTokens,
		PromptTokensDetails: &wire.PromptTokensDetails{CachedTokens: u.CacheReadInputTokens, CacheCreationTokens: u.CacheCreationInputTokens},
	}
}

func usageOf(u ant.Usage) provider.Usage {
	return provider.Usage{
		Input:      u.InputTokens + u.CacheReadInputTokens + u.CacheCreationInputTokens,
		Output:     u.OutputTokens,
		CacheRead:  u.CacheReadInputTokens,
		CacheWrite: u.CacheCreationInputTokens,
	}
}
