package mock

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"

	"github.com/tidwall/gjson"

	ant "github.com/switchboard-gw/switchboard/internal/api/anthropic"
	"github.com/switchboard-gw/switchboard/internal/sse"
)

func anthropicError(w http.ResponseWriter, status int, typ, msg string) {
	b, _ := json.Marshal(ant.ErrorBody{Type: "error", Error: ant.ErrorDetail{Type: typ, Message: msg}})
	writeJSONError(w, status, string(b))
}

func (s *Server) anthropicMessages(w http.ResponseWriter, r *http.Request) {
	body, err := s.read(r)
	if err != nil {
		return
	}
	if r.Header.Get("x-api-key") == "" {
		anthropicError(w, http.StatusUnauthorized, "authentication_error", "x-api-key header is required")
		return
	}
	if r.Header.Get("anthropic-version") == "" {
		anthropicError(w, http.StatusBadRequest, "invalid_request_error", "anthropic-version: header is required")
		return
	}
	if !gjson.ValidBytes(body) {
		anthropicError(w, http.StatusBadRequest, "invalid_request_error", "Request body is not valid JSON")
		return
	}
	req := gjson.ParseBytes(body)
	model := req.Get("model").String()
	msgs := req.Get("messages").Array()
	switch {
	case model == "":
		anthropicError(w, http.StatusBadRequest, "invalid_request_error", "model: Field required")
		return
	case !req.Get("max_tokens").Exists():
		anthropicError(w, http.StatusBadRequest, "invalid_request_error", "max_tokens: Field required")
		return
	case len(msgs) == 0:
		anthropicError(w, http.StatusBadRequest, "invalid_request_error", "messages: at least one message is required")
		return
	}
	for i, m := range msgs {
		role := m.Get("role").String()
		if role != "user" && role != "assistant" {
			anthropicError(w, http.StatusBadRequest, "invalid_request_error", fmt.Sprintf("messages.%d.role: Input should be 'user' or 'assistant'", i))
			return
		}
		if i > 0 && role == msgs[i-1].Get("role").String() {
			anthropicError(w, http.StatusBadRequest, "invalid_request_error", "messages: roles must alternate between \"user\" and \"assistant\"")
			return
		}
	}
	var all strings.Builder
	all.WriteString(contentText(req.Get("system")))
	for _, m := range msgs {
		all.WriteString(contentText(m.Get("content")))
		all.WriteByte('\n')
	}
	last := msgs[len(msgs)-1]
	lastRole := last.Get("role").String()
	var results []string
	last.Get("content").ForEach(func(_, b gjson.Result) bool {
		if b.Get("type").String() == "tool_result" {
			results = append(results, contentText(b.Get("content")))
		}
		return true
	})
	if len(results) > 0 {
		lastRole = "tool"
	}
	var tools []tool
	for _, t := range req.Get("tools").Array() {
		tools = append(tools, tool{name: t.Get("name").String(), schema: t.Get("input_schema")})
	}
	tc := req.Get("tool_choice")
	forced := ""
	if tc.Get("type").String() == "tool" {
		forced = tc.Get("name").String()
	}
	none := tc.Get("type").String() == "none"
	parallel := !tc.Get("disable_parallel_tool_use").Bool()
	p := makePlan(model, lastRole, textOfLastUser(last), all.String(), results, tools, forced, none, parallel, nil, req.Get("max_tokens").Int())
	thinking := req.Get("thinking.type").String() == "enabled"

	if !s.preamble(r, p.d) {
		return
	}
	if status := s.failStatus(p.d); status != 0 {
		typ := "api_error"
		switch {
		case status == http.StatusTooManyRequests:
			typ = "rate_limit_error"
			s.retryAfterHeaders(w)
		case status == 529:
			typ = "overloaded_error"
		case status < 500:
			typ = "invalid_request_error"
		}
		anthropicError(w, status, typ, fmt.Sprintf("Simulated upstream error %d.", status))
		return
	}
	msgID := id("msg_mock", string(body))
	stop := map[string]string{"stop": "end_turn", "tool_calls": "tool_use", "length": "max_tokens"}[p.finish]
	usage := ant.Usage{InputTokens: p.prompt, OutputTokens: p.completionTokens()}
	var blocks []ant.Block
	if thinking {
		blocks = append(blocks, ant.Block{Type: "thinking", Thinking: "Let me think about this.", Signature: id("sig_", msgID)})
	}
	if p.text != "" {
		blocks = append(blocks, ant.Block{Type: "text", Text: p.text})
	}
	for _, c := range p.toolCalls {
		blocks = append(blocks, ant.Block{Type: "tool_use", ID: strings.Replace(c.ID, "call_", "toolu_", 1), Name: c.Function.Name, Input: json.RawMessage(c.Function.Arguments)})
	}
	if !req.Get("stream").Bool() {
		res := ant.Response{ID: msgID, Type: "message", Role: "assistant", Model: model, Content: blocks, StopReason: stop, Usage: usage}
		b, _ := json.Marshal(res)
		w.Header().Set("Content-Type", "application/json")
		w.Write(b)
		return
	}
	s.anthropicStream(w, r, p, msgID, model, blocks, stop, usage)
}

