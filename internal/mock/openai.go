package mock

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/tidwall/gjson"

	wire "github.com/switchboard-gw/switchboard/internal/api/openai"
	"github.com/switchboard-gw/switchboard/internal/sse"
)

// plan is what the mock will answer to a chat request, whatever the format.
type plan struct {
	model     string
	text      string
	toolCalls []wire.ToolCall
	prompt    int64
	finish    string // OpenAI finish reason
	d         directives
}

// tool is a declared tool, in either format.
type tool struct {
	name   string
	schema gjson.Result
}

// makePlan decides the answer: tool calls when tools are offered (and not
// declined), a deterministic text otherwise.
func makePlan(model string, lastRole, lastText string, allText string, toolResults []string, tools []tool, forced string, none, parallel bool, jsonSchema *gjson.Result, maxTokens int64) plan {
	p := plan{model: model, prompt: CountTokens(allText) + 3, finish: "stop", d: parseDirectives(lastText)}
	switch {
	case p.d.text != "":
		p.text = p.d.text
	case lastRole == "tool" && len(toolResults) > 0:
		p.text = ToolResultReply(toolResults)
	case len(tools) > 0 && !none:
		var chosen []tool
		for _, t := range tools {
			if forced != "" && t.name == forced {
				chosen = []tool{t}
				break
			}
			if forced == "" && strings.Contains(lastText, t.name) {
				chosen = append(chosen, t)
			}
		}
		if len(chosen) == 0 {
			chosen = tools[:1]
		}
		if !parallel {
			chosen = chosen[:1]
		}
		for i, t := range chosen {
			p.toolCalls = append(p.toolCalls, wire.ToolCall{
				ID:       id("call_", lastText, t.name, fmt.Sprint(i)),
				Type:     "function",
				Function: wire.FunctionCall{Name: t.name, Arguments: ArgsFromSchema(t.schema)},
			})
		}
		p.finish = "tool_calls"
	case jsonSchema != nil:
		p.text = ArgsFromSchema(*jsonSchema)
	default:
		p.text = Reply(model, lastText)
	}
	if maxTokens > 0 && p.text != "" {
		if pieces := Pieces(p.text); int64(len(pieces)) > maxTokens {
			p.text = strings.Join(pieces[:maxTokens], "")
			p.finish = "length"
		}
	}
	return p
}

func (p *plan) completionTokens() int64 {
	n := int64(len(Pieces(p.text)))
	for _, tc := range p.toolCalls {
		n += CountTokens(tc.Function.Name + tc.Function.Arguments)
	}
	return n
}

func (s *Server) openaiChat(w http.ResponseWriter, r *http.Request) {
	body, err := s.read(r)
	if err != nil {
		return
	}
	s.openaiChatBody(w, r, body)
}

