package mock

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/tidwall/gjson"

	gem "github.com/switchboard-gw/switchboard/internal/api/gemini"
)

// geminiRoute serves AI Studio's /v1beta/models/{model}:{method} and
// Vertex AI's /v1/projects/.../models/{model}:{method}.
func (s *Server) geminiRoute(w http.ResponseWriter, r *http.Request) {
	rest := r.PathValue("rest")
	model, method, ok := strings.Cut(rest, ":")
	if !ok {
		geminiError(w, http.StatusNotFound, "NOT_FOUND", "Unknown method.")
		return
	}
	if r.Header.Get("x-goog-api-key") == "" && r.URL.Query().Get("key") == "" && !strings.HasPrefix(r.Header.Get("Authorization"), "Bearer ") {
		geminiError(w, http.StatusUnauthorized, "UNAUTHENTICATED", "Method doesn't allow unregistered callers. Please use API Key or other form of API consumer identity to call this API.")
		return
	}
	switch method {
	case "generateContent":
		s.geminiGenerate(w, r, model, false)
	case "streamGenerateContent":
		s.geminiGenerate(w, r, model, true)
	case "batchEmbedContents", "embedContent", "predict":
		s.geminiEmbed(w, r, method)
	default:
		geminiError(w, http.StatusNotFound, "NOT_FOUND", "Unknown method "+method+".")
	}
}

func geminiError(w http.ResponseWriter, code int, status, msg string) {
	var eb gem.ErrorBody
	eb.Error.Code, eb.Error.Status, eb.Error.Message = code, status, msg
	if code == http.StatusTooManyRequests {
		eb.Error.Details = []json.RawMessage{json.RawMessage(`{"@type":"type.googleapis.com/google.rpc.RetryInfo","retryDelay":"1s"}`)}
	}
	b, _ := json.Marshal(eb)
	writeJSONError(w, code, string(b))
}

func geminiStatus(code int) string {
	switch {
	case code == http.StatusTooManyRequests:
		return "RESOURCE_EXHAUSTED"
	case code == http.StatusBadRequest:
		return "INVALID_ARGUMENT"
	case code == http.StatusServiceUnavailable:
		return "UNAVAILABLE"
	case code >= 500:
		return "INTERNAL"
	}
	return "FAILED_PRECONDITION"
}

