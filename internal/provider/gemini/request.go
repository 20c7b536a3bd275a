package gemini

import (
	"encoding/json"
	"strings"

	"github.com/tidwall/gjson"

	"github.com/switchboard-gw/switchboard/internal/api"
	gem "github.com/switchboard-gw/switchboard/internal/api/gemini"
	wire "github.com/switchboard-gw/switchboard/internal/api/openai"
)

// thinkingBudgets maps reasoning_effort to a thinking budget in tokens.
var thinkingBudgets = map[string]int64{"none": 0, "minimal": 128, "low": 1024, "medium": 8192, "high": 24576}

// translated lists the OpenAI request fields Gemini honours (or that do
// not change the answer).
var translated = map[string]bool{
	"model": true, "messages": true, "stream": true, "stream_options": true,
	"temperature": true, "top_p": true, "max_tokens": true, "max_completion_tokens": true,
	"stop": true, "tools": true, "tool_choice": true, "parallel_tool_calls": true,
	"response_format": true, "user": true, "reasoning_effort": true, "n": true, "seed": true,
	"presence_penalty": true, "frequency_penalty": true, "metadata": true, "store": true, "service_tier": true,
}

// toGemini translates an OpenAI chat request.
func toGemini(body []byte, drop bool, onDrop func(string)) (*gem.Request, error) {
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
	if req.ParallelToolCalls != nil && !*req.ParallelToolCalls && len(req.Tools) > 0 {
		// Gemini cannot be told to call at most one function.
		unsupported = append(unsupported, "parallel_tool_calls")
	}
	for _, p := range unsupported {
		if !drop {
			return nil, api.BadRequest(p, "unsupported_parameter",
				"Unsupported parameter: '%s' is not supported by Gemini models. Remove it, or set drop_params: true on this model to drop it.", p)
		}
		if onDrop != nil {
			onDrop(p)
		}
	}
	out := &gem.Request{}
	gc := &gem.GenerationConfig{Temperature: req.Temperature, TopP: req.TopP, StopSequences: req.Stop,
		Seed: req.Seed, PresencePenalty: req.PresencePenalty, FrequencyPenalty: req.FrequencyPenalty}
	switch {
	case req.MaxCompletionTokens != nil:
		gc.MaxOutputTokens = req.MaxCompletionTokens
	case req.MaxTokens != nil:
		gc.MaxOutputTokens = req.MaxTokens
	}
	if req.N != nil && *req.N > 1 {
		gc.CandidateCount = req.N
	}
	if req.ReasoningEffort != "" {
		budget, ok := thinkingBudgets[req.ReasoningEffort]
		if !ok {
			return nil, api.BadRequest("reasoning_effort", "invalid_value", "Invalid value for 'reasoning_effort': expected none, minimal, low, medium or high.")
		}
		gc.ThinkingConfig = &gem.ThinkingConfig{ThinkingBudget: &budget, IncludeThoughts: budget > 0}
	}
	if rf := req.ResponseFormat; rf != nil {
		switch rf.Type {
		case "json_object":
			gc.ResponseMimeType = "application/json"
		case "json_schema":
			if rf.JSONSchema == nil || len(rf.JSONSchema.Schema) == 0 {
				return nil, api.BadRequest("response_format", "missing_required_parameter", "response_format of type json_schema needs json_schema.schema.")
			}
			gc.ResponseMimeType = "application/json"
			gc.ResponseSchema = CleanSchema(rf.JSONSchema.Schema)
		case "text", "":
		default:
			return nil, api.BadRequest("response_format", "invalid_value", "Invalid value for 'response_format.type': %q.", rf.Type)
		}
	}
	out.GenerationConfig = gc

	if err := translateMessages(&req, out); err != nil {
		return nil, err
	}
	if len(req.Tools) > 0 {
		var decls []gem.FunctionDeclaration
		for _, t := range req.Tools {
			if t.Type != "function" && t.Type != "" {
				return nil, api.BadRequest("tools", "unsupported_value", "Tool type %q is not supported by Gemini models.", t.Type)
			}
			d := gem.FunctionDeclaration{Name: t.Function.Name, Description: t.Function.Description}
			if len(t.Function.Parameters) > 0 && string(t.Function.Parameters) != "null" {
				d.Parameters = CleanSchema(t.Function.Parameters)
			}
			decls = append(decls, d)
		}
		out.Tools = []gem.Tool{{FunctionDeclarations: decls}}
		if tc := req.ToolChoice; tc != nil {
			cfg := gem.FunctionCallingConfig{Mode: "AUTO"}
			switch {
			case tc.Function != "":
				cfg = gem.FunctionCallingConfig{Mode: "ANY", AllowedFunctionNames: []string{tc.Function}}
			case tc.Mode == "required":
				cfg.Mode = "ANY"
			case tc.Mode == "none":
				cfg.Mode = "NONE"
			}
			out.ToolConfig = &gem.ToolConfig{FunctionCallingConfig: cfg}
		}
	}
	return out, nil
}

