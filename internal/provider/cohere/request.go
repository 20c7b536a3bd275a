package cohere

import (
	"encoding/json"

	"github.com/tidwall/gjson"

	"github.com/switchboard-gw/switchboard/internal/api"
	wire "github.com/switchboard-gw/switchboard/internal/api/openai"
)

// translated lists the OpenAI fields Cohere v2 honours.
var translated = map[string]bool{
	"model": true, "messages": true, "stream": true, "stream_options": true,
	"temperature": true, "top_p": true, "max_tokens": true, "max_completion_tokens": true,
	"stop": true, "tools": true, "tool_choice": true, "seed": true, "frequency_penalty": true,
	"presence_penalty": true, "response_format": true, "reasoning_effort": true, "user": true,
	"metadata": true, "store": true, "service_tier": true, "n": true, "parallel_tool_calls": true,
}

var thinkingBudgets = map[string]int64{"low": 1024, "medium": 4096, "high": 16384}

type request struct {
	Model            string         `json:"model"`
	Messages         []message      `json:"messages"`
	Stream           bool           `json:"stream,omitempty"`
	Tools            []wire.Tool    `json:"tools,omitempty"`
	ToolChoice       string         `json:"tool_choice,omitempty"`
	MaxTokens        *int64         `json:"max_tokens,omitempty"`
	Temperature      *float64       `json:"temperature,omitempty"`
	P                *float64       `json:"p,omitempty"`
	StopSequences    []string       `json:"stop_sequences,omitempty"`
	Seed             *int64         `json:"seed,omitempty"`
	FrequencyPenalty *float64       `json:"frequency_penalty,omitempty"`
	PresencePenalty  *float64       `json:"presence_penalty,omitempty"`
	ResponseFormat   map[string]any `json:"response_format,omitempty"`
	Thinking         map[string]any `json:"thinking,omitempty"`
}

type message struct {
	Role       string          `json:"role"`
	Content    any             `json:"content,omitempty"`
	ToolCalls  []wire.ToolCall `json:"tool_calls,omitempty"`
	ToolCallID string          `json:"tool_call_id,omitempty"`
	ToolPlan   string          `json:"tool_plan,omitempty"`
}

// toCohere translates an OpenAI chat request.
func toCohere(body []byte, model string, drop bool, onDrop func(string)) (*request, error) {
	var req wire.ChatRequest
	if err := json.Unmarshal(body, &req); err != nil {
		return nil, api.BadRequest("", "invalid_request", "Invalid request: %v", err)
	}
	var unsupported []string
	gjson.ParseBytes(body).ForEach(func(k, v gjson.Result) bool {
		if !translated[k.Str] && v.Type != gjson.Null {
			unsupported = append(unsupported, k.Str)
		}
		return true
	})
	if req.N != nil && *req.N > 1 {
		unsupported = append(unsupported, "n")
	}
	if req.ParallelToolCalls != nil && !*req.ParallelToolCalls && len(req.Tools) > 0 {
		unsupported = append(unsupported, "parallel_tool_calls")
	}
	for _, p := range unsupported {
		if !drop {
			return nil, api.BadRequest(p, "unsupported_parameter",
				"Unsupported parameter: '%s' is not supported by Cohere models. Remove it, or set drop_params: true on this model to drop it.", p)
		}
		if onDrop != nil {
			onDrop(p)
		}
	}
	out := &request{Model: model, Stream: req.Stream, Temperature: req.Temperature, P: req.TopP, StopSequences: req.Stop,
		Seed: req.Seed, FrequencyPenalty: req.FrequencyPenalty, PresencePenalty: req.PresencePenalty, MaxTokens: req.MaxTokens}
	if req.MaxCompletionTokens != nil {
		out.MaxTokens = req.MaxCompletionTokens
	}
	if e := req.ReasoningEffort; e != "" && e != "none" && e != "minimal" {
		budget, ok := thinkingBudgets[e]
		if !ok {
			return nil, api.BadRequest("reasoning_effort", "invalid_value", "Invalid value for 'reasoning_effort': expected none, minimal, low, medium or high.")
		}
		out.Thinking = map[string]any{"type": "enabled", "token_budget": budget}
	}
	if rf := req.ResponseFormat; rf != nil {
		switch rf.Type {
		case "json_object":
			out.ResponseFormat = map[string]any{"type": "json_object"}
		case "json_schema":
			if rf.JSONSchema == nil || len(rf.JSONSchema.Schema) == 0 {
				return nil, api.BadRequest("response_format", "missing_required_parameter", "response_format of type json_schema needs json_schema.schema.")
			}
			out.ResponseFormat = map[string]any{"type": "json_object", "json_schema": rf.JSONSchema.Schema}
		}
	}
	for i, m := range req.Messages {
		switch m.Role {
		case "system", "developer":
			out.Messages = append(out.Messages, message{Role: "system", Content: m.Content.String()})
		case "user":
			content, err := userContent(m.Content, i)
			if err != nil {
				return nil, err
			}
			out.Messages = append(out.Messages, message{Role: "user", Content: content})
		case "assistant":
			am := message{Role: "assistant", ToolPlan: m.ReasoningContent}
			if t := m.Content.String(); t != "" {
				am.Content = t
			}
			for _, tc := range m.ToolCalls {
				am.ToolCalls = append(am.ToolCalls, wire.ToolCall{ID: tc.ID, Type: "function", Function: tc.Function})
			}
			out.Messages = append(out.Messages, am)
		case "tool", "function":
			out.Messages = append(out.Messages, message{Role: "tool", ToolCallID: m.ToolCallID, Content: m.Content.String()})
		}
	}
	out.Tools = req.Tools
	if tc := req.ToolChoice; tc != nil && len(req.Tools) > 0 {
		switch {
		case tc.Function != "":
			// Cohere cannot force one named tool; offering only that tool
			// and requiring a call means the same.
			var only []wire.Tool
			for _, t := range req.Tools {
				if t.Function.Name == tc.Function {
					only = append(only, t)
				}
			}
			if len(only) == 0 {
				return nil, api.BadRequest("tool_choice", "invalid_value", "tool_choice names %q, which is not among the tools.", tc.Function)
			}
			out.Tools, out.ToolChoice = only, "REQUIRED"
		case tc.Mode == "required":
			out.ToolChoice = "REQUIRED"
		case tc.Mode == "none":
			out.ToolChoice = "NONE"
		}
	}
	return out, nil
}

func userContent(c wire.Content, i int) (any, error) {
	if !c.IsParts {
		return c.Text, nil
	}
	var parts []map[string]any
	for _, p := range c.Parts {
		switch p.Type {
		case "text":
			parts = append(parts, map[string]any{"type": "text", "text": p.Text})
		case "image_url":
			if p.ImageURL == nil {
				return nil, api.BadRequest("messages", "invalid_value", "messages[%d]: image_url part needs a url.", i)
			}
			parts = append(parts, map[string]any{"type": "image_url", "image_url": map[string]string{"url": p.ImageURL.URL}})
		default:
			return nil, api.BadRequest("messages", "unsupported_value", "messages[%d]: content part type %q is not supported by Cohere models.", i, p.Type)
		}
	}
	return parts, nil
}
