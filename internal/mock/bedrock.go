package mock

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/protocol/eventstream"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/tidwall/gjson"
)

// AWSCredentials lets the mock verify SigV4 signatures: access key id →
// secret. Requests signed with other keys are refused as AWS would.
type AWSCredentials map[string]string

func bedrockError(w http.ResponseWriter, status int, exception, msg string) {
	w.Header().Set("X-Amzn-Errortype", exception+":http://internal.amazon.com/coral/com.amazon.bedrock/")
	b, _ := json.Marshal(map[string]string{"message": msg})
	writeJSONError(w, status, string(b))
}

// bedrockAuth accepts a bearer API key, or a SigV4 signature it can check
// against Options.AWS (any well-formed signature when none is set).
func (s *Server) bedrockAuth(r *http.Request, body []byte) bool {
	auth := r.Header.Get("Authorization")
	if strings.HasPrefix(auth, "Bearer ") {
		return true
	}
	if !strings.HasPrefix(auth, "AWS4-HMAC-SHA256 Credential=") || !strings.Contains(auth, "/bedrock/aws4_request") {
		return false
	}
	if len(s.opts.AWS) == 0 {
		return true
	}
	cred := strings.TrimPrefix(auth, "AWS4-HMAC-SHA256 Credential=")
	scope := strings.Split(cred[:strings.IndexByte(cred, ',')], "/")
	secret, ok := s.opts.AWS[scope[0]]
	if !ok || len(scope) < 3 {
		return false
	}
	when, err := time.Parse("20060102T150405Z", r.Header.Get("X-Amz-Date"))
	if err != nil {
		return false
	}
	check, _ := http.NewRequest(r.Method, "http://"+r.Host+r.URL.RequestURI(), bytes.NewReader(body))
	// Re-sign with just the headers the client signed: the transport adds
	// others (Accept-Encoding, User-Agent) after signing.
	_, signed, _ := strings.Cut(auth, "SignedHeaders=")
	signed, _, _ = strings.Cut(signed, ",")
	for _, name := range strings.Split(signed, ";") {
		switch name {
		case "host", "x-amz-date", "content-length":
			continue
		}
		if v := r.Header.Values(name); len(v) > 0 {
			check.Header[http.CanonicalHeaderKey(name)] = v
		}
	}
	sum := sha256.Sum256(body)
	err = v4.NewSigner().SignHTTP(context.Background(), aws.Credentials{AccessKeyID: scope[0], SecretAccessKey: secret}, check,
		hex.EncodeToString(sum[:]), "bedrock", scope[2], when)
	return err == nil && check.Header.Get("Authorization") == auth
}

func (s *Server) bedrockRoute(w http.ResponseWriter, r *http.Request) {
	body, err := s.read(r)
	if err != nil {
		return
	}
	if !s.bedrockAuth(r, body) {
		bedrockError(w, http.StatusForbidden, "UnrecognizedClientException", "The security token included in the request is invalid.")
		return
	}
	model := r.PathValue("model")
	switch r.PathValue("op") {
	case "converse":
		s.bedrockConverse(w, r, model, body, false)
	case "converse-stream":
		s.bedrockConverse(w, r, model, body, true)
	case "invoke":
		s.bedrockInvoke(w, model, body)
	default:
		bedrockError(w, http.StatusNotFound, "ResourceNotFoundException", "Unknown operation.")
	}
}

func bedrockText(blocks gjson.Result) string {
	var b strings.Builder
	blocks.ForEach(func(_, bl gjson.Result) bool {
		b.WriteString(bl.Get("text").String())
		return true
	})
	return b.String()
}