// openaiChatBody answers a chat request whose body is already read.
func (s *Server) openaiChatBody(w http.ResponseWriter, r *http.Request, body []byte) {
	if !strings.HasPrefix(r.Header.Get("Authorization"), "Bearer ") {
		writeJSONError(w, http.StatusUnauthorized, `{"error":{"message":"You didn't provide an API key.","type":"invalid_request_error","param":null,"code":null}}`)
		return
	}
	if !gjson.ValidBytes(body) {
		writeJSONError(w, http.StatusBadRequest, `{"error":{"message":"We could not parse the JSON body of your request.","type":"invalid_request_error","param":null,"code":null}}`)
		return
	}
	req := gjson.ParseBytes(body)
	model := req.Get("model").String()
	if dep := r.Header.Get("x-mock-azure-deployment"); dep != "" {
		model = dep
	}
	msgs := req.Get("messages").Array()
	if model == "" || len(msgs) == 0 {
		writeJSONError(w, http.StatusBadRequest, `{"error":{"message":"'messages' and 'model' are required.","type":"invalid_request_error","param":null,"code":null}}`)
		return
	}
	var all strings.Builder
	var results []string
	for _, m := range msgs {
		all.WriteString(contentText(m.Get("content")))
		all.WriteByte('\n')
	}
	last := msgs[len(msgs)-1]
	lastRole := last.Get("role").String()
	for i := len(msgs) - 1; i >= 0 && msgs[i].Get("role").String() == "tool"; i-- {
		results = append([]string{contentText(msgs[i].Get("content"))}, results...)
	}
	var tools []tool
	for _, t := range req.Get("tools").Array() {
		tools = append(tools, tool{name: t.Get("function.name").String(), schema: t.Get("function.parameters")})
	}
	tc := req.Get("tool_choice")
	forced := tc.Get("function.name").String()
	none := tc.String() == "none"
	parallel := req.Get("parallel_tool_calls").Type != gjson.False
	var schema *gjson.Result
	if rf := req.Get("response_format"); rf.Get("type").String() == "json_schema" {
		sc := rf.Get("json_schema.schema")
		schema = &sc
	} else if rf.Get("type").String() == "json_object" {
		sc := gjson.Parse(`{"type":"object","properties":{"answer":{"type":"string"}}}`)
		schema = &sc
	}
	maxTokens := req.Get("max_completion_tokens").Int()
	if maxTokens == 0 {
		maxTokens = req.Get("max_tokens").Int()
	}
	p := makePlan(model, lastRole, contentText(last.Get("content")), all.String(), results, tools, forced, none, parallel, schema, maxTokens)

	if !s.preamble(r, p.d) {
		return
	}
	if status := s.failStatus(p.d); status != 0 {
		if status == http.StatusTooManyRequests {
			s.retryAfterHeaders(w)
		}
		writeJSONError(w, status, fmt.Sprintf(`{"error":{"message":"Simulated upstream error %d.","type":"%s","param":null,"code":null}}`, status, openaiErrType(status)))
		return
	}
	w.Header().Set("x-ratelimit-limit-requests", "10000")
	w.Header().Set("x-ratelimit-remaining-requests", "9999")
	w.Header().Set("x-request-id", id("req_", string(body)))
	chatID := id("chatcmpl-mock", string(body))
	created := time.Now().Unix()
	n := req.Get("n").Int()
	if n < 1 {
		n = 1
	}
	if req.Get("stream").Bool() {
		s.openaiStream(w, r, p, chatID, created, req.Get("stream_options.include_usage").Bool(), int(n))
		return
	}
	usage := wire.Usage{PromptTokens: p.prompt, CompletionTokens: p.completionTokens() * n}
	usage.TotalTokens = usage.PromptTokens + usage.CompletionTokens
	usage.PromptTokensDetails = &wire.PromptTokensDetails{}
	usage.CompletionTokensDetails = &wire.CompletionTokensDetails{}
	res := wire.ChatResponse{ID: chatID, Object: "chat.completion", Created: created, Model: model, Usage: &usage}
	for i := range int(n) {
		msg := wire.ResponseMessage{Role: "assistant", ToolCalls: p.toolCalls}
		if len(p.toolCalls) == 0 {
			t := p.text
			msg.Content = &t
		}
		res.Choices = append(res.Choices, wire.Choice{Index: i, Message: msg, FinishReason: p.finish, Logprobs: json.RawMessage("null")})
	}
	b, _ := json.Marshal(res)
	w.Header().Set("Content-Type", "application/json")
	w.Write(b)
}

func openaiErrType(status int) string {
	switch {
	case status == http.StatusTooManyRequests:
		return "rate_limit_exceeded"
	case status >= 500:
		return "server_error"
	}
	return "invalid_request_error"
}

func (s *Server) openaiStream(w http.ResponseWriter, r *http.Request, p plan, chatID string, created int64, includeUsage bool, n int) {
	w.Header().Set("Content-Type", "text/event-stream; charset=utf-8")
	w.Header().Set("Cache-Control", "no-cache")
	w.WriteHeader(http.StatusOK)
	rc := http.NewResponseController(w)
	sent := 0
	send := func(c *wire.ChatChunk) bool {
		if p.d.cutAfter >= 0 && sent >= p.d.cutAfter {
			rc.Flush()
			cut()
		}
		b, _ := json.Marshal(c)
		if includeUsage && c.Usage == nil {
			b = append(b[:len(b)-1], `,"usage":null}`...)
		}
		sse.WriteData(w, b)
		rc.Flush()
		sent++
		if p.d.slowChunks > 0 && !sleep(r.Context(), p.d.slowChunks) {
			return false
		}
		return s.pace(r.Context())
	}
	chunk := func(i int, d wire.Delta, finish *string) *wire.ChatChunk {
		return &wire.ChatChunk{ID: chatID, Object: "chat.completion.chunk", Created: created, Model: p.model,
			Choices: []wire.ChunkChoice{{Index: i, Delta: d, FinishReason: finish}}}
	}
	for i := range n {
		empty := ""
		if !send(chunk(i, wire.Delta{Role: "assistant", Content: &empty}, nil)) {
			return
		}
		if p.d.errorEvent {
			sse.WriteData(w, []byte(`{"error":{"message":"Simulated error mid-stream.","type":"server_error","param":null,"code":null}}`))
			return
		}
		for _, piece := range Pieces(p.text) {
			piece := piece
			if !send(chunk(i, wire.Delta{Content: &piece}, nil)) {
				return
			}
		}
		for k, tc := range p.toolCalls {
			idx := k
			head := wire.ToolCall{Index: &idx, ID: tc.ID, Type: "function", Function: wire.FunctionCall{Name: tc.Function.Name}}
			if !send(chunk(i, wire.Delta{ToolCalls: []wire.ToolCall{head}}, nil)) {
				return
			}
			for _, part := range splitN(tc.Function.Arguments, 3) {
				if !send(chunk(i, wire.Delta{ToolCalls: []wire.ToolCall{{Index: &idx, Function: wire.FunctionCall{Arguments: part}}}}, nil)) {
					return
				}
			}
		}
		finish := p.finish
		if !send(chunk(i, wire.Delta{}, &finish)) {
			return
		}
	}
	if includeUsage {
		u := wire.Usage{PromptTokens: p.prompt, CompletionTokens: p.completionTokens() * int64(n)}
		u.TotalTokens = u.PromptTokens + u.CompletionTokens
		u.PromptTokensDetails = &wire.PromptTokensDetails{}
		u.CompletionTokensDetails = &wire.CompletionTokensDetails{}
		if !send(&wire.ChatChunk{ID: chatID, Object: "chat.completion.chunk", Created: created, Model: p.model, Choices: []wire.ChunkChoice{}, Usage: &u}) {
			return
		}
	}
	sse.WriteData(w, sse.Done)
	rc.Flush()
}

