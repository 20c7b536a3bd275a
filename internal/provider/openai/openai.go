// Package openai calls OpenAI, Azure OpenAI and every OpenAI-compatible API
// (Groq, Together, Fireworks, DeepSeek, Mistral, OpenRouter, xAI,
// Perplexity, Cerebras, Ollama, vLLM, LM Studio). Requests take the fast
// path: the client's bytes are forwarded with only the model rewritten, and
// stream chunks pass through as they arrive.
package openai

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/tidwall/gjson"

	"github.com/switchboard-gw/switchboard/internal/api"
	wire "github.com/switchboard-gw/switchboard/internal/api/openai"
	"github.com/switchboard-gw/switchboard/internal/config"
	"github.com/switchboard-gw/switchboard/internal/provider"
)

// preset is an OpenAI-compatible service: where it lives and how it wants
// its key.
type preset struct {
	typ        string
	baseURL    string
	keyVar     string
	baseURLVar string
	keyless    bool // local servers: no key needed
	responses  bool // serves /responses, so Responses requests pass through
}

var presets = []preset{
	{typ: "openai", baseURL: "https://api.openai.com/v1", keyVar: "OPENAI_API_KEY", baseURLVar: "OPENAI_BASE_URL", responses: true},
	{typ: "groq", baseURL: "https://api.groq.com/openai/v1", keyVar: "GROQ_API_KEY"},
	{typ: "together", baseURL: "https://api.together.xyz/v1", keyVar: "TOGETHER_API_KEY"},
	{typ: "fireworks", baseURL: "https://api.fireworks.ai/inference/v1", keyVar: "FIREWORKS_API_KEY"},
	{typ: "deepseek", baseURL: "https://api.deepseek.com/v1", keyVar: "DEEPSEEK_API_KEY"},
	{typ: "mistral", baseURL: "https://api.mistral.ai/v1", keyVar: "MISTRAL_API_KEY"},
	{typ: "openrouter", baseURL: "https://openrouter.ai/api/v1", keyVar: "OPENROUTER_API_KEY"},
	{typ: "xai", baseURL: "https://api.x.ai/v1", keyVar: "XAI_API_KEY"},
	{typ: "perplexity", baseURL: "https://api.perplexity.ai", keyVar: "PERPLEXITY_API_KEY"},
	{typ: "cerebras", baseURL: "https://api.cerebras.ai/v1", keyVar: "CEREBRAS_API_KEY"},
	{typ: "ollama", baseURL: "http://127.0.0.1:11434/v1", baseURLVar: "OLLAMA_BASE_URL", keyless: true},
	{typ: "vllm", baseURL: "http://127.0.0.1:8000/v1", baseURLVar: "VLLM_BASE_URL", keyless: true},
	{typ: "lmstudio", baseURL: "http://127.0.0.1:1234/v1", baseURLVar: "LMSTUDIO_BASE_URL", keyless: true},
}

// DefaultAzureAPIVersion is used when an azure provider sets none.
const DefaultAzureAPIVersion = "2024-10-21"

func init() {
	for _, p := range presets {
		p := p
		env := config.EnvSpec{KeyVar: p.keyVar, BaseURLVar: p.baseURLVar}
		if p.keyless {
			env.KeyVar = ""
		}
		provider.Register(provider.Spec{
			Type: p.typ,
			Env:  env,
			New: func(cfg config.Provider, hc *http.Client) (provider.Provider, error) {
				if cfg.APIKey == "" && !p.keyless {
					return nil, fmt.Errorf("api_key is required for %s (set it in the config or %s)", p.typ, p.keyVar)
				}
				base := cfg.BaseURL
				if base == "" {
					base = p.baseURL
				}
				c := newClient(cfg, hc, strings.TrimRight(base, "/"), false)
				c.responses = p.responses
				return c, nil
			},
		})
	}
	provider.Register(provider.Spec{
		Type: "azure",
		Env:  config.EnvSpec{KeyVar: "AZURE_OPENAI_API_KEY", BaseURLVar: "AZURE_OPENAI_ENDPOINT", APIVersionVar: "OPENAI_API_VERSION", BaseURLRequired: true},
		New: func(cfg config.Provider, hc *http.Client) (provider.Provider, error) {
			if cfg.APIKey == "" {
				return nil, fmt.Errorf("api_key is required for azure (set it in the config or AZURE_OPENAI_API_KEY)")
			}
			if cfg.BaseURL == "" {
				return nil, fmt.Errorf("base_url is required for azure (the resource endpoint)")
			}
			return newClient(cfg, hc, strings.TrimRight(cfg.BaseURL, "/"), true), nil
		},
	})
}