func textOfLastUser(m gjson.Result) string {
	return contentText(m.Get("content"))
}

func (s *Server) anthropicStream(w http.ResponseWriter, r *http.Request, p plan, msgID, model string, blocks []ant.Block, stop string, usage ant.Usage) {
	w.Header().Set("Content-Type", "text/event-stream; charset=utf-8")
	w.Header().Set("Cache-Control", "no-cache")
	w.WriteHeader(http.StatusOK)
	rc := http.NewResponseController(w)
	sent := 0
	send := func(typ string, v any) bool {
		if p.d.cutAfter >= 0 && sent >= p.d.cutAfter {
			rc.Flush()
			cut()
		}
		b, _ := json.Marshal(v)
		sse.WriteEvent(w, typ, b)
		rc.Flush()
		sent++
		if p.d.slowChunks > 0 && !sleep(r.Context(), p.d.slowChunks) {
			return false
		}
		return s.pace(r.Context())
	}
	start := map[string]any{"type": "message_start", "message": map[string]any{
		"id": msgID, "type": "message", "role": "assistant", "model": model, "content": []any{},
		"stop_reason": nil, "stop_sequence": nil,
		"usage": map[string]any{"input_tokens": usage.InputTokens, "output_tokens": 1, "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0},
	}}
	if !send("message_start", start) {
		return
	}
	if p.d.errorEvent {
		send("error", map[string]any{"type": "error", "error": map[string]string{"type": "overloaded_error", "message": "Overloaded"}})
		return
	}
	for i, b := range blocks {
		var head map[string]any
		switch b.Type {
		case "thinking":
			head = map[string]any{"type": "thinking", "thinking": ""}
		case "text":
			head = map[string]any{"type": "text", "text": ""}
		case "tool_use":
			head = map[string]any{"type": "tool_use", "id": b.ID, "name": b.Name, "input": map[string]any{}}
		}
		if !send("content_block_start", map[string]any{"type": "content_block_start", "index": i, "content_block": head}) {
			return
		}
		if i == 0 && !send("ping", map[string]string{"type": "ping"}) {
			return
		}
		delta := func(d map[string]any) bool {
			return send("content_block_delta", map[string]any{"type": "content_block_delta", "index": i, "delta": d})
		}
		switch b.Type {
		case "thinking":
			if !delta(map[string]any{"type": "thinking_delta", "thinking": b.Thinking}) || !delta(map[string]any{"type": "signature_delta", "signature": b.Signature}) {
				return
			}
		case "text":
			for _, piece := range Pieces(b.Text) {
				if !delta(map[string]any{"type": "text_delta", "text": piece}) {
					return
				}
			}
		case "tool_use":
			args := string(b.Input)
			if args == "{}" {
				args = "" // Anthropic streams no argument bytes for a tool without arguments
			}
			if !delta(map[string]any{"type": "input_json_delta", "partial_json": ""}) {
				return
			}
			if args != "" {
				for _, part := range splitN(args, 3) {
					if !delta(map[string]any{"type": "input_json_delta", "partial_json": part}) {
						return
					}
				}
			}
		}
		if !send("content_block_stop", map[string]any{"type": "content_block_stop", "index": i}) {
			return
		}
	}
	if !send("message_delta", map[string]any{"type": "message_delta", "delta": map[string]any{"stop_reason": stop, "stop_sequence": nil},
		"usage": map[string]any{"output_tokens": usage.OutputTokens}}) {
		return
	}
	send("message_stop", map[string]string{"type": "message_stop"})
}

// anthropicCountTokens answers /v1/messages/count_tokens.
func (s *Server) anthropicCountTokens(w http.ResponseWriter, r *http.Request) {
	body, err := s.read(r)
	if err != nil {
		return
	}
	if r.Header.Get("x-api-key") == "" {
		anthropicError(w, http.StatusUnauthorized, "authentication_error", "x-api-key header is required")
		return
	}
	req := gjson.ParseBytes(body)
	if !req.Get("model").Exists() || !req.Get("messages").IsArray() {
		anthropicError(w, http.StatusBadRequest, "invalid_request_error", "model and messages are required")
		return
	}
	var all strings.Builder
	all.WriteString(contentText(req.Get("system")))
	req.Get("messages").ForEach(func(_, m gjson.Result) bool {
		all.WriteString(contentText(m.Get("content")))
		return true
	})
	w.Header().Set("Content-Type", "application/json")
	fmt.Fprintf(w, `{"input_tokens":%d}`, CountTokens(all.String())+3)
}
