// Package responses translates OpenAI's Responses API (stateless: nothing is
// stored, previous_response_id is refused) to and from the internal chat
// shape, streams included, so any provider can serve it.
package responses

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"strings"

	"github.com/tidwall/gjson"

	"github.com/switchboard-gw/switchboard/internal/api"
	wire "github.com/switchboard-gw/switchboard/internal/api/openai"
)

// known lists the Responses request fields the translation honours.
var known = map[string]bool{
	"model": true, "input": true, "instructions": true, "tools": true, "tool_choice": true,
	"max_output_tokens": true, "temperature": true, "top_p": true, "stream": true, "store": true,
	"reasoning": true, "text": true, "parallel_tool_calls": true, "metadata": true, "user": true,
	"service_tier": true, "truncation": true, "include": true, "stream_options": true,
}

// Request is what the response needs to echo from the request.
type Request struct {
	Model        string
	Instructions *string
	Tools        json.RawMessage
	ToolChoice   json.RawMessage
	Temperature  *float64
	TopP         *float64
	Parallel     bool
	Stream       bool
	Metadata     json.RawMessage
}

// ToChat translates a Responses request into an internal chat request
// body, and returns what the answer must echo.
func ToChat(body []byte) ([]byte, *Request, *api.Error) {
	if !gjson.ValidBytes(body) {
		return nil, nil, api.BadRequest("", "invalid_json", "We could not parse the JSON body of your request.")
	}
	root := gjson.ParseBytes(body)
	if !root.IsObject() {
		return nil, nil, api.BadRequest("", "invalid_json", "The request body must be a JSON object.")
	}
	var bad *api.Error
	root.ForEach(func(k, v gjson.Result) bool {
		if k.Str == "previous_response_id" || k.Str == "conversation" {
			if v.Type != gjson.Null {
				bad = api.BadRequest(k.Str, "unsupported_parameter", "'%s' needs stored responses; Switchboard's Responses API is stateless: send the whole conversation as input.", k.Str)
			}
		} else if !known[k.Str] && v.Type != gjson.Null {
			bad = api.BadRequest(k.Str, "unsupported_parameter", "Unsupported parameter: '%s'.", k.Str)
		}
		return bad == nil
	})
	if bad != nil {
		return nil, nil, bad
	}
	model := root.Get("model")
	if model.Type != gjson.String || model.Str == "" {
		return nil, nil, api.BadRequest("model", "missing_required_parameter", "You must provide a model parameter.")
	}
	in := &Request{Model: model.Str, Stream: root.Get("stream").Bool(), Parallel: root.Get("parallel_tool_calls").Type != gjson.False,
		Tools: rawOr(root.Get("tools"), "[]"), ToolChoice: rawOr(root.Get("tool_choice"), `"auto"`), Metadata: rawOr(root.Get("metadata"), "null")}
	chat := wire.ChatRequest{Model: model.Str, Stream: in.Stream, User: root.Get("user").String()}
	if in.Stream {
		chat.StreamOptions = &wire.StreamOptions{IncludeUsage: true}
	}
	if v := root.Get("temperature"); v.Type == gjson.Number {
		chat.Temperature, in.Temperature = &v.Num, &v.Num
	}
	if v := root.Get("top_p"); v.Type == gjson.Number {
		chat.TopP, in.TopP = &v.Num, &v.Num
	}
	if v := root.Get("max_output_tokens"); v.Type == gjson.Number {
		n := v.Int()
		chat.MaxCompletionTokens = &n
	}
	if v := root.Get("parallel_tool_calls"); v.Type == gjson.False {
		f := false
		chat.ParallelToolCalls = &f
	}
	if e := root.Get("reasoning.effort").String(); e != "" {
		chat.ReasoningEffort = e
	}
	if instr := root.Get("instructions"); instr.Type == gjson.String {
		s := instr.Str
		in.Instructions = &s
		chat.Messages = append(chat.Messages, wire.Message{Role: "system", Content: wire.Content{Text: s}})
	}
	msgs, aerr := inputMessages(root.Get("input"))
	if aerr != nil {
		return nil, nil, aerr
	}
	chat.Messages = append(chat.Messages, msgs...)
	var err *api.Error
	root.Get("tools").ForEach(func(_, t gjson.Result) bool {
		if t.Get("type").String() != "function" {
			err = api.BadRequest("tools", "unsupported_value", "Tool type %q is not supported; Switchboard's Responses API takes function tools.", t.Get("type").String())
			return false
		}
		decl := wire.FunctionDecl{Name: t.Get("name").String(), Description: t.Get("description").String()}
		if p := t.Get("parameters"); p.Exists() {
			decl.Parameters = json.RawMessage(p.Raw)
		}
		chat.Tools = append(chat.Tools, wire.Tool{Type: "function", Function: decl})
		return true
	})
	if err != nil {
		return nil, nil, err
	}
	if tc := root.Get("tool_choice"); tc.Exists() && len(chat.Tools) > 0 {
		switch {
		case tc.Type == gjson.String:
			chat.ToolChoice = &wire.ToolChoice{Mode: tc.Str}
		case tc.Get("type").String() == "function":
			chat.ToolChoice = &wire.ToolChoice{Function: tc.Get("name").String()}
		}
	}
	switch f := root.Get("text.format"); f.Get("type").String() {
	case "json_schema":
		chat.ResponseFormat = &wire.ResponseFormat{Type: "json_schema", JSONSchema: &wire.JSONSchema{Name: f.Get("name").String(), Schema: json.RawMessage(f.Get("schema").Raw)}}
	case "json_object":
		chat.ResponseFormat = &wire.ResponseFormat{Type: "json_object"}
	}
	b, merr := json.Marshal(chat)
	if merr != nil {
		return nil, nil, api.BadRequest("", "invalid_request", "Invalid request: %v", merr)
	}
	return b, in, nil
}

