package anthropic

import (
	"bytes"
	"encoding/json"
	"strings"

	"github.com/tidwall/gjson"

	"github.com/switchboard-gw/switchboard/internal/api"
	wire "github.com/switchboard-gw/switchboard/internal/api/openai"
)

// InboundRequest is a Messages request as clients send it: content and
// system may be strings or block lists.
type InboundRequest struct {
	Model         string           `json:"model"`
	Messages      []InboundMessage `json:"messages"`
	System        json.RawMessage  `json:"system,omitempty"`
	MaxTokens     *int64           `json:"max_tokens"`
	Stream        bool             `json:"stream,omitempty"`
	Temperature   *float64         `json:"temperature,omitempty"`
	TopP          *float64         `json:"top_p,omitempty"`
	StopSequences []string         `json:"stop_sequences,omitempty"`
	Tools         []Tool           `json:"tools,omitempty"`
	ToolChoice    *ToolChoice      `json:"tool_choice,omitempty"`
	Thinking      *InboundThinking `json:"thinking,omitempty"`
	Metadata      *Metadata        `json:"metadata,omitempty"`
}

// InboundThinking is the thinking request block.
type InboundThinking struct {
	Type         string `json:"type"`
	BudgetTokens int64  `json:"budget_tokens,omitempty"`
}

// InboundMessage is one turn with string or block content.
type InboundMessage struct {
	Role    string          `json:"role"`
	Content json.RawMessage `json:"content"`
}

// inboundKnown lists the Messages fields the translation honours.
var inboundKnown = map[string]bool{
	"model": true, "messages": true, "system": true, "max_tokens": true, "stream": true,
	"temperature": true, "top_p": true, "stop_sequences": true, "tools": true,
	"tool_choice": true, "thinking": true, "metadata": true, "service_tier": true,
}

// ToOpenAI translates a Messages request body into an OpenAI chat request
// body, so any provider can serve it. Streams ask for usage so the
// translated stream can report it. Fields with no translation (top_k,
// container, ...) are returned as untranslated: an Anthropic upstream takes
// them as they are, any other refuses them.
func ToOpenAI(body []byte) (chat []byte, untranslated []string, aerr *api.Error) {
	if !gjson.ValidBytes(body) {
		return nil, nil, api.BadRequest("", "invalid_json", "The request body is not valid JSON.")
	}
	gjson.ParseBytes(body).ForEach(func(k, v gjson.Result) bool {
		if !inboundKnown[k.Str] && v.Type != gjson.Null {
			untranslated = append(untranslated, k.Str)
		}
		return true
	})
	var in InboundRequest
	if err := json.Unmarshal(body, &in); err != nil {
		return nil, nil, api.BadRequest("", "invalid_request", "Invalid request: %v", err)
	}
	switch {
	case in.Model == "":
		return nil, nil, api.BadRequest("model", "missing_required_parameter", "model: Field required")
	case in.MaxTokens == nil:
		return nil, nil, api.BadRequest("max_tokens", "missing_required_parameter", "max_tokens: Field required")
	case *in.MaxTokens < 1:
		return nil, nil, api.BadRequest("max_tokens", "invalid_value", "max_tokens: must be at least 1")
	case len(in.Messages) == 0:
		return nil, nil, api.BadRequest("messages", "invalid_value", "messages: at least one message is required")
	}
	out := wire.ChatRequest{Model: in.Model, Stream: in.Stream, Temperature: in.Temperature, TopP: in.TopP,
		MaxTokens: in.MaxTokens, Stop: in.StopSequences}
	if in.Stream {
		out.StreamOptions = &wire.StreamOptions{IncludeUsage: true}
	}
	if in.Metadata != nil && in.Metadata.UserID != "" {
		out.User = in.Metadata.UserID
	}
	if t := in.Thinking; t != nil && t.Type == "enabled" {
		switch {
		case t.BudgetTokens < 2048:
			out.ReasoningEffort = "low"
		case t.BudgetTokens < 8192:
			out.ReasoningEffort = "medium"
		default:
			out.ReasoningEffort = "high"
		}
	}
	if len(in.System) > 0 && string(in.System) != "null" {
		text, err := systemText(in.System)
		if err != nil {
			return nil, nil, err
		}
		out.Messages = append(out.Messages, wire.Message{Role: "system", Content: wire.Content{Text: text}})
	}
	for i, m := range in.Messages {
		msgs, err := inboundMessage(m, i)
		if err != nil {
			return nil, nil, err
		}
		out.Messages = append(out.Messages, msgs...)
	}
	for _, t := range in.Tools {
		if t.Name == "" {
			return nil, nil, api.BadRequest("tools", "missing_required_parameter", "tools: every tool needs a name")
		}
		schema := t.InputSchema
		if len(schema) == 0 {
			schema = json.RawMessage(`{"type":"object","properties":{}}`)
		}
		out.Tools = append(out.Tools, wire.Tool{Type: "function", Function: wire.FunctionDecl{Name: t.Name, Description: t.Description, Parameters: schema}})
	}
	if tc := in.ToolChoice; tc != nil && len(out.Tools) > 0 {
		switch tc.Type {
		case "auto":
			out.ToolChoice = &wire.ToolChoice{Mode: "auto"}
		case "any":
			out.ToolChoice = &wire.ToolChoice{Mode: "required"}
		case "none":
			out.ToolChoice = &wire.ToolChoice{Mode: "none"}
		case "tool":
			out.ToolChoice = &wire.ToolChoice{Function: tc.Name}
		default:
			return nil, nil, api.BadRequest("tool_choice", "invalid_value", "tool_choice.type: unknown value %q", tc.Type)
		}
		if tc.DisableParallelToolUse {
			f := false
			out.ParallelToolCalls = &f
		}
	}
	b, err := json.Marshal(out)
	if err != nil {
		return nil, nil, api.BadRequest("", "invalid_request", "Invalid request: %v", err)
	}
	return b, untranslated, nil
}