// splitN cuts s into up to n roughly equal pieces.
func splitN(s string, n int) []string {
	if len(s) < n*2 {
		return []string{s}
	}
	size := (len(s) + n - 1) / n
	var out []string
	for len(s) > size {
		out = append(out, s[:size])
		s = s[size:]
	}
	return append(out, s)
}

// contentText joins the text of an OpenAI or Anthropic content value.
func contentText(c gjson.Result) string {
	if c.Type == gjson.String {
		return c.Str
	}
	var b strings.Builder
	c.ForEach(func(_, part gjson.Result) bool {
		switch part.Get("type").String() {
		case "text":
			b.WriteString(part.Get("text").String())
		case "tool_result":
			b.WriteString(contentText(part.Get("content")))
		}
		return true
	})
	return b.String()
}

func (s *Server) openaiEmbeddings(w http.ResponseWriter, r *http.Request) {
	body, err := s.read(r)
	if err != nil {
		return
	}
	if !strings.HasPrefix(r.Header.Get("Authorization"), "Bearer ") {
		writeJSONError(w, http.StatusUnauthorized, `{"error":{"message":"You didn't provide an API key.","type":"invalid_request_error","param":null,"code":null}}`)
		return
	}
	if !s.wait(r.Context()) {
		return
	}
	if s.failNow() {
		writeJSONError(w, http.StatusInternalServerError, `{"error":{"message":"Simulated upstream error 500.","type":"server_error","param":null,"code":null}}`)
		return
	}
	model := gjson.GetBytes(body, "model").String()
	if dep := r.Header.Get("x-mock-azure-deployment"); dep != "" {
		model = dep
	}
	dims := int(gjson.GetBytes(body, "dimensions").Int())
	if dims <= 0 {
		dims = s.opts.EmbeddingDims
	}
	b64 := gjson.GetBytes(body, "encoding_format").String() == "base64"
	type item struct {
		Object    string `json:"object"`
		Index     int    `json:"index"`
		Embedding any    `json:"embedding"`
	}
	out := struct {
		Object string `json:"object"`
		Data   []item `json:"data"`
		Model  string `json:"model"`
		Usage  struct {
			PromptTokens int64 `json:"prompt_tokens"`
			TotalTokens  int64 `json:"total_tokens"`
		} `json:"usage"`
	}{Object: "list", Model: model, Data: []item{}}
	for i, text := range wire.Inputs(body) {
		vec := Embedding(text, dims)
		var emb any = vec
		if b64 {
			emb = wire.EncodeFloats(vec)
		}
		out.Data = append(out.Data, item{Object: "embedding", Index: i, Embedding: emb})
		out.Usage.PromptTokens += CountTokens(text)
	}
	out.Usage.TotalTokens = out.Usage.PromptTokens
	b, _ := json.Marshal(out)
	w.Header().Set("Content-Type", "application/json")
	w.Write(b)
}

func (s *Server) openaiModels(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	w.Write([]byte(`{"object":"list","data":[{"id":"mock-gpt","object":"model","created":0,"owned_by":"mock"}]}`))
}