func (s *Server) geminiGenerate(w http.ResponseWriter, r *http.Request, model string, stream bool) {
	body, err := s.read(r)
	if err != nil {
		return
	}
	if !gjson.ValidBytes(body) {
		geminiError(w, http.StatusBadRequest, "INVALID_ARGUMENT", "Invalid JSON payload received.")
		return
	}
	req := gjson.ParseBytes(body)
	contents := req.Get("contents").Array()
	if len(contents) == 0 {
		geminiError(w, http.StatusBadRequest, "INVALID_ARGUMENT", "* GenerateContentRequest.contents: contents is not specified")
		return
	}
	var all strings.Builder
	all.WriteString(partsText(req.Get("systemInstruction.parts")))
	for _, c := range contents {
		all.WriteString(partsText(c.Get("parts")))
		all.WriteByte('\n')
	}
	last := contents[len(contents)-1]
	lastRole := "user"
	var results []string
	last.Get("parts").ForEach(func(_, p gjson.Result) bool {
		if fr := p.Get("functionResponse.response"); fr.Exists() {
			if res := fr.Get("result"); res.Exists() {
				results = append(results, res.String())
			} else {
				results = append(results, fr.Raw)
			}
		}
		return true
	})
	if len(results) > 0 {
		lastRole = "tool"
	}
	var tools []tool
	req.Get("tools.#.functionDeclarations").ForEach(func(_, decls gjson.Result) bool {
		decls.ForEach(func(_, d gjson.Result) bool {
			schema := d.Get("parameters")
			if !schema.Exists() {
				schema = d.Get("parametersJsonSchema")
			}
			tools = append(tools, tool{name: d.Get("name").String(), schema: schema})
			return true
		})
		return true
	})
	fcc := req.Get("toolConfig.functionCallingConfig")
	forced := ""
	if names := fcc.Get("allowedFunctionNames").Array(); fcc.Get("mode").String() == "ANY" && len(names) == 1 {
		forced = names[0].String()
	}
	none := fcc.Get("mode").String() == "NONE"
	gc := req.Get("generationConfig")
	var schema *gjson.Result
	if rs := gc.Get("responseSchema"); rs.Exists() {
		schema = &rs
	} else if rs := gc.Get("responseJsonSchema"); rs.Exists() {
		schema = &rs
	} else if gc.Get("responseMimeType").String() == "application/json" {
		sc := gjson.Parse(`{"type":"object","properties":{"answer":{"type":"string"}}}`)
		schema = &sc
	}
	p := makePlan(model, lastRole, partsText(last.Get("parts")), all.String(), results, tools, forced, none, true, schema, gc.Get("maxOutputTokens").Int())
	thoughts := gc.Get("thinkingConfig.includeThoughts").Bool()
	n := int(gc.Get("candidateCount").Int())
	if n < 1 {
		n = 1
	}

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
		geminiError(w, status, geminiStatus(status), fmt.Sprintf("Simulated upstream error %d.", status))
		return
	}
	respID := id("", string(body))
	finish := map[string]string{"stop": "STOP", "tool_calls": "STOP", "length": "MAX_TOKENS"}[p.finish]
	usage := &gem.UsageMetadata{PromptTokenCount: p.prompt, CandidatesTokenCount: p.completionTokens() * int64(n)}
	if thoughts {
		usage.ThoughtsTokenCount = 5
	}
	usage.TotalTokenCount = usage.PromptTokenCount + usage.CandidatesTokenCount + usage.ThoughtsTokenCount
	calls := func() []gem.Part {
		var parts []gem.Part
		for i, c := range p.toolCalls {
			part := gem.Part{FunctionCall: &gem.FunctionCall{Name: c.Function.Name, Args: json.RawMessage(c.Function.Arguments)}}
			if i == 0 {
				part.ThoughtSignature = id("sig", respID)
			}
			parts = append(parts, part)
		}
		return parts
	}
	if !stream {
		res := gem.Response{ResponseID: respID, ModelVersion: model, UsageMetadata: usage}
		for i := range n {
			var parts []gem.Part
			if thoughts {
				parts = append(parts, gem.Part{Text: "Thinking it over.", Thought: true})
			}
			if p.text != "" {
				parts = append(parts, gem.Part{Text: p.text})
			}
			parts = append(parts, calls()...)
			res.Candidates = append(res.Candidates, gem.Candidate{Content: gem.Content{Role: "model", Parts: parts}, FinishReason: finish, Index: i})
		}
		b, _ := json.Marshal(res)
		w.Header().Set("Content-Type", "application/json; charset=UTF-8")
		w.Write(b)
		return
	}

	w.Header().Set("Content-Type", "text/event-stream")
	w.WriteHeader(http.StatusOK)
	rc := http.NewResponseController(w)
	sent := 0
	send := func(res gem.Response) bool {
		if p.d.cutAfter >= 0 && sent >= p.d.cutAfter {
			rc.Flush()
			cut()
		}
		res.ResponseID, res.ModelVersion = respID, model
		b, _ := json.Marshal(res)
		// Gemini separates events with CRLF pairs.
		io.WriteString(w, "data: ")
		w.Write(b)
		io.WriteString(w, "\r\n\r\n")
		rc.Flush()
		sent++
		return s.pace(r.Context())
	}
	partial := &gem.UsageMetadata{PromptTokenCount: usage.PromptTokenCount}
	chunk := func(parts ...gem.Part) gem.Response {
		return gem.Response{Candidates: []gem.Candidate{{Content: gem.Content{Role: "model", Parts: parts}}}, UsageMetadata: partial}
	}
	if thoughts && !send(chunk(gem.Part{Text: "Thinking it over.", Thought: true})) {
		return
	}
	if p.d.errorEvent {
		send(gem.Response{})
		io.WriteString(w, `data: {"error":{"code":503,"message":"The model is overloaded.","status":"UNAVAILABLE"}}`+"\r\n\r\n")
		return
	}
	for _, piece := range Pieces(p.text) {
		if !send(chunk(gem.Part{Text: piece})) {
			return
		}
	}
	if c := calls(); len(c) > 0 && !send(chunk(c...)) {
		return
	}
	end := chunk(gem.Part{Text: ""})
	end.Candidates[0].FinishReason = finish
	end.UsageMetadata = usage
	send(end)
}

// partsText joins the text of Gemini parts.
func partsText(parts gjson.Result) string {
	var b strings.Builder
	parts.ForEach(func(_, p gjson.Result) bool {
		b.WriteString(p.Get("text").String())
		return true
	})
	return b.String()
}

func (s *Server) geminiEmbed(w http.ResponseWriter, r *http.Request, method string) {
	body, err := s.read(r)
	if err != nil {
		return
	}
	if !s.wait(r.Context()) {
		return
	}
	req := gjson.ParseBytes(body)
	vec := func(text string, dims int64) []float64 {
		if dims <= 0 {
			dims = int64(s.opts.EmbeddingDims)
		}
		return Embedding(text, int(dims))
	}
	var out any
	switch method {
	case "batchEmbedContents":
		var embs []map[string]any
		req.Get("requests").ForEach(func(_, rq gjson.Result) bool {
			embs = append(embs, map[string]any{"values": vec(partsText(rq.Get("content.parts")), rq.Get("outputDimensionality").Int())})
			return true
		})
		out = map[string]any{"embeddings": embs}
	case "embedContent":
		out = map[string]any{"embedding": map[string]any{"values": vec(partsText(req.Get("content.parts")), req.Get("outputDimensionality").Int())}}
	case "predict":
		var preds []map[string]any
		dims := req.Get("parameters.outputDimensionality").Int()
		req.Get("instances").ForEach(func(_, in gjson.Result) bool {
			text := in.Get("content").String()
			preds = append(preds, map[string]any{"embeddings": map[string]any{"values": vec(text, dims),
				"statistics": map[string]any{"token_count": CountTokens(text), "truncated": false}}})
			return true
		})
		out = map[string]any{"predictions": preds}
	}
	b, _ := json.Marshal(out)
	w.Header().Set("Content-Type", "application/json")
	w.Write(b)
}