func systemText(raw json.RawMessage) (string, *api.Error) {
	if raw[0] == '"' {
		var s string
		json.Unmarshal(raw, &s)
		return s, nil
	}
	var blocks []Block
	if err := json.Unmarshal(raw, &blocks); err != nil {
		return "", api.BadRequest("system", "invalid_type", "system: expected a string or a list of text blocks")
	}
	var parts []string
	for _, b := range blocks {
		if b.Type != "text" {
			return "", api.BadRequest("system", "invalid_value", "system: only text blocks are allowed")
		}
		parts = append(parts, b.Text)
	}
	return strings.Join(parts, "\n"), nil
}

// inboundMessage turns one Anthropic turn into OpenAI messages: tool
// results become tool messages (ahead of any text in the same turn), tool
// uses become tool_calls.
func inboundMessage(m InboundMessage, i int) ([]wire.Message, *api.Error) {
	if m.Role != "user" && m.Role != "assistant" {
		return nil, api.BadRequest("messages", "invalid_value", "messages.%d.role: Input should be 'user' or 'assistant'", i)
	}
	c := bytes.TrimSpace(m.Content)
	if len(c) > 0 && c[0] == '"' {
		var s string
		json.Unmarshal(c, &s)
		return []wire.Message{{Role: m.Role, Content: wire.Content{Text: s}}}, nil
	}
	var blocks []Block
	if err := json.Unmarshal(c, &blocks); err != nil {
		return nil, api.BadRequest("messages", "invalid_type", "messages.%d.content: expected a string or a list of content blocks", i)
	}
	var out []wire.Message
	main := wire.Message{Role: m.Role, Content: wire.Content{IsParts: true}}
	for _, b := range blocks {
		switch b.Type {
		case "text":
			main.Content.Parts = append(main.Content.Parts, wire.ContentPart{Type: "text", Text: b.Text, CacheControl: b.CacheControl})
		case "image", "document":
			if b.Source == nil {
				return nil, api.BadRequest("messages", "invalid_value", "messages.%d: %s block needs a source", i, b.Type)
			}
			url := b.Source.URL
			if b.Source.Type == "base64" {
				url = "data:" + b.Source.MediaType + ";base64," + b.Source.Data
			}
			if b.Type == "image" {
				main.Content.Parts = append(main.Content.Parts, wire.ContentPart{Type: "image_url", ImageURL: &wire.ImageURL{URL: url}})
			} else {
				main.Content.Parts = append(main.Content.Parts, wire.ContentPart{Type: "file", File: &wire.File{FileData: url}})
			}
		case "tool_use":
			args := "{}"
			if len(b.Input) > 0 {
				args = string(b.Input)
			}
			main.ToolCalls = append(main.ToolCalls, wire.ToolCall{ID: b.ID, Type: "function", Function: wire.FunctionCall{Name: b.Name, Arguments: args}})
		case "tool_result":
			out = append(out, wire.Message{Role: "tool", ToolCallID: b.ToolUseID, Content: wire.Content{Text: toolResultText(b.Content)}})
		case "thinking":
			main.ReasoningContent += b.Thinking
			main.ReasoningSignature = b.Signature
		case "redacted_thinking":
		default:
			return nil, api.BadRequest("messages", "unsupported_value", "messages.%d: content block type %q is not supported for this model", i, b.Type)
		}
	}
	if len(main.Content.Parts) > 0 || len(main.ToolCalls) > 0 || main.ReasoningContent != "" {
		if len(main.Content.Parts) == 0 {
			main.Content = wire.Content{Null: true}
		}
		out = append(out, main)
	}
	return out, nil
}