func rawOr(r gjson.Result, def string) json.RawMessage {
	if !r.Exists() {
		return json.RawMessage(def)
	}
	return json.RawMessage(r.Raw)
}

// inputMessages turns input (a string or a list of items) into messages.
// Consecutive function calls become one assistant turn with tool calls.
func inputMessages(input gjson.Result) ([]wire.Message, *api.Error) {
	if input.Type == gjson.String {
		return []wire.Message{{Role: "user", Content: wire.Content{Text: input.Str}}}, nil
	}
	if !input.IsArray() {
		return nil, api.BadRequest("input", "missing_required_parameter", "'input' must be a string or a list of input items.")
	}
	var out []wire.Message
	var err *api.Error
	i := 0
	input.ForEach(func(_, item gjson.Result) bool {
		typ := item.Get("type").String()
		switch {
		case typ == "function_call":
			tc := wire.ToolCall{ID: item.Get("call_id").String(), Type: "function",
				Function: wire.FunctionCall{Name: item.Get("name").String(), Arguments: item.Get("arguments").String()}}
			if n := len(out); n > 0 && out[n-1].Role == "assistant" && (len(out[n-1].ToolCalls) > 0 || out[n-1].Content.String() != "") {
				out[n-1].ToolCalls = append(out[n-1].ToolCalls, tc)
			} else {
				out = append(out, wire.Message{Role: "assistant", Content: wire.Content{Null: true}, ToolCalls: []wire.ToolCall{tc}})
			}
		case typ == "function_call_output":
			output := item.Get("output")
			text := output.String()
			if output.IsArray() {
				text = partsText(output)
			}
			out = append(out, wire.Message{Role: "tool", ToolCallID: item.Get("call_id").String(), Content: wire.Content{Text: text}})
		case typ == "reasoning":
			// Reasoning items carry no content a stateless gateway can replay.
		case typ == "message" || typ == "" && item.Get("role").Exists():
			role := item.Get("role").String()
			switch role {
			case "user", "assistant", "system", "developer":
			default:
				err = api.BadRequest("input", "invalid_value", "input[%d].role: expected user, assistant, system or developer.", i)
				return false
			}
			m := wire.Message{Role: role}
			c := item.Get("content")
			if c.Type == gjson.String {
				m.Content = wire.Content{Text: c.Str}
			} else {
				m.Content = wire.Content{IsParts: true}
				c.ForEach(func(_, p gjson.Result) bool {
					switch p.Get("type").String() {
					case "input_text", "output_text", "text":
						m.Content.Parts = append(m.Content.Parts, wire.ContentPart{Type: "text", Text: p.Get("text").String()})
					case "input_image":
						m.Content.Parts = append(m.Content.Parts, wire.ContentPart{Type: "image_url", ImageURL: &wire.ImageURL{URL: p.Get("image_url").String(), Detail: p.Get("detail").String()}})
					case "input_file":
						m.Content.Parts = append(m.Content.Parts, wire.ContentPart{Type: "file", File: &wire.File{FileData: p.Get("file_data").String(), Filename: p.Get("filename").String()}})
					case "refusal":
						m.Refusal = p.Get("refusal").String()
					default:
						err = api.BadRequest("input", "unsupported_value", "input[%d]: content type %q is not supported.", i, p.Get("type").String())
						return false
					}
					return true
				})
			}
			out = append(out, m)
		default:
			err = api.BadRequest("input", "unsupported_value", "input[%d]: item type %q is not supported.", i, typ)
		}
		i++
		return err == nil
	})
	if err == nil && len(out) == 0 {
		err = api.BadRequest("input", "invalid_value", "'input' must not be empty.")
	}
	return out, err
}

func partsText(parts gjson.Result) string {
	var b strings.Builder
	parts.ForEach(func(_, p gjson.Result) bool {
		b.WriteString(p.Get("text").String())
		return true
	})
	return b.String()
}

// NewID makes a random id with a prefix, as OpenAI's are shaped.
func NewID(prefix string) string {
	var b [12]byte
	rand.Read(b[:])
	return prefix + hex.EncodeToString(b[:])
}
