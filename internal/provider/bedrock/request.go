package bedrock

import (
	"encoding/json"
	"strings"

	"github.com/tidwall/gjson"

	"github.com/switchboard-gw/switchboard/internal/api"
	br "github.com/switchboard-gw/switchboard/internal/api/bedrock"
	wire "github.com/switchboard-gw/switchboard/internal/api/openai"
)

// translated lists the OpenAI fields Converse honours (or that don't change
// the answer).
var translated = map[string]bool{
	"model": true, "messages": true, "stream": true, "stream_options": true,
	"temperature": true, "top_p": true, "max_tokens": true, "max_completion_tokens": true,
	"stop": true, "tools": true, "tool_choice": true, "user": true, "reasoning_effort": true,
	"thinking": true, "metadata": true, "store": true, "service_tier": true, "n": true, "parallel_tool_calls": true,
}

var thinkingBudgets = map[string]int64{"low": 1024, "medium": 4096, "high": 16384}

// toConverse translates an OpenAI chat request for a model id.
func toConverse(body []byte, model string, drop bool, onDrop func(string)) (*br.Request, error) {
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
				"Unsupported parameter: '%s' is not supported by Bedrock Converse. Remove it, or set drop_params: true on this model to drop it.", p)
		}
		if onDrop != nil {
			onDrop(p)
		}
	}
	out := &br.Request{}
	ic := &br.InferenceConfig{Temperature: req.Temperature, TopP: req.TopP, StopSequences: req.Stop}
	switch {
	case req.MaxCompletionTokens != nil:
		ic.MaxTokens = req.MaxCompletionTokens
	case req.MaxTokens != nil:
		ic.MaxTokens = req.MaxTokens
	}
	out.InferenceConfig = ic
	switch {
	case len(req.Thinking) > 0 && string(req.Thinking) != "null":
		out.AdditionalModelRequestFields, _ = json.Marshal(map[string]json.RawMessage{"thinking": req.Thinking})
	case req.ReasoningEffort != "" && req.ReasoningEffort != "none" && req.ReasoningEffort != "minimal":
		budget, ok := thinkingBudgets[req.ReasoningEffort]
		if !ok {
			return nil, api.BadRequest("reasoning_effort", "invalid_value", "Invalid value for 'reasoning_effort': expected none, minimal, low, medium or high.")
		}
		if !strings.Contains(model, "anthropic.") {
			return nil, api.BadRequest("reasoning_effort", "unsupported_parameter", "reasoning_effort is supported on Bedrock for Anthropic models only.")
		}
		out.AdditionalModelRequestFields, _ = json.Marshal(map[string]any{"thinking": map[string]any{"type": "enabled", "budget_tokens": budget}})
		if ic.MaxTokens == nil || *ic.MaxTokens <= budget {
			m := budget + 4096
			if ic.MaxTokens != nil {
				m = *ic.MaxTokens + budget
			}
			ic.MaxTokens = &m
		}
	}
	hasToolBlocks := false
	for i, m := range req.Messages {
		switch m.Role {
		case "system", "developer":
			out.System = append(out.System, br.SystemBlock{Text: m.Content.String()})
		case "user":
			blocks, err := contentBlocks(m.Content, i)
			if err != nil {
				return nil, err
			}
			appendTurn(out, "user", blocks)
		case "assistant":
			var blocks []br.Block
			if m.ReasoningContent != "" && m.ReasoningSignature != "" {
				blocks = append(blocks, br.Block{ReasoningContent: &br.ReasoningContent{ReasoningText: &br.ReasoningText{Text: m.ReasoningContent, Signature: m.ReasoningSignature}}})
			}
			text, err := contentBlocks(m.Content, i)
			if err != nil {
				return nil, err
			}
			blocks = append(blocks, text...)
			for _, tc := range m.ToolCalls {
				input := json.RawMessage(`{}`)
				if a := strings.TrimSpace(tc.Function.Arguments); a != "" {
					if !json.Valid([]byte(a)) {
						return nil, api.BadRequest("messages", "invalid_value", "messages[%d].tool_calls: arguments of %q are not valid JSON.", i, tc.Function.Name)
					}
					input = json.RawMessage(a)
				}
				blocks = append(blocks, br.Block{ToolUse: &br.ToolUse{ToolUseID: tc.ID, Name: tc.Function.Name, Input: input}})
				hasToolBlocks = true
			}
			if len(blocks) > 0 {
				appendTurn(out, "assistant", blocks)
			}
		case "tool", "function":
			text := m.Content.String()
			content := br.ToolResultContent{Text: text}
			if t := strings.TrimSpace(text); strings.HasPrefix(t, "{") && json.Valid([]byte(t)) {
				content = br.ToolResultContent{JSON: json.RawMessage(t)}
			}
			appendTurn(out, "user", []br.Block{{ToolResult: &br.ToolResult{ToolUseID: m.ToolCallID, Content: []br.ToolResultContent{content}}}})
			hasToolBlocks = true
		}
	}
	if len(out.Messages) == 0 {
		return nil, api.BadRequest("messages", "invalid_value", "Bedrock needs at least one user or assistant message besides the system prompt.")
	}
	if len(req.Tools) > 0 {
		tc := &br.ToolConfig{}
		for _, t := range req.Tools {
			schema := t.Function.Parameters
			if len(schema) == 0 || string(schema) == "null" {
				schema = json.RawMessage(`{"type":"object","properties":{}}`)
			}
			tc.Tools = append(tc.Tools, br.Tool{ToolSpec: br.ToolSpec{Name: t.Function.Name, Description: t.Function.Description, InputSchema: br.InputSchema{JSON: schema}}})
		}
		if c := req.ToolChoice; c != nil {
			switch {
			case c.Function != "":
				tc.ToolChoice, _ = json.Marshal(map[string]any{"tool": map[string]string{"name": c.Function}})
			case c.Mode == "required":
				tc.ToolChoice = json.RawMessage(`{"any":{}}`)
			case c.Mode == "auto":
				tc.ToolChoice = json.RawMessage(`{"auto":{}}`)
			case c.Mode == "none":
				// Converse has no "none": leave the tools out, which only
				// works while the conversation holds no tool blocks.
				if hasToolBlocks {
					return nil, api.BadRequest("tool_choice", "unsupported_value", "tool_choice 'none' is not supported by Bedrock Converse once the conversation contains tool calls.")
				}
				tc = nil
			}
		}
		out.ToolConfig = tc
	}
	return out, nil
}