func toolResultText(raw json.RawMessage) string {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return ""
	}
	if raw[0] == '"' {
		var s string
		json.Unmarshal(raw, &s)
		return s
	}
	var blocks []Block
	json.Unmarshal(raw, &blocks)
	var parts []string
	for _, b := range blocks {
		if b.Type == "text" {
			parts = append(parts, b.Text)
		}
	}
	return strings.Join(parts, "\n")
}

// FromOpenAI translates an OpenAI chat completion into a Messages response.
func FromOpenAI(body []byte) ([]byte, error) {
	var r wire.ChatResponse
	if err := json.Unmarshal(body, &r); err != nil {
		return nil, err
	}
	res := Response{ID: r.ID, Type: "message", Role: "assistant", Model: r.Model, Content: []Block{}}
	if len(r.Choices) > 0 {
		c := r.Choices[0]
		m := c.Message
		if m.ReasoningContent != "" {
			res.Content = append(res.Content, Block{Type: "thinking", Thinking: m.ReasoningContent, Signature: m.ReasoningSignature})
		}
		if m.Content != nil && *m.Content != "" {
			res.Content = append(res.Content, Block{Type: "text", Text: *m.Content})
		}
		for _, tc := range m.ToolCalls {
			res.Content = append(res.Content, Block{Type: "tool_use", ID: tc.ID, Name: tc.Function.Name, Input: toolInput(tc.Function.Arguments)})
		}
		res.StopReason = StopReason(c.FinishReason)
	}
	if r.Usage != nil {
		res.Usage = usageFromOpenAI(r.Usage)
	}
	return json.Marshal(res)
}

func toolInput(args string) json.RawMessage {
	if strings.TrimSpace(args) == "" || !json.Valid([]byte(args)) {
		return json.RawMessage(`{}`)
	}
	return json.RawMessage(args)
}

// StopReason maps an OpenAI finish_reason to Anthropic's stop_reason.
func StopReason(finish string) string {
	switch finish {
	case "length":
		return "max_tokens"
	case "tool_calls", "function_call":
		return "tool_use"
	case "content_filter":
		return "refusal"
	default:
		return "end_turn"
	}
}

func usageFromOpenAI(u *wire.Usage) Usage {
	out := Usage{InputTokens: u.PromptTokens, OutputTokens: u.CompletionTokens}
	if d := u.PromptTokensDetails; d != nil {
		out.CacheReadInputTokens = d.CachedTokens
		out.CacheCreationInputTokens = d.CacheCreationTokens
		out.InputTokens -= d.CachedTokens + d.CacheCreationTokens
		if out.InputTokens < 0 {
			out.InputTokens = 0
		}
	}
	return out
}