func (s *Server) bedrockConverse(w http.ResponseWriter, r *http.Request, model string, body []byte, stream bool) {
	req := gjson.ParseBytes(body)
	msgs := req.Get("messages").Array()
	if len(msgs) == 0 {
		bedrockError(w, http.StatusBadRequest, "ValidationException", "A conversation must start with a user message.")
		return
	}
	var all strings.Builder
	all.WriteString(bedrockText(req.Get("system")))
	for _, m := range msgs {
		all.WriteString(bedrockText(m.Get("content")))
	}
	last := msgs[len(msgs)-1]
	lastRole := last.Get("role").String()
	var results []string
	last.Get("content").ForEach(func(_, b gjson.Result) bool {
		if tr := b.Get("toolResult"); tr.Exists() {
			tr.Get("content").ForEach(func(_, c gjson.Result) bool {
				if c.Get("text").Exists() {
					results = append(results, c.Get("text").String())
				} else {
					results = append(results, c.Get("json").Raw)
				}
				return true
			})
		}
		return true
	})
	if len(results) > 0 {
		lastRole = "tool"
	}
	var tools []tool
	req.Get("toolConfig.tools").ForEach(func(_, t gjson.Result) bool {
		tools = append(tools, tool{name: t.Get("toolSpec.name").String(), schema: t.Get("toolSpec.inputSchema.json")})
		return true
	})
	forced := req.Get("toolConfig.toolChoice.tool.name").String()
	p := makePlan(model, lastRole, bedrockText(last.Get("content")), all.String(), results, tools, forced, false, true, nil, req.Get("inferenceConfig.maxTokens").Int())
	thinking := req.Get("additionalModelRequestFields.thinking.type").String() == "enabled"

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
		exc := map[int]string{400: "ValidationException", 429: "ThrottlingException", 503: "ServiceUnavailableException", 504: "ModelTimeoutException"}[status]
		if exc == "" {
			exc = "InternalServerException"
		}
		bedrockError(w, status, exc, fmt.Sprintf("Simulated upstream error %d.", status))
		return
	}
	stop := map[string]string{"stop": "end_turn", "tool_calls": "tool_use", "length": "max_tokens"}[p.finish]
	usage := map[string]int64{"inputTokens": p.prompt, "outputTokens": p.completionTokens(), "totalTokens": p.prompt + p.completionTokens()}
	toolUseID := func(i int) string { return id("tooluse_", string(body), fmt.Sprint(i)) }
	if !stream {
		var content []map[string]any
		if thinking {
			content = append(content, map[string]any{"reasoningContent": map[string]any{"reasoningText": map[string]string{"text": "Thinking it over.", "signature": id("sig", string(body))}}})
		}
		if p.text != "" {
			content = append(content, map[string]any{"text": p.text})
		}
		for i, c := range p.toolCalls {
			content = append(content, map[string]any{"toolUse": map[string]any{"toolUseId": toolUseID(i), "name": c.Function.Name, "input": json.RawMessage(c.Function.Arguments)}})
		}
		b, _ := json.Marshal(map[string]any{"output": map[string]any{"message": map[string]any{"role": "assistant", "content": content}},
			"stopReason": stop, "usage": usage, "metrics": map[string]int{"latencyMs": 1}})
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("X-Amzn-Requestid", id("", string(body)))
		w.Write(b)
		return
	}
	w.Header().Set("Content-Type", "application/vnd.amazon.eventstream")
	w.WriteHeader(http.StatusOK)
	rc := http.NewResponseController(w)
	enc := eventstream.NewEncoder()
	sent := 0
	send := func(typ string, payload any) bool {
		if p.d.cutAfter >= 0 && sent >= p.d.cutAfter {
			rc.Flush()
			cut()
		}
		b, _ := json.Marshal(payload)
		msg := eventstream.Message{Payload: b}
		msg.Headers.Set(":event-type", eventstream.StringValue(typ))
		msg.Headers.Set(":content-type", eventstream.StringValue("application/json"))
		msg.Headers.Set(":message-type", eventstream.StringValue("event"))
		enc.Encode(w, msg)
		rc.Flush()
		sent++
		return s.pace(r.Context())
	}
	if !send("messageStart", map[string]string{"role": "assistant"}) {
		return
	}
	if p.d.errorEvent {
		msg := eventstream.Message{Payload: []byte(`{"message":"Too many requests, please wait before trying again."}`)}
		msg.Headers.Set(":exception-type", eventstream.StringValue("throttlingException"))
		msg.Headers.Set(":content-type", eventstream.StringValue("application/json"))
		msg.Headers.Set(":message-type", eventstream.StringValue("exception"))
		enc.Encode(w, msg)
		return
	}
	idx := 0
	if thinking {
		if !send("contentBlockDelta", map[string]any{"contentBlockIndex": idx, "delta": map[string]any{"reasoningContent": map[string]string{"text": "Thinking it over."}}}) ||
			!send("contentBlockStop", map[string]int{"contentBlockIndex": idx}) {
			return
		}
		idx++
	}
	if p.text != "" {
		for _, piece := range Pieces(p.text) {
			if !send("contentBlockDelta", map[string]any{"contentBlockIndex": idx, "delta": map[string]string{"text": piece}}) {
				return
			}
		}
		if !send("contentBlockStop", map[string]int{"contentBlockIndex": idx}) {
			return
		}
		idx++
	}
	for i, c := range p.toolCalls {
		if !send("contentBlockStart", map[string]any{"contentBlockIndex": idx, "start": map[string]any{"toolUse": map[string]string{"toolUseId": toolUseID(i), "name": c.Function.Name}}}) {
			return
		}
		if c.Function.Arguments != "{}" {
			for _, part := range splitN(c.Function.Arguments, 3) {
				if !send("contentBlockDelta", map[string]any{"contentBlockIndex": idx, "delta": map[string]any{"toolUse": map[string]string{"input": part}}}) {
					return
				}
			}
		}
		if !send("contentBlockStop", map[string]int{"contentBlockIndex": idx}) {
			return
		}
		idx++
	}
	// Usage arrives after messageStop, as Bedrock sends it.
	if !send("messageStop", map[string]string{"stopReason": stop}) {
		return
	}
	send("metadata", map[string]any{"usage": usage, "metrics": map[string]int{"latencyMs": 1}})
}

func (s *Server) bedrockInvoke(w http.ResponseWriter, model string, body []byte) {
	req := gjson.ParseBytes(body)
	var out any
	switch {
	case strings.Contains(model, "titan-embed"):
		dims := int(req.Get("dimensions").Int())
		if dims == 0 {
			dims = s.opts.EmbeddingDims
		}
		text := req.Get("inputText").String()
		out = map[string]any{"embedding": Embedding(text, dims), "inputTextTokenCount": CountTokens(text)}
	case strings.Contains(model, "cohere.embed"):
		dims := int(req.Get("output_dimension").Int())
		if dims == 0 {
			dims = s.opts.EmbeddingDims
		}
		var vecs [][]float64
		req.Get("texts").ForEach(func(_, t gjson.Result) bool {
			vecs = append(vecs, Embedding(t.String(), dims))
			return true
		})
		out = map[string]any{"id": "emb", "embeddings": map[string]any{"float": vecs}, "response_type": "embeddings_by_type"}
	default:
		bedrockError(w, http.StatusBadRequest, "ValidationException", "The mock invokes embedding models only.")
		return
	}
	b, _ := json.Marshal(out)
	w.Header().Set("Content-Type", "application/json")
	w.Write(b)
}