// Client calls one OpenAI-compatible account.
type Client struct {
	name       string
	base       string
	hc         *http.Client
	azure      bool
	apiVersion string
	header     http.Header // auth and configured headers, set on every call
	responses  bool        // takes Responses requests as they are
	// chatURL and embeddingsURL are the endpoints outside Azure.
	chatURL, embeddingsURL string
}

var _ provider.Provider = (*Client)(nil)

func newClient(cfg config.Provider, hc *http.Client, base string, azure bool) *Client {
	c := &Client{name: cfg.Name, base: base, hc: hc, azure: azure, apiVersion: cfg.APIVersion, header: http.Header{},
		chatURL: base + "/chat/completions", embeddingsURL: base + "/embeddings"}
	if azure && c.apiVersion == "" {
		c.apiVersion = DefaultAzureAPIVersion
	}
	switch {
	case azure:
		c.header.Set("api-key", cfg.APIKey)
	case cfg.APIKey != "":
		c.header.Set("Authorization", "Bearer "+cfg.APIKey)
	}
	for k, v := range cfg.Headers {
		c.header.Set(k, v)
	}
	c.header.Set("Content-Type", "application/json")
	return c
}

// endpoint returns the URL of an operation ("chat/completions",
// "embeddings") for a model.
func (c *Client) endpoint(op, model string) string {
	if c.azure {
		return c.base + "/openai/deployments/" + url.PathEscape(model) + "/" + op + "?api-version=" + url.QueryEscape(c.apiVersion)
	}
	switch op { // the common ones made once
	case "chat/completions":
		return c.chatURL
	case "embeddings":
		return c.embeddingsURL
	}
	return c.base + "/" + op
}

func (c *Client) post(ctx context.Context, u string, body []byte, stream bool) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", c.name, err)
	}
	for k, v := range c.header {
		req.Header[k] = v
	}
	if stream {
		req.Header.Set("Accept", "text/event-stream")
	}
	resp, err := provider.Do(c.hc, req, c.name)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode >= 300 {
		return nil, provider.ReadError(resp, wire.ParseError)
	}
	return resp, nil
}

// Chat forwards the client's body with the model rewritten. Streams always
// ask the upstream for usage; the usage chunk is dropped again when the
// client did not ask for it.
func (c *Client) Chat(ctx context.Context, req *provider.ChatRequest) (*provider.Response, error) {
	f := req.Fields
	forceUsage := f.Stream && !f.IncludeUsage
	body := wire.RewriteChat(req.Body, f, req.Model, forceUsage)
	resp, err := c.post(ctx, c.endpoint("chat/completions", req.Model), body, f.Stream)
	if err != nil {
		return nil, err
	}
	out := &provider.Response{Header: resp.Header}
	if f.Stream {
		out.Stream = newPassStream(resp, c.name, forceUsage)
		return out, nil
	}
	out.Body, err = provider.ReadBody(ctx, resp, c.name)
	if err != nil {
		return nil, err
	}
	if !gjson.ValidBytes(out.Body) {
		return nil, &api.Error{Status: http.StatusBadGateway, Type: api.TypeUpstream, Code: "invalid_upstream_response",
			Message: "The upstream provider " + c.name + " returned a response that is not JSON."}
	}
	out.Usage = UsageOf(gjson.GetBytes(out.Body, "usage"))
	return out, nil
}

// Embed forwards an embeddings request with the model rewritten.
func (c *Client) Embed(ctx context.Context, req *provider.EmbedRequest) (*provider.Response, error) {
	body := wire.RewriteEmbeddings(req.Body, req.Fields, req.Model)
	resp, err := c.post(ctx, c.endpoint("embeddings", req.Model), body, false)
	if err != nil {
		return nil, err
	}
	out := &provider.Response{Header: resp.Header}
	out.Body, err = provider.ReadBody(ctx, resp, c.name)
	if err != nil {
		return nil, err
	}
	if !gjson.ValidBytes(out.Body) {
		return nil, &api.Error{Status: http.StatusBadGateway, Type: api.TypeUpstream, Code: "invalid_upstream_response",
			Message: "The upstream provider " + c.name + " returned a response that is not JSON."}
	}
	out.Usage = UsageOf(gjson.GetBytes(out.Body, "usage"))
	return out, nil
}

// UsageOf reads an OpenAI usage object.
func UsageOf(u gjson.Result) provider.Usage {
	if !u.IsObject() {
		return provider.Usage{}
	}
	return provider.Usage{
		Input:      u.Get("prompt_tokens").Int(),
		Output:     u.Get("completion_tokens").Int(),
		CacheRead:  u.Get("prompt_tokens_details.cached_tokens").Int(),
		CacheWrite: u.Get("prompt_tokens_details.cache_creation_tokens").Int(),
		Reasoning:  u.Get("completion_tokens_details.reasoning_tokens").Int(),
	}
}
