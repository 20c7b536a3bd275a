package mock

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"

	"github.com/tidwall/gjson"

	"github.com/switchboard-gw/switchboard/internal/sse"
)

func cohereError(w http.ResponseWriter, status int, msg string) {
	b, _ := json.Marshal(map[string]string{"id": "err", "message": msg})
	writeJSONError(w, status, string(b))
}

func (s *Server) cohereChat(w http.ResponseWriter, r *http.Request) {
	body, err := s.read(r)
	if err != nil {
		return
	}
	if !strings.HasPrefix(r.Header.Get("Authorization"), "Bearer ") {
		cohereError(w, http.StatusUnauthorized, "no api key supplied")
		return
	}
	req := gjson.ParseBytes(body)
	msgs := req.Get("messages").Array()
	model := req.Get("model").String()
	if len(msgs) == 0 || model == "" {
		cohereError(w, http.StatusBadRequest, "invalid request: messages and model are required")
		return
	}
	var all strings.Builder
	for _, m := range msgs {
		all.WriteString(contentText(m.Get("content")))
	}
	last := msgs[len(msgs)-1]
	lastRole := last.Get("role").String()
	var results []string
	for i := len(msgs) - 1; i >= 0 && msgs[i].Get("role").String() == "tool"; i-- {
		results = append([]string{contentText(msgs[i].Get("content"))}, results...)
	}
	var tools []tool
	req.Get("tools").ForEach(func(_, t gjson.Result) bool {
		tools = append(tools, tool{name: t.Get("function.name").String(), schema: t.Get("function.parameters")})
		return true
	})
	none := req.Get("tool_choice").String() == "NONE"
	var schema *gjson.Result
	if rs := req.Get("response_format.json_schema"); rs.Exists() {
		schema = &rs
	}
	p := makePlan(model, lastRole, contentText(last.Get("content")), all.String(), results, tools, "", none, true, schema, req.Get("max_tokens").Int())
	if p.d.hang {
		<-r.Context().Done()
		return
	}
	if !s.wait(r.Context()) {
		return
	}
	if p.d.status >= 400 || s.failNow() {
		status := p.d.status
		if status == 0 {
			status = http.StatusInternalServerError
		}
		cohereError(w, status, fmt.Sprintf("Simulated upstream error %d.", status))
		return
	}
	respID := id("", string(body))
	finish := map[string]string{"stop": "COMPLETE", "tool_calls": "TOOL_CALL", "length": "MAX_TOKENS"}[p.finish]
	usage := map[string]any{"billed_units": map[string]int64{"input_tokens": p.prompt, "output_tokens": p.completionTokens()},
		"tokens": map[string]int64{"input_tokens": p.prompt + 10, "output_tokens": p.completionTokens()}}
	plan := ""
	if len(p.toolCalls) > 0 {
		plan = "I will call the tools."
	}
	callID := func(i int, name string) string { return name + "_" + id("", string(body), fmt.Sprint(i)) }
	if !req.Get("stream").Bool() {
		msg := map[string]any{"role": "assistant"}
		if p.text != "" {
			msg["content"] = []map[string]string{{"type": "text", "text": p.text}}
		}
		if len(p.toolCalls) > 0 {
			msg["tool_plan"] = plan
			var calls []map[string]any
			for i, c := range p.toolCalls {
				calls = append(calls, map[string]any{"id": callID(i, c.Function.Name), "type": "function", "function": map[string]string{"name": c.Function.Name, "arguments": c.Function.Arguments}})
			}
			msg["tool_calls"] = calls
		}
		b, _ := json.Marshal(map[string]any{"id": respID, "message": msg, "finish_reason": finish, "usage": usage})
		w.Header().Set("Content-Type", "application/json")
		w.Write(b)
		return
	}
	w.Header().Set("Content-Type", "text/event-stream")
	w.WriteHeader(http.StatusOK)
	rc := http.NewResponseController(w)
	sent := 0
	send := func(v map[string]any) bool {
		if p.d.cutAfter >= 0 && sent >= p.d.cutAfter {
			rc.Flush()
			cut()
		}
		b, _ := json.Marshal(v)
		sse.WriteEvent(w, v["type"].(string), b)
		rc.Flush()
		sent++
		return s.pace(r.Context())
	}
	msgDelta := func(m map[string]any) map[string]any { return map[string]any{"message": m} }
	if !send(map[string]any{"id": respID, "type": "message-start", "delta": msgDelta(map[string]any{"role": "assistant", "content": []any{}, "tool_plan": "", "tool_calls": []any{}})}) {
		return
	}
	if p.text != "" {
		if !send(map[string]any{"type": "content-start", "index": 0, "delta": msgDelta(map[string]any{"content": map[string]string{"type": "text", "text": ""}})}) {
			return
		}
		for _, piece := range Pieces(p.text) {
			if !send(map[string]any{"type": "content-delta", "index": 0, "delta": msgDelta(map[string]any{"content": map[string]string{"text": piece}})}) {
				return
			}
		}
		if !send(map[string]any{"type": "content-end", "index": 0}) {
			return
		}
	}
	if plan != "" {
		for _, piece := range Pieces(plan) {
			if !send(map[string]any{"type": "tool-plan-delta", "delta": msgDelta(map[string]any{"tool_plan": piece})}) {
				return
			}
		}
	}
	for i, c := range p.toolCalls {
		if !send(map[string]any{"type": "tool-call-start", "index": i, "delta": msgDelta(map[string]any{"tool_calls": map[string]any{
			"id": callID(i, c.Function.Name), "type": "function", "function": map[string]string{"name": c.Function.Name, "arguments": ""}}})}) {
			return
		}
		for _, part := range splitN(c.Function.Arguments, 3) {
			if !send(map[string]any{"type": "tool-call-delta", "index": i, "delta": msgDelta(map[string]any{"tool_calls": map[string]any{"function": map[string]string{"arguments": part}}})}) {
				return
			}
		}
		if !send(map[string]any{"type": "tool-call-end", "index": i}) {
			return
		}
	}
	send(map[string]any{"type": "message-end", "delta": map[string]any{"finish_reason": finish, "usage": usage}})
}

func (s *Server) cohereEmbed(w http.ResponseWriter, r *http.Request) {
	body, err := s.read(r)
	if err != nil {
		return
	}
	if !strings.HasPrefix(r.Header.Get("Authorization"), "Bearer ") {
		cohereError(w, http.StatusUnauthorized, "no api key supplied")
		return
	}
	req := gjson.ParseBytes(body)
	if !req.Get("input_type").Exists() {
		cohereError(w, http.StatusBadRequest, "invalid request: valid input_type must be provided with the provided model")
		return
	}
	dims := int(req.Get("output_dimension").Int())
	if dims == 0 {
		dims = s.opts.EmbeddingDims
	}
	var vecs [][]float64
	var tokens int64
	req.Get("texts").ForEach(func(_, t gjson.Result) bool {
		vecs = append(vecs, Embedding(t.String(), dims))
		tokens += CountTokens(t.String())
		return true
	})
	b, _ := json.Marshal(map[string]any{"id": "emb", "embeddings": map[string]any{"float": vecs}, "response_type": "embeddings_by_type",
		"meta": map[string]any{"billed_units": map[string]int64{"input_tokens": tokens}}})
	w.Header().Set("Content-Type", "application/json")
	w.Write(b)
}
