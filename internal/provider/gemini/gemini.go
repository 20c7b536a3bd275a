// Package gemini calls Google's Gemini models on AI Studio (type "gemini")
// and Vertex AI (type "vertex"): the same generateContent body, different
// URLs and auth. It translates to and from the OpenAI format, streams
// included, and embeds with batchEmbedContents (AI Studio) or predict
// (Vertex).
package gemini

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/tidwall/gjson"
	"golang.org/x/oauth2"

	"github.com/switchboard-gw/switchboard/internal/api"
	gem "github.com/switchboard-gw/switchboard/internal/api/gemini"
	"github.com/switchboard-gw/switchboard/internal/config"
	"github.com/switchboard-gw/switchboard/internal/provider"
	tokencount "github.com/switchboard-gw/switchboard/internal/tokens"
)

// DefaultBaseURL is Google AI Studio's API origin.
const DefaultBaseURL = "https://generativelanguage.googleapis.com"

func init() {
	provider.Register(provider.Spec{
		Type: "gemini",
		Env:  config.EnvSpec{KeyVar: "GEMINI_API_KEY", BaseURLVar: "GEMINI_BASE_URL"},
		New: func(cfg config.Provider, hc *http.Client) (provider.Provider, error) {
			if cfg.APIKey == "" {
				return nil, fmt.Errorf("api_key is required for gemini (set it in the config or GEMINI_API_KEY)")
			}
			base := cfg.BaseURL
			if base == "" {
				base = DefaultBaseURL
			}
			c := newClient(cfg, hc)
			c.prefix = strings.TrimRight(base, "/") + "/v1beta/models/"
			c.header.Set("x-goog-api-key", cfg.APIKey)
			return c, nil
		},
	})
	provider.Register(provider.Spec{
		Type: "vertex",
		New:  newVertex,
	})
}

// Client calls Gemini on AI Studio or Vertex AI.
type Client struct {
	name   string
	prefix string // URL up to the model name: ".../models/"
	hc     *http.Client
	header http.Header
	// tokens, for Vertex, supplies OAuth2 access tokens.
	tokens oauth2.TokenSource
	vertex bool
	now    func() time.Time
}

var _ provider.Provider = (*Client)(nil)

func newClient(cfg config.Provider, hc *http.Client) *Client {
	c := &Client{name: cfg.Name, hc: hc, header: http.Header{}}
	c.header.Set("Content-Type", "application/json")
	for k, v := range cfg.Headers {
		c.header.Set(k, v)
	}
	return c
}

func (c *Client) post(ctx context.Context, model, method string, body []byte, stream bool) (*http.Response, error) {
	u := c.prefix + url.PathEscape(model) + ":" + method
	if stream {
		u += "?alt=sse"
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", c.name, err)
	}
	for k, v := range c.header {
		req.Header[k] = v
	}
	if c.tokens != nil {
		tok, err := c.tokens.Token()
		if err != nil {
			return nil, &api.Error{Status: http.StatusBadGateway, Type: api.TypeUpstream, Code: "upstream_auth",
				Message: "Could not get an access token for " + c.name + ".", Cause: err}
		}
		req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
	}
	resp, err := provider.Do(c.hc, req, c.name)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode >= 300 {
		return nil, provider.ReadError(resp, ParseError)
	}
	return resp, nil
}

func (c *Client) created() int64 {
	if c.now != nil {
		return c.now().Unix()
	}
	return time.Now().Unix()
}

// Chat translates, calls generateContent (or streamGenerateContent) and
// translates back.
func (c *Client) Chat(ctx context.Context, req *provider.ChatRequest) (*provider.Response, error) {
	greq, err := toGemini(req.Body, req.DropParams, req.OnDrop)
	if err != nil {
		return nil, err
	}
	body, err := json.Marshal(greq)
	if err != nil {
		return nil, err
	}
	stream := req.Fields.Stream
	method := "generateContent"
	if stream {
		method = "streamGenerateContent"
	}
	resp, err := c.post(ctx, req.Model, method, body, stream)
	if err != nil {
		return nil, err
	}
	out := &provider.Response{}
	if stream {
		out.Stream = newStream(resp.Body, c.name, req.Model, req.Fields.IncludeUsage, c.created())
		return out, nil
	}
	raw, err := provider.ReadBody(ctx, resp, c.name)
	if err != nil {
		return nil, err
	}
	var gres gem.Response
	if err := json.Unmarshal(raw, &gres); err != nil {
		return nil, &api.Error{Status: http.StatusBadGateway, Type: api.TypeUpstream, Code: "invalid_upstream_response",
			Message: "The upstream provider " + c.name + " returned a response Switchboard could not read.", Cause: err}
	}
	out.Body, err = json.Marshal(fromGemini(&gres, req.Model, c.created()))
	if err != nil {
		return nil, err
	}
	out.Usage = usageOf(gres.UsageMetadata)
	return out, nil
}