func translateMessages(req *wire.ChatRequest, out *gem.Request) error {
	names := map[string]string{} // tool call id → function name, for results
	for i, m := range req.Messages {
		switch m.Role {
		case "system", "developer":
			if out.SystemInstruction == nil {
				out.SystemInstruction = &gem.Content{}
			}
			out.SystemInstruction.Parts = append(out.SystemInstruction.Parts, gem.Part{Text: m.Content.String()})
		case "user":
			parts, err := contentParts(m.Content, i)
			if err != nil {
				return err
			}
			appendTurn(out, "user", parts)
		case "assistant":
			parts, err := contentParts(m.Content, i)
			if err != nil {
				return err
			}
			for _, tc := range m.ToolCalls {
				names[tc.ID] = tc.Function.Name
				args := json.RawMessage(`{}`)
				if a := strings.TrimSpace(tc.Function.Arguments); a != "" {
					if !json.Valid([]byte(a)) || a[0] != '{' {
						return api.BadRequest("messages", "invalid_value", "messages[%d].tool_calls: arguments of %q are not a JSON object.", i, tc.Function.Name)
					}
					args = json.RawMessage(a)
				}
				fc := &gem.FunctionCall{Name: tc.Function.Name, Args: args}
				if !strings.HasPrefix(tc.ID, generatedPrefix) {
					fc.ID = tc.ID // an id Gemini gave us; send it back
				}
				parts = append(parts, gem.Part{FunctionCall: fc, ThoughtSignature: gjson.GetBytes(tc.ExtraContent, "google.thought_signature").String()})
			}
			if len(parts) > 0 {
				appendTurn(out, "model", parts)
			}
		case "tool", "function":
			name := names[m.ToolCallID]
			if name == "" {
				name = m.Name
			}
			if name == "" {
				return api.BadRequest("messages", "invalid_value", "messages[%d]: no earlier tool call has id %q; Gemini needs the function name of every tool result.", i, m.ToolCallID)
			}
			text := m.Content.String()
			resp := json.RawMessage(text)
			if !json.Valid(resp) || len(strings.TrimSpace(text)) == 0 || strings.TrimSpace(text)[0] != '{' {
				resp, _ = json.Marshal(map[string]string{"result": text})
			}
			fr := &gem.FunctionResponse{Name: name, Response: resp}
			if !strings.HasPrefix(m.ToolCallID, generatedPrefix) {
				fr.ID = m.ToolCallID
			}
			appendTurn(out, "user", []gem.Part{{FunctionResponse: fr}})
		}
	}
	if len(out.Contents) == 0 {
		return api.BadRequest("messages", "invalid_value", "Gemini models need at least one user or assistant message besides the system prompt.")
	}
	return nil
}

// appendTurn merges consecutive turns of one role: Gemini wants the
// results of one model turn's calls together.
func appendTurn(out *gem.Request, role string, parts []gem.Part) {
	if n := len(out.Contents); n > 0 && out.Contents[n-1].Role == role {
		out.Contents[n-1].Parts = append(out.Contents[n-1].Parts, parts...)
		return
	}
	out.Contents = append(out.Contents, gem.Content{Role: role, Parts: parts})
}

func contentParts(c wire.Content, i int) ([]gem.Part, error) {
	if !c.IsParts {
		if c.Text == "" {
			return nil, nil
		}
		return []gem.Part{{Text: c.Text}}, nil
	}
	var parts []gem.Part
	for _, p := range c.Parts {
		switch p.Type {
		case "text":
			parts = append(parts, gem.Part{Text: p.Text})
		case "image_url", "file":
			u := ""
			if p.ImageURL != nil {
				u = p.ImageURL.URL
			} else if p.File != nil {
				u = p.File.FileData
			}
			part, err := mediaPart(u, i)
			if err != nil {
				return nil, err
			}
			parts = append(parts, part)
		case "input_audio":
			if p.InputAudio == nil {
				return nil, api.BadRequest("messages", "invalid_value", "messages[%d]: input_audio part needs data.", i)
			}
			parts = append(parts, gem.Part{InlineData: &gem.Blob{MimeType: "audio/" + p.InputAudio.Format, Data: p.InputAudio.Data}})
		default:
			return nil, api.BadRequest("messages", "unsupported_value", "messages[%d]: content part type %q is not supported by Gemini models.", i, p.Type)
		}
	}
	return parts, nil
}

