package anthropic

import (
	"encoding/json"
	"strings"

	"github.com/tidwall/gjson"

	"github.com/switchboard-gw/switchboard/internal/api"
	ant "github.com/switchboard-gw/switchboard/internal/api/anthropic"
	wire "github.com/switchboard-gw/switchboard/internal/api/openai"
)

// DefaultMaxTokens is sent when the client sets no limit: Anthropic
// requires one.
const DefaultMaxTokens = 4096

// jsonToolName is the forced tool that carries a response_format answer.
const jsonToolName = "json_response"

// thinkingBudgets maps reasoning_effort to a thinking budget.
var thinkingBudgets = map[string]int64{"low": 1024, "medium": 4096, "high": 16384}

// translated lists the request fields this translation honours or that do
// not change the answer (store, metadata, service_tier). Anything else is
// refused unless the model allows dropping.
var translated = map[string]bool{
	"model": true, "messages": true, "stream": true, "stream_options": true,
	"temperature": true, "top_p": true, "max_tokens": true, "max_completion_tokens": true,
	"stop": true, "tools": true, "tool_choice": true, "parallel_tool_calls": true,
	"response_format": true, "user": true, "reasoning_effort": true, "thinking": true,
	"metadata": true, "store": true, "service_tier": true, "n": true,
}

// translation carries what the response side must know about the request.
type translation struct {
	jsonTool bool // the answer arrives as the forced json tool's input
}