// Embed calls batchEmbedContents (AI Studio) or predict (Vertex) and
// answers in OpenAI's shape.
func (c *Client) Embed(ctx context.Context, req *provider.EmbedRequest) (*provider.Response, error) {
	inputs := openaiInputs(req.Body)
	var dims *int64
	if req.Fields.Dimensions > 0 {
		d := req.Fields.Dimensions
		dims = &d
	}
	var body []byte
	method := "batchEmbedContents"
	if c.vertex {
		method = "predict"
		inst := make([]map[string]string, len(inputs))
		for i, in := range inputs {
			inst[i] = map[string]string{"content": in}
		}
		params := map[string]any{}
		if dims != nil {
			params["outputDimensionality"] = *dims
		}
		body, _ = json.Marshal(map[string]any{"instances": inst, "parameters": params})
	} else {
		batch := gem.BatchEmbedRequest{}
		for _, in := range inputs {
			batch.Requests = append(batch.Requests, gem.EmbedRequest{Model: "models/" + req.Model,
				Content: gem.Content{Parts: []gem.Part{{Text: in}}}, OutputDimensionality: dims})
		}
		body, _ = json.Marshal(batch)
	}
	resp, err := c.post(ctx, req.Model, method, body, false)
	if err != nil {
		return nil, err
	}
	raw, err := provider.ReadBody(ctx, resp, c.name)
	if err != nil {
		return nil, err
	}
	var vectors [][]float64
	var tokens int64
	if c.vertex {
		gjson.GetBytes(raw, "predictions").ForEach(func(_, p gjson.Result) bool {
			var v []float64
			json.Unmarshal([]byte(p.Get("embeddings.values").Raw), &v)
			vectors = append(vectors, v)
			tokens += p.Get("embeddings.statistics.token_count").Int()
			return true
		})
	} else {
		var br gem.BatchEmbedResponse
		if err := json.Unmarshal(raw, &br); err != nil {
			return nil, &api.Error{Status: http.StatusBadGateway, Type: api.TypeUpstream, Code: "invalid_upstream_response",
				Message: "The upstream embeddings response could not be read.", Cause: err}
		}
		for _, e := range br.Embeddings {
			vectors = append(vectors, e.Values)
		}
	}
	if len(vectors) != len(inputs) {
		return nil, &api.Error{Status: http.StatusBadGateway, Type: api.TypeUpstream, Code: "invalid_upstream_response",
			Message: fmt.Sprintf("The upstream returned %d embeddings for %d inputs.", len(vectors), len(inputs))}
	}
	usage := provider.Usage{Input: tokens}
	if tokens == 0 {
		// AI Studio reports no token counts for embeddings.
		usage = provider.Usage{Input: tokencount.CountAll(inputs), Estimated: true}
	}
	out, err := provider.EmbeddingsBody(req.Model, vectors, req.Fields.Base64, usage.Input)
	if err != nil {
		return nil, err
	}
	return &provider.Response{Body: out, Usage: usage}, nil
}

func openaiInputs(body []byte) []string {
	var out []string
	in := gjson.GetBytes(body, "input")
	if in.Type == gjson.String {
		return []string{in.Str}
	}
	in.ForEach(func(_, v gjson.Result) bool {
		out = append(out, v.String())
		return true
	})
	return out
}

// ParseError reads Google's error body, keeping status and message, and
// turns a RetryInfo detail into a retry delay.
func ParseError(status int, body []byte) *api.Error {
	e := &api.Error{Status: status, Type: api.TypeForStatus(status)}
	var eb gem.ErrorBody
	if json.Unmarshal(body, &eb) == nil && eb.Error.Message != "" {
		e.Message = eb.Error.Message
		e.Code = strings.ToLower(eb.Error.Status)
		for _, d := range eb.Error.Details {
			if gjson.GetBytes(d, "@type").String() == "type.googleapis.com/google.rpc.RetryInfo" {
				if dur, err := time.ParseDuration(gjson.GetBytes(d, "retryDelay").String()); err == nil {
					e.RetryAfter = dur
				}
			}
		}
		return e
	}
	e.Message = strings.TrimSpace(string(body))
	if len(e.Message) > 512 {
		e.Message = e.Message[:512]
	}
	if e.Message == "" {
		e.Message = http.StatusText(status)
	}
	return e
}

// parseStreamError recognises an error object sent inside a stream.
func parseStreamError(data []byte) *api.Error {
	if !bytes.Contains(data, []byte(`"error"`)) {
		return nil
	}
	code := gjson.GetBytes(data, "error.code")
	if !code.Exists() {
		return nil
	}
	status := int(code.Int())
	if status < 400 {
		status = http.StatusBadGateway
	}
	return ParseError(status, data)
}
