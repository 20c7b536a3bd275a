// Package cohere calls Cohere's v2 Chat and Embed APIs. Cohere v2's chat
// shape is close to OpenAI's; the translation covers the differences:
// tool_choice, tool_plan, content lists, finish reasons, usage and the
// named stream events.
package cohere

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/tidwall/gjson"

	"github.com/switchboard-gw/switchboard/internal/api"
	wire "github.com/switchboard-gw/switchboard/internal/api/openai"
	"github.com/switchboard-gw/switchboard/internal/config"
	"github.com/switchboard-gw/switchboard/internal/provider"
	"github.com/switchboard-gw/switchboard/internal/sse"
	tokencount "github.com/switchboard-gw/switchboard/internal/tokens"
)

// DefaultBaseURL is Cohere's API origin.
const DefaultBaseURL = "https://api.cohere.com"

func init() {
	provider.Register(provider.Spec{
		Type: "cohere",
		Env:  config.EnvSpec{KeyVar: "COHERE_API_KEY", BaseURLVar: "COHERE_BASE_URL"},
		New: func(cfg config.Provider, hc *http.Client) (provider.Provider, error) {
			if cfg.APIKey == "" {
				return nil, fmt.Errorf("api_key is required for cohere (set it in the config or COHERE_API_KEY)")
			}
			base := cfg.BaseURL
			if base == "" {
				base = DefaultBaseURL
			}
			c := &Client{name: cfg.Name, base: strings.TrimRight(base, "/"), hc: hc, header: http.Header{}}
			c.header.Set("Authorization", "Bearer "+cfg.APIKey)
			c.header.Set("Content-Type", "application/json")
			for k, v := range cfg.Headers {
				c.header.Set(k, v)
			}
			return c, nil
		},
	})
}

// Client calls one Cohere account.
type Client struct {
	name   string
	base   string
	hc     *http.Client
	header http.Header
	now    func() time.Time
}

var _ provider.Provider = (*Client)(nil)

func (c *Client) post(ctx context.Context, path string, body []byte, stream bool) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.base+path, bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", c.name, err)
	}
	for k, v := range c.header {
		req.Header[k] = v
	}
	if stream {
		req.Header.Set("Accept", "text/event-stream")
	}
	resp, err := provider.Do(c.hc, req, c.name)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode >= 300 {
		return nil, provider.ReadError(resp, ParseError)
	}
	return resp, nil
}

// ParseError reads Cohere's {"message": ...} error body.
func ParseError(status int, body []byte) *api.Error {
	e := &api.Error{Status: status, Type: api.TypeForStatus(status), Message: gjson.GetBytes(body, "message").String()}
	if e.Message == "" {
		e.Message = strings.TrimSpace(string(body))
		if e.Message == "" {
			e.Message = http.StatusText(status)
		}
	}
	return e
}

func (c *Client) created() int64 {
	if c.now != nil {
		return c.now().Unix()
	}
	return time.Now().Unix()
}