func mediaPart(u string, i int) (gem.Part, error) {
	if rest, ok := strings.CutPrefix(u, "data:"); ok {
		meta, data, found := strings.Cut(rest, ",")
		mime, isB64 := strings.CutSuffix(meta, ";base64")
		if !found || !isB64 || mime == "" {
			return gem.Part{}, api.BadRequest("messages", "invalid_value", "messages[%d]: data: URLs must be base64 with a media type.", i)
		}
		return gem.Part{InlineData: &gem.Blob{MimeType: mime, Data: data}}, nil
	}
	if !strings.HasPrefix(u, "https://") && !strings.HasPrefix(u, "http://") && !strings.HasPrefix(u, "gs://") {
		return gem.Part{}, api.BadRequest("messages", "invalid_value", "messages[%d]: media url must be http(s), gs:// or a data: URL.", i)
	}
	return gem.Part{FileData: &gem.FileData{FileURI: u, MimeType: mimeFromURL(u)}}, nil
}

func mimeFromURL(u string) string {
	u = strings.ToLower(u)
	if i := strings.IndexAny(u, "?#"); i >= 0 {
		u = u[:i]
	}
	for ext, mime := range map[string]string{".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".webp": "image/webp",
		".gif": "image/gif", ".pdf": "application/pdf", ".mp3": "audio/mp3", ".wav": "audio/wav", ".mp4": "video/mp4"} {
		if strings.HasSuffix(u, ext) {
			return mime
		}
	}
	return ""
}

// schemaKeys are the JSON Schema keywords Gemini's function declarations
// accept; anything else is removed.
var schemaKeys = map[string]bool{
	"type": true, "format": true, "title": true, "description": true, "nullable": true, "enum": true,
	"maxItems": true, "minItems": true, "properties": true, "required": true, "minProperties": true,
	"maxProperties": true, "minLength": true, "maxLength": true, "pattern": true, "example": true,
	"anyOf": true, "propertyOrdering": true, "default": true, "items": true, "minimum": true, "maximum": true,
}

// CleanSchema rewrites a JSON Schema into the subset Gemini accepts:
// local $refs inlined, const → enum, type lists → type + nullable, oneOf →
// anyOf, and unknown keywords (additionalProperties, $schema, ...) dropped.
func CleanSchema(raw json.RawMessage) json.RawMessage {
	var v any
	if json.Unmarshal(raw, &v) != nil {
		return raw
	}
	root, _ := v.(map[string]any)
	b, err := json.Marshal(cleanNode(v, root, 0))
	if err != nil {
		return raw
	}
	return b
}

func cleanNode(v any, root map[string]any, depth int) any {
	m, ok := v.(map[string]any)
	if !ok || depth > 32 {
		return v
	}
	if ref, ok := m["$ref"].(string); ok && root != nil {
		if target := resolveRef(ref, root); target != nil {
			return cleanNode(target, root, depth+1)
		}
	}
	out := map[string]any{}
	if c, ok := m["const"]; ok {
		out["enum"] = []any{c}
	}
	if one, ok := m["oneOf"]; ok {
		m["anyOf"] = one
	}
	for k, val := range m {
		if !schemaKeys[k] {
			continue
		}
		switch k {
		case "type":
			if list, ok := val.([]any); ok {
				for _, t := range list {
					if t == "null" {
						out["nullable"] = true
					} else if _, set := out["type"]; !set {
						out["type"] = t
					}
				}
				continue
			}
			out[k] = val
		case "properties":
			props := map[string]any{}
			if pm, ok := val.(map[string]any); ok {
				for name, p := range pm {
					props[name] = cleanNode(p, root, depth+1)
				}
			}
			out[k] = props
		case "items":
			out[k] = cleanNode(val, root, depth+1)
		case "anyOf":
			var list []any
			if l, ok := val.([]any); ok {
				for _, s := range l {
					if sm, ok := s.(map[string]any); ok && sm["type"] == "null" {
						out["nullable"] = true
						continue
					}
					list = append(list, cleanNode(s, root, depth+1))
				}
			}
			if len(list) == 1 {
				for k2, v2 := range list[0].(map[string]any) {
					out[k2] = v2
				}
			} else if len(list) > 1 {
				out[k] = list
			}
		case "enum":
			if l, ok := val.([]any); ok {
				strs := make([]any, 0, len(l))
				for _, e := range l {
					if s, ok := e.(string); ok {
						strs = append(strs, s)
					}
				}
				if len(strs) == len(l) {
					out[k] = strs
				}
			}
		default:
			out[k] = val
		}
	}
	return out
}

func resolveRef(ref string, root map[string]any) any {
	path, ok := strings.CutPrefix(ref, "#/")
	if !ok {
		return nil
	}
	var cur any = root
	for _, seg := range strings.Split(path, "/") {
		m, ok := cur.(map[string]any)
		if !ok {
			return nil
		}
		cur = m[strings.ReplaceAll(strings.ReplaceAll(seg, "~1", "/"), "~0", "~")]
	}
	return cur
}
