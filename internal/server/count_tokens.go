package server

import (
	"encoding/json"
	"net/http"
	"strconv"

	"github.com/tidwall/gjson"

	"github.com/switchboard-gw/switchboard/internal/api"
	"github.com/switchboard-gw/switchboard/internal/provider"
	"github.com/switchboard-gw/switchboard/internal/provider/anthropic"
	"github.com/switchboard-gw/switchboard/internal/tokens"
)

// countTokens serves /v1/messages/count_tokens: Anthropic deployments count
// exactly; for any other model Switchboard counts offline and says so in
// x-switchboard-estimated.
func (s *Server) countTokens(w http.ResponseWriter, r *http.Request, st *reqState, rec *Record, body []byte) {
	if !gjson.ValidBytes(body) {
		s.fail(w, st, rec, api.BadRequest("", "invalid_json", "The request body is not valid JSON."))
		return
	}
	model := gjson.GetBytes(body, "model").String()
	rec.Model = model
	if model == "" {
		s.fail(w, st, rec, api.BadRequest("model", "missing_required_parameter", "model: Field required"))
		return
	}
	if !gjson.GetBytes(body, "messages").IsArray() {
		s.fail(w, st, rec, api.BadRequest("messages", "missing_required_parameter", "messages: Field required"))
		return
	}
	group, rest, ok := s.resolve(w, st, rec, model)
	if !ok {
		return
	}
	ctx, cancel := withDeadline(r.Context(), group.Timeout)
	defer cancel()
	for i := range group.Deployments {
		d := &group.Deployments[i]
		pt, ok := d.Provider.(provider.Passthrough)
		if !ok || !pt.Speaks(anthropic.FormatCountTokens) {
			continue
		}
		resp, err := pt.Pass(ctx, &provider.PassRequest{Format: anthropic.FormatCountTokens, Body: body, Model: d.UpstreamModel(rest), Header: anthropicHeaders(r.Header)})
		if err != nil {
			e := api.As(err)
			if e.Status < 500 && e.Status != http.StatusTooManyRequests {
				s.fail(w, st, rec, e)
				return
			}
			continue // count offline instead
		}
		rec.Provider, rec.Status = d.ProviderName, http.StatusOK
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("X-Switchboard-Provider", d.ProviderName)
		w.Write(resp.Body)
		return
	}
	n := estimateMessageTokens(gjson.ParseBytes(body))
	rec.Status = http.StatusOK
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Switchboard-Estimated", "true")
	b, _ := json.Marshal(map[string]int64{"input_tokens": n})
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.Write(b)
}

// estimateMessageTokens counts a Messages request's text, tool calls,
// tool results and tool definitions with the offline tokenizer, plus a few
// tokens a message for the framing.
func estimateMessageTokens(req gjson.Result) int64 {
	var n int64
	var content func(c gjson.Result)
	content = func(c gjson.Result) {
		if c.Type == gjson.String {
			n += tokens.Count(c.Str)
			return
		}
		c.ForEach(func(_, b gjson.Result) bool {
			switch b.Get("type").String() {
			case "text":
				n += tokens.Count(b.Get("text").String())
			case "tool_use":
				n += tokens.Count(b.Get("name").String()) + tokens.Count(b.Get("input").Raw)
			case "tool_result":
				content(b.Get("content"))
			case "thinking":
				n += tokens.Count(b.Get("thinking").String())
			}
			return true
		})
	}
	content(req.Get("system"))
	req.Get("messages").ForEach(func(_, m gjson.Result) bool {
		n += 3
		content(m.Get("content"))
		return true
	})
	req.Get("tools").ForEach(func(_, t gjson.Result) bool {
		n += tokens.Count(t.Get("name").String()) + tokens.Count(t.Get("description").String()) + tokens.Count(t.Get("input_schema").Raw)
		return true
	})
	return n
}