// Chat calls /v2/chat.
func (c *Client) Chat(ctx context.Context, req *provider.ChatRequest) (*provider.Response, error) {
	creq, err := toCohere(req.Body, req.Model, req.DropParams, req.OnDrop)
	if err != nil {
		return nil, err
	}
	body, err := json.Marshal(creq)
	if err != nil {
		return nil, err
	}
	resp, err := c.post(ctx, "/v2/chat", body, req.Fields.Stream)
	if err != nil {
		return nil, err
	}
	if req.Fields.Stream {
		return &provider.Response{Stream: newStream(resp.Body, c.name, req.Model, req.Fields.IncludeUsage, c.created())}, nil
	}
	raw, err := provider.ReadBody(ctx, resp, c.name)
	if err != nil {
		return nil, err
	}
	res := gjson.ParseBytes(raw)
	msg := wire.ResponseMessage{Role: "assistant", ReasoningContent: res.Get("message.tool_plan").String()}
	var text strings.Builder
	res.Get("message.content").ForEach(func(_, part gjson.Result) bool {
		switch part.Get("type").String() {
		case "text":
			text.WriteString(part.Get("text").String())
		case "thinking":
			msg.ReasoningContent += part.Get("thinking").String()
		}
		return true
	})
	res.Get("message.tool_calls").ForEach(func(_, tc gjson.Result) bool {
		msg.ToolCalls = append(msg.ToolCalls, wire.ToolCall{ID: tc.Get("id").String(), Type: "function",
			Function: wire.FunctionCall{Name: tc.Get("function.name").String(), Arguments: argsOrEmpty(tc.Get("function.arguments").String())}})
		return true
	})
	if text.Len() > 0 || len(msg.ToolCalls) == 0 {
		s := text.String()
		msg.Content = &s
	}
	u := usageFrom(res.Get("usage"))
	out := wire.ChatResponse{ID: res.Get("id").String(), Object: "chat.completion", Created: c.created(), Model: req.Model, Usage: openAIUsage(u),
		Choices: []wire.Choice{{Message: msg, FinishReason: finishReason(res.Get("finish_reason").String()), Logprobs: json.RawMessage("null")}}}
	b, err := json.Marshal(out)
	if err != nil {
		return nil, err
	}
	return &provider.Response{Body: b, Usage: u}, nil
}

func argsOrEmpty(s string) string {
	if strings.TrimSpace(s) == "" {
		return "{}"
	}
	return s
}

func finishReason(r string) string {
	switch r {
	case "MAX_TOKENS":
		return "length"
	case "TOOL_CALL":
		return "tool_calls"
	case "ERROR_TOXIC":
		return "content_filter"
	default: // COMPLETE, STOP_SEQUENCE
		return "stop"
	}
}

// usageFrom reads tokens (falling back to billed units) and cached tokens.
func usageFrom(u gjson.Result) provider.Usage {
	in, out := u.Get("tokens.input_tokens"), u.Get("tokens.output_tokens")
	if !in.Exists() {
		in, out = u.Get("billed_units.input_tokens"), u.Get("billed_units.output_tokens")
	}
	return provider.Usage{Input: in.Int(), Output: out.Int(), CacheRead: u.Get("cached_tokens").Int()}
}

func openAIUsage(u provider.Usage) *wire.Usage {
	return &wire.Usage{PromptTokens: u.Input, CompletionTokens: u.Output, TotalTokens: u.Input + u.Output,
		PromptTokensDetails: &wire.PromptTokensDetails{CachedTokens: u.CacheRead}}
}

// Embed calls /v2/embed.
func (c *Client) Embed(ctx context.Context, req *provider.EmbedRequest) (*provider.Response, error) {
	inputs := wire.Inputs(req.Body)
	body := map[string]any{"model": req.Model, "texts": inputs, "input_type": "search_document", "embedding_types": []string{"float"}}
	if req.Fields.Dimensions > 0 {
		body["output_dimension"] = req.Fields.Dimensions
	}
	b, _ := json.Marshal(body)
	resp, err := c.post(ctx, "/v2/embed", b, false)
	if err != nil {
		return nil, err
	}
	raw, err := provider.ReadBody(ctx, resp, c.name)
	if err != nil {
		return nil, err
	}
	var vectors [][]float64
	if err := json.Unmarshal([]byte(gjson.GetBytes(raw, "embeddings.float").Raw), &vectors); err != nil || len(vectors) != len(inputs) {
		return nil, &api.Error{Status: http.StatusBadGateway, Type: api.TypeUpstream, Code: "invalid_upstream_response",
			Message: "The upstream embeddings response could not be read.", Cause: err}
	}
	usage := provider.Usage{Input: gjson.GetBytes(raw, "meta.billed_units.input_tokens").Int()}
	if usage.Input == 0 {
		usage = provider.Usage{Input: tokencount.CountAll(inputs), Estimated: true}
	}
	out, err := provider.EmbeddingsBody(req.Model, vectors, req.Fields.Base64, usage.Input)
	if err != nil {
		return nil, err
	}
	return &provider.Response{Body: out, Usage: usage}, nil
}