func appendTurn(out *br.Request, role string, blocks []br.Block) {
	if n := len(out.Messages); n > 0 && out.Messages[n-1].Role == role {
		out.Messages[n-1].Content = append(out.Messages[n-1].Content, blocks...)
		return
	}
	out.Messages = append(out.Messages, br.Message{Role: role, Content: blocks})
}

func contentBlocks(c wire.Content, i int) ([]br.Block, error) {
	if !c.IsParts {
		if c.Text == "" {
			return nil, nil
		}
		return []br.Block{{Text: c.Text}}, nil
	}
	var out []br.Block
	for _, p := range c.Parts {
		switch p.Type {
		case "text":
			if p.Text != "" {
				out = append(out, br.Block{Text: p.Text})
			}
		case "image_url", "file":
			u := ""
			if p.ImageURL != nil {
				u = p.ImageURL.URL
			} else if p.File != nil {
				u = p.File.FileData
			}
			rest, ok := strings.CutPrefix(u, "data:")
			meta, data, found := strings.Cut(rest, ",")
			mime, isB64 := strings.CutSuffix(meta, ";base64")
			if !ok || !found || !isB64 {
				return nil, api.BadRequest("messages", "unsupported_value", "messages[%d]: Bedrock accepts images and documents only as base64 data: URLs.", i)
			}
			format := mime[strings.IndexByte(mime, '/')+1:]
			if strings.HasPrefix(mime, "image/") {
				out = append(out, br.Block{Image: &br.Image{Format: format, Source: br.BytesSource{Bytes: data}}})
			} else {
				out = append(out, br.Block{Document: &br.Document{Format: format, Name: "document", Source: br.BytesSource{Bytes: data}}})
			}
		default:
			return nil, api.BadRequest("messages", "unsupported_value", "messages[%d]: content part type %q is not supported by Bedrock.", i, p.Type)
		}
	}
	return out, nil
}