// toAnthropic translates an OpenAI chat request.
func toAnthropic(body []byte, model string, drop bool, onDrop func(string)) (*ant.Request, translation, error) {
	var tr translation
	var req wire.ChatRequest
	if err := json.Unmarshal(body, &req); err != nil {
		return nil, tr, api.BadRequest("", "invalid_request", "Invalid request: %v", err)
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
	for _, p := range unsupported {
		if !drop {
			return nil, tr, api.BadRequest(p, "unsupported_parameter",
				"Unsupported parameter: '%s' is not supported by Anthropic models. Remove it, or set drop_params: true on this model to drop it.", p)
		}
		if onDrop != nil {
			onDrop(p)
		}
	}

	out := &ant.Request{Model: model, Stream: req.Stream, TopP: req.TopP, StopSequences: req.Stop}
	if req.Temperature != nil {
		if *req.Temperature > 1 {
			return nil, tr, api.BadRequest("temperature", "invalid_value", "Anthropic models accept a temperature between 0 and 1; got %v.", *req.Temperature)
		}
		out.Temperature = req.Temperature
	}
	switch {
	case req.MaxCompletionTokens != nil:
		out.MaxTokens = *req.MaxCompletionTokens
	case req.MaxTokens != nil:
		out.MaxTokens = *req.MaxTokens
	default:
		out.MaxTokens = DefaultMaxTokens
	}
	if req.User != "" {
		out.Metadata = &ant.Metadata{UserID: req.User}
	}
	switch {
	case len(req.Thinking) > 0 && string(req.Thinking) != "null":
		out.Thinking = req.Thinking
	case req.ReasoningEffort != "":
		budget, ok := thinkingBudgets[req.ReasoningEffort]
		if !ok && req.ReasoningEffort != "none" && req.ReasoningEffort != "minimal" {
			return nil, tr, api.BadRequest("reasoning_effort", "invalid_value", "Invalid value for 'reasoning_effort': expected none, minimal, low, medium or high.")
		}
		if ok {
			out.Thinking, _ = json.Marshal(map[string]any{"type": "enabled", "budget_tokens": budget})
			if out.MaxTokens <= budget {
				// Anthropic counts thinking inside max_tokens and wants room
				// beyond the budget: keep the client's limit for the answer.
				out.MaxTokens += budget
			}
		}
	}

	if err := translateMessages(&req, out); err != nil {
		return nil, tr, err
	}
	if err := translateTools(&req, out, &tr); err != nil {
		return nil, tr, err
	}
	return out, tr, nil
}

func translateMessages(req *wire.ChatRequest, out *ant.Request) error {
	for i, m := range req.Messages {
		switch m.Role {
		case "system", "developer":
			blocks, err := contentBlocks(m.Content, i)
			if err != nil {
				return err
			}
			for _, b := range blocks {
				if b.Type != "text" {
					return api.BadRequest("messages", "invalid_value", "messages[%d]: system messages may only contain text.", i)
				}
			}
			out.System = append(out.System, blocks...)
		case "user":
			blocks, err := contentBlocks(m.Content, i)
			if err != nil {
				return err
			}
			appendTurn(out, "user", blocks)
		case "assistant":
			var blocks []ant.Block
			if m.ReasoningContent != "" && m.ReasoningSignature != "" {
				blocks = append(blocks, ant.Block{Type: "thinking", Thinking: m.ReasoningContent, Signature: m.ReasoningSignature})
			}
			text, err := contentBlocks(m.Content, i)
			if err != nil {
				return err
			}
			for _, b := range text {
				if b.Type == "text" && b.Text == "" {
					continue // Anthropic rejects empty text blocks
				}
				blocks = append(blocks, b)
			}
			for _, tc := range m.ToolCalls {
				input := json.RawMessage(`{}`)
				if args := strings.TrimSpace(tc.Function.Arguments); args != "" {
					if !json.Valid([]byte(args)) {
						return api.BadRequest("messages", "invalid_value", "messages[%d].tool_calls: arguments of %q are not valid JSON.", i, tc.Function.Name)
					}
					input = json.RawMessage(args)
				}
				blocks = append(blocks, ant.Block{Type: "tool_use", ID: tc.ID, Name: tc.Function.Name, Input: input})
			}
			if len(blocks) == 0 {
				continue
			}
			appendTurn(out, "assistant", blocks)
		case "tool", "function":
			if m.ToolCallID == "" && m.Role == "tool" {
				return api.BadRequest("messages", "missing_required_parameter", "messages[%d]: a tool message needs tool_call_id.", i)
			}
			content, _ := json.Marshal(m.Content.String())
			if m.Content.IsParts {
				blocks, err := contentBlocks(m.Content, i)
				if err != nil {
					return err
				}
				content, _ = json.Marshal(blocks)
			}
			appendTurn(out, "user", []ant.Block{{Type: "tool_result", ToolUseID: m.ToolCallID, Content: content}})
		}
	}
	if len(out.Messages) == 0 {
		return api.BadRequest("messages", "invalid_value", "Anthropic models need at least one user or assistant message besides the system prompt.")
	}
	return nil
}

// appendTurn adds blocks as a turn, merging with the previous turn of the
// same role: Anthropic wants user and assistant to alternate, and tool
// results of one assistant turn in one user turn.
func appendTurn(out *ant.Request, role string, blocks []ant.Block) {
	if n := len(out.Messages); n > 0 && out.Messages[n-1].Role == role {
		prev := &out.Messages[n-1]
		// Tool results must come first in a user turn.
		if role == "user" && len(blocks) > 0 && blocks[0].Type == "tool_result" {
			k := 0
			for k < len(prev.Content) && prev.Content[k].Type == "tool_result" {
				k++
			}
			merged := append([]ant.Block{}, prev.Content[:k]...)
			merged = append(merged, blocks...)
			prev.Content = append(merged, prev.Content[k:]...)
			return
		}
		prev.Content = append(prev.Content, blocks...)
		return
	}
	out.Messages = append(out.Messages, ant.Message{Role: role, Content: blocks})
}

func contentBlocks(c wire.Content, i int) ([]ant.Block, error) {
	if !c.IsParts {
		if c.Null || c.Text == "" {
			return nil, nil
		}
		return []ant.Block{{Type: "text", Text: c.Text}}, nil
	}
	blocks := make([]ant.Block, 0, len(c.Parts))
	for _, p := range c.Parts {
		switch p.Type {
		case "text":
			blocks = append(blocks, ant.Block{Type: "text", Text: p.Text, CacheControl: p.CacheControl})
		case "image_url":
			if p.ImageURL == nil || p.ImageURL.URL == "" {
				return nil, api.BadRequest("messages", "invalid_value", "messages[%d]: image_url part needs a url.", i)
			}
			src, err := sourceOf(p.ImageURL.URL, i)
			if err != nil {
				return nil, err
			}
			blocks = append(blocks, ant.Block{Type: "image", Source: src, CacheControl: p.CacheControl})
		case "file":
			if p.File == nil || !strings.HasPrefix(p.File.FileData, "data:") {
				return nil, api.BadRequest("messages", "unsupported_value", "messages[%d]: Anthropic models accept files only as inline data: URLs (file_data).", i)
			}
			src, err := sourceOf(p.File.FileData, i)
			if err != nil {
				return nil, err
			}
			blocks = append(blocks, ant.Block{Type: "document", Source: src, CacheControl: p.CacheControl})
		default:
			return nil, api.BadRequest("messages", "unsupported_value", "messages[%d]: content part type %q is not supported by Anthropic models.", i, p.Type)
		}
	}
	return blocks, nil
}

// sourceOf turns an image URL or data: URL into an Anthropic source.
func sourceOf(u string, i int) (*ant.Source, error) {
	if !strings.HasPrefix(u, "data:") {
		if !strings.HasPrefix(u, "https://") && !strings.HasPrefix(u, "http://") {
			return nil, api.BadRequest("messages", "invalid_value", "messages[%d]: image url must be http(s) or a data: URL.", i)
		}
		return &ant.Source{Type: "url", URL: u}, nil
	}
	meta, data, ok := strings.Cut(strings.TrimPrefix(u, "data:"), ",")
	mediaType, isBase64 := strings.CutSuffix(meta, ";base64")
	if !ok || !isBase64 || mediaType == "" {
		return nil, api.BadRequest("messages", "invalid_value", "messages[%d]: data: URLs must be base64 with a media type (data:image/png;base64,...).", i)
	}
	return &ant.Source{Type: "base64", MediaType: mediaType, Data: data}, nil
}

func translateTools(req *wire.ChatRequest, out *ant.Request, tr *translation) error {
	for _, t := range req.Tools {
		if t.Type != "function" && t.Type != "" {
			return api.BadRequest("tools", "unsupported_value", "Tool type %q is not supported by Anthropic models.", t.Type)
		}
		if t.Function.Name == "" {
			return api.BadRequest("tools", "missing_required_parameter", "Every tool needs function.name.")
		}
		schema := t.Function.Parameters
		if len(schema) == 0 || string(schema) == "null" {
			schema = json.RawMessage(`{"type":"object","properties":{}}`)
		}
		out.Tools = append(out.Tools, ant.Tool{Name: t.Function.Name, Description: t.Function.Description, InputSchema: schema})
	}
	if tc := req.ToolChoice; tc != nil && len(out.Tools) > 0 {
		switch {
		case tc.Function != "":
			out.ToolChoice = &ant.ToolChoice{Type: "tool", Name: tc.Function}
		case tc.Mode == "required":
			out.ToolChoice = &ant.ToolChoice{Type: "any"}
		case tc.Mode == "none":
			out.ToolChoice = &ant.ToolChoice{Type: "none"}
		case tc.Mode == "auto" || tc.Mode == "":
			out.ToolChoice = &ant.ToolChoice{Type: "auto"}
		default:
			return api.BadRequest("tool_choice", "invalid_value", "Invalid value for 'tool_choice': %q.", tc.Mode)
		}
	}
	if req.ParallelToolCalls != nil && !*req.ParallelToolCalls && len(out.Tools) > 0 {
		if out.ToolChoice == nil {
			out.ToolChoice = &ant.ToolChoice{Type: "auto"}
		}
		if out.ToolChoice.Type != "none" {
			out.ToolChoice.DisableParallelToolUse = true
		}
	}

	rf := req.ResponseFormat
	if rf == nil || rf.Type == "text" || rf.Type == "" {
		return nil
	}
	if rf.Type != "json_object" && rf.Type != "json_schema" {
		return api.BadRequest("response_format", "invalid_value", "Invalid value for 'response_format.type': %q.", rf.Type)
	}
	if len(req.Tools) > 0 {
		return api.BadRequest("response_format", "unsupported_parameter", "Anthropic models cannot combine response_format with tools in one request.")
	}
	schema := json.RawMessage(`{"type":"object"}`)
	desc := "Respond with a JSON object."
	if rf.Type == "json_schema" {
		if rf.JSONSchema == nil || len(rf.JSONSchema.Schema) == 0 {
			return api.BadRequest("response_format", "missing_required_parameter", "response_format of type json_schema needs json_schema.schema.")
		}
		schema = rf.JSONSchema.Schema
		if rf.JSONSchema.Description != "" {
			desc = rf.JSONSchema.Description
		}
	}
	out.Tools = []ant.Tool{{Name: jsonToolName, Description: desc, InputSchema: schema}}
	out.ToolChoice = &ant.ToolChoice{Type: "tool", Name: jsonToolName}
	tr.jsonTool = true
	return nil
}