// stream turns Cohere's named events into OpenAI chunks.
type stream struct {
	name, model  string
	id           string
	body         io.ReadCloser
	r            *sse.Reader
	includeUsage bool
	created      int64
	usage        provider.Usage
	ended        bool
	queue        [][]byte
	done         bool
}

func newStream(body io.ReadCloser, name, model string, includeUsage bool, created int64) *stream {
	return &stream{name: name, model: model, body: body, r: sse.NewReader(body), includeUsage: includeUsage, created: created}
}

func (s *stream) Next() ([]byte, error) {
	for len(s.queue) == 0 {
		if s.done {
			return nil, io.EOF
		}
		ev, err := s.r.Next()
		if err == io.EOF {
			if !s.ended {
				return nil, &api.Error{Status: http.StatusBadGateway, Type: api.TypeUpstream, Code: "upstream_stream_broken",
					Message: "The upstream stream ended before message-end (" + s.name + ")."}
			}
			if s.includeUsage {
				s.push(&wire.ChatChunk{Choices: []wire.ChunkChoice{}, Usage: openAIUsage(s.usage)})
			}
			s.done = true
			continue
		}
		if err != nil {
			return nil, &api.Error{Status: http.StatusBadGateway, Type: api.TypeUpstream, Code: "upstream_stream_broken",
				Message: "The upstream stream broke before the response was complete (" + s.name + ").", Cause: err}
		}
		if len(ev.Data) == 0 {
			continue
		}
		if err := s.handle(gjson.ParseBytes(ev.Data)); err != nil {
			return nil, err
		}
	}
	c := s.queue[0]
	s.queue = s.queue[1:]
	return c, nil
}

func (s *stream) handle(ev gjson.Result) error {
	d := ev.Get("delta.message")
	switch ev.Get("type").String() {
	case "message-start":
		s.id = ev.Get("id").String()
		empty := ""
		s.emit(wire.Delta{Role: "assistant", Content: &empty}, nil)
	case "content-delta":
		if t := d.Get("content.text"); t.Exists() && t.Str != "" {
			s.emit(wire.Delta{Content: &t.Str}, nil)
		} else if t := d.Get("content.thinking"); t.Exists() && t.Str != "" {
			s.emit(wire.Delta{ReasoningContent: &t.Str}, nil)
		}
	case "tool-plan-delta":
		if t := d.Get("tool_plan").String(); t != "" {
			s.emit(wire.Delta{ReasoningContent: &t}, nil)
		}
	case "tool-call-start":
		idx := int(ev.Get("index").Int())
		tc := d.Get("tool_calls")
		s.emit(wire.Delta{ToolCalls: []wire.ToolCall{{Index: &idx, ID: tc.Get("id").String(), Type: "function",
			Function: wire.FunctionCall{Name: tc.Get("function.name").String(), Arguments: tc.Get("function.arguments").String()}}}}, nil)
	case "tool-call-delta":
		idx := int(ev.Get("index").Int())
		if a := d.Get("tool_calls.function.arguments").String(); a != "" {
			s.emit(wire.Delta{ToolCalls: []wire.ToolCall{{Index: &idx, Function: wire.FunctionCall{Arguments: a}}}}, nil)
		}
	case "message-end":
		s.ended = true
		s.usage = usageFrom(ev.Get("delta.usage"))
		f := finishReason(ev.Get("delta.finish_reason").String())
		s.emit(wire.Delta{}, &f)
	}
	return nil
}

func (s *stream) emit(d wire.Delta, finish *string) {
	s.push(&wire.ChatChunk{Choices: []wire.ChunkChoice{{Delta: d, FinishReason: finish}}})
}

func (s *stream) push(c *wire.ChatChunk) {
	c.ID, c.Object, c.Created, c.Model = s.id, "chat.completion.chunk", s.created, s.model
	if b, err := json.Marshal(c); err == nil {
		s.queue = append(s.queue, b)
	}
}

func (s *stream) Usage() provider.Usage { return s.usage }

func (s *stream) Close() error { return s.body.Close() }
