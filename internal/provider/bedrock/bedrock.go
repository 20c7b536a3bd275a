// Package bedrock calls Amazon Bedrock's Converse and ConverseStream APIs
// (and InvokeModel for Titan and Cohere embeddings), signing requests with
// SigV4 — static keys, or the AWS default chain (env, shared config, IAM
// role) — or sending a Bedrock API key as a bearer token. Streams arrive in
// the binary application/vnd.amazon.eventstream framing.
package bedrock

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/tidwall/gjson"

	"github.com/switchboard-gw/switchboard/internal/api"
	br "github.com/switchboard-gw/switchboard/internal/api/bedrock"
	wire "github.com/switchboard-gw/switchboard/internal/api/openai"
	"github.com/switchboard-gw/switchboard/internal/config"
	"github.com/switchboard-gw/switchboard/internal/provider"
	tokencount "github.com/switchboard-gw/switchboard/internal/tokens"
)

func init() {
	provider.Register(provider.Spec{
		Type: "bedrock",
		Env:  config.EnvSpec{Detect: detectEnv},
		New:  newClient,
	})
}

// detectEnv enables bedrock from a Bedrock API key or AWS access keys,
// with the region from AWS_REGION (or AWS_DEFAULT_REGION).
func detectEnv(getenv func(string) string) *config.Provider {
	region := getenv("AWS_REGION")
	if region == "" {
		region = getenv("AWS_DEFAULT_REGION")
	}
	switch {
	case region == "":
		return nil
	case getenv("AWS_BEARER_TOKEN_BEDROCK") != "":
		return &config.Provider{APIKey: getenv("AWS_BEARER_TOKEN_BEDROCK"), Region: region}
	case getenv("AWS_ACCESS_KEY_ID") != "" && getenv("AWS_SECRET_ACCESS_KEY") != "":
		return &config.Provider{Region: region} // the default chain reads the keys (and a session token)
	}
	return nil
}

// Client calls Bedrock in one region.
type Client struct {
	name   string
	base   string
	region string
	hc     *http.Client
	header http.Header
	// creds signs requests with SigV4; nil when a bearer API key is used.
	creds  aws.CredentialsProvider
	signer *v4.Signer
	now    func() time.Time
}

var _ provider.Provider = (*Client)(nil)

func newClient(cfg config.Provider, hc *http.Client) (provider.Provider, error) {
	c := &Client{name: cfg.Name, region: cfg.Region, hc: hc, header: http.Header{}, signer: v4.NewSigner()}
	c.header.Set("Content-Type", "application/json")
	for k, v := range cfg.Headers {
		c.header.Set(k, v)
	}
	switch {
	case cfg.APIKey != "":
		c.header.Set("Authorization", "Bearer "+cfg.APIKey)
	case cfg.AccessKeyID != "" || cfg.SecretAccessKey != "":
		if cfg.AccessKeyID == "" || cfg.SecretAccessKey == "" {
			return nil, fmt.Errorf("access_key_id and secret_access_key go together")
		}
		c.creds = credentials.NewStaticCredentialsProvider(cfg.AccessKeyID, cfg.SecretAccessKey, "")
	default:
		// The AWS SDK's own client fetches credentials (it needs to own
		// its transport for custom CA bundles); requests still use hc.
		var opts []func(*awsconfig.LoadOptions) error
		if cfg.Region != "" {
			opts = append(opts, awsconfig.WithRegion(cfg.Region))
		}
		awsCfg, err := awsconfig.LoadDefaultConfig(context.Background(), opts...)
		if err != nil {
			return nil, fmt.Errorf("loading AWS credentials: %w", err)
		}
		c.creds = awsCfg.Credentials
		if c.region == "" {
			c.region = awsCfg.Region
		}
	}
	if c.region == "" && cfg.BaseURL == "" {
		return nil, fmt.Errorf("region is required for bedrock (or set AWS_REGION)")
	}
	c.base = cfg.BaseURL
	if c.base == "" {
		c.base = "https://bedrock-runtime." + c.region + ".amazonaws.com"
	}
	c.base = strings.TrimRight(c.base, "/")
	return c, nil
}

// modelPath escapes a model id or ARN the way AWS's SDKs do (":" too).
func modelPath(model, op string) string {
	return "/model/" + strings.ReplaceAll(url.PathEscape(model), ":", "%3A") + "/" + op
}

func (c *Client) post(ctx context.Context, model, op string, body []byte, accept string) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.base+modelPath(model, op), bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", c.name, err)
	}
	for k, v := range c.header {
		req.Header[k] = v
	}
	req.Header.Set("Accept", accept)
	if c.creds != nil {
		creds, err := c.creds.Retrieve(ctx)
		if err != nil {
			return nil, &api.Error{Status: http.StatusBadGateway, Type: api.TypeUpstream, Code: "upstream_auth",
				Message: "Could not get AWS credentials for " + c.name + ".", Cause: err}
		}
		sum := sha256.Sum256(body)
		now := time.Now
		if c.now != nil {
			now = c.now
		}
		if err := c.signer.SignHTTP(ctx, creds, req, hex.EncodeToString(sum[:]), "bedrock", c.region, now()); err != nil {
			return nil, fmt.Errorf("%s: signing: %w", c.name, err)
		}
	}
	resp, err := provider.Do(c.hc, req, c.name)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode >= 300 {
		name := resp.Header.Get("X-Amzn-Errortype")
		return nil, provider.ReadError(resp, func(status int, body []byte) *api.Error { return br.ParseError(status, name, body) })
	}
	return resp, nil
}

func (c *Client) created() int64 {
	if c.now != nil {
		return c.now().Unix()
	}
	return time.Now().Unix()
}

// Chat calls Converse or ConverseStream.
func (c *Client) Chat(ctx context.Context, req *provider.ChatRequest) (*provider.Response, error) {
	breq, err := toConverse(req.Body, req.Model, req.DropParams, req.OnDrop)
	if err != nil {
		return nil, err
	}
	body, err := json.Marshal(breq)
	if err != nil {
		return nil, err
	}
	if req.Fields.Stream {
		resp, err := c.post(ctx, req.Model, "converse-stream", body, "application/vnd.amazon.eventstream")
		if err != nil {
			return nil, err
		}
		return &provider.Response{Stream: newStream(resp.Body, c.name, req.Model, req.Fields.IncludeUsage, c.created())}, nil
	}
	resp, err := c.post(ctx, req.Model, "converse", body, "application/json")
	if err != nil {
		return nil, err
	}
	raw, err := provider.ReadBody(ctx, resp, c.name)
	if err != nil {
		return nil, err
	}
	var bres br.Response
	if err := json.Unmarshal(raw, &bres); err != nil {
		return nil, &api.Error{Status: http.StatusBadGateway, Type: api.TypeUpstream, Code: "invalid_upstream_response",
			Message: "The upstream provider " + c.name + " returned a response Switchboard could not read.", Cause: err}
	}
	out := fromConverse(&bres, req.Model, resp.Header.Get("X-Amzn-Requestid"), c.created())
	b, err := json.Marshal(out)
	if err != nil {
		return nil, err
	}
	return &provider.Response{Body: b, Usage: usageOf(bres.Usage)}, nil
}

// fromConverse translates a Converse response.
func fromConverse(r *br.Response, model, id string, created int64) *wire.ChatResponse {
	msg := wire.ResponseMessage{Role: "assistant"}
	var text strings.Builder
	for _, b := range r.Output.Message.Content {
		switch {
		case b.ToolUse != nil:
			msg.ToolCalls = append(msg.ToolCalls, wire.ToolCall{ID: b.ToolUse.ToolUseID, Type: "function",
				Function: wire.FunctionCall{Name: b.ToolUse.Name, Arguments: compactArgs(b.ToolUse.Input)}})
		case b.ReasoningContent != nil && b.ReasoningContent.ReasoningText != nil:
			msg.ReasoningContent += b.ReasoningContent.ReasoningText.Text
			msg.ReasoningSignature = b.ReasoningContent.ReasoningText.Signature
		default:
			text.WriteString(b.Text)
		}
	}
	if text.Len() > 0 || len(msg.ToolCalls) == 0 {
		s := text.String()
		msg.Content = &s
	}
	if id == "" {
		id = "chatcmpl-bedrock"
	}
	u := openAIUsage(r.Usage)
	return &wire.ChatResponse{ID: id, Object: "chat.completion", Created: created, Model: model, Usage: &u,
		Choices: []wire.Choice{{Message: msg, FinishReason: finishReason(r.StopReason), Logprobs: json.RawMessage("null")}}}
}

func compactArgs(in json.RawMessage) string {
	if len(bytes.TrimSpace(in)) == 0 || string(in) == "null" {
		return "{}"
	}
	var b bytes.Buffer
	if json.Compact(&b, in) != nil {
		return string(in)
	}
	return b.String()
}

func finishReason(stop string) string {
	switch stop {
	case "max_tokens", "model_context_window_exceeded":
		return "length"
	case "tool_use":
		return "tool_calls"
	case "guardrail_intervened", "content_filtered":
		return "content_filter"
	default:
		return "stop"
	}
}

func openAIUsage(u br.Usage) wire.Usage {
	prompt := u.InputTokens + u.CacheReadInputTokens + u.CacheWriteInputTokens
	return wire.Usage{PromptTokens: prompt, CompletionTokens: u.OutputTokens, TotalTokens: prompt + u.OutputTokens,
		PromptTokensDetails: &wire.PromptTokensDetails{CachedTokens: u.CacheReadInputTokens, CacheCreationTokens: u.CacheWriteInputTokens}}
}

func usageOf(u br.Usage) provider.Usage {
	return provider.Usage{Input: u.InputTokens + u.CacheReadInputTokens + u.CacheWriteInputTokens, Output: u.OutputTokens,
		CacheRead: u.CacheReadInputTokens, CacheWrite: u.CacheWriteInputTokens}
}

// Embed calls InvokeModel: Titan embeds one text a call, Cohere many.
func (c *Client) Embed(ctx context.Context, req *provider.EmbedRequest) (*provider.Response, error) {
	inputs := wire.Inputs(req.Body)
	var vectors [][]float64
	var tokens int64
	switch {
	case strings.Contains(req.Model, "titan-embed"):
		for _, in := range inputs {
			body := map[string]any{"inputText": in}
			if req.Fields.Dimensions > 0 {
				body["dimensions"] = req.Fields.Dimensions
			}
			raw, err := c.invoke(ctx, req.Model, body)
			if err != nil {
				return nil, err
			}
			var v []float64
			json.Unmarshal([]byte(gjson.GetBytes(raw, "embedding").Raw), &v)
			vectors = append(vectors, v)
			tokens += gjson.GetBytes(raw, "inputTextTokenCount").Int()
		}
	case strings.Contains(req.Model, "cohere.embed"):
		body := map[string]any{"texts": inputs, "input_type": "search_document", "embedding_types": []string{"float"}}
		if req.Fields.Dimensions > 0 {
			body["output_dimension"] = req.Fields.Dimensions
		}
		raw, err := c.invoke(ctx, req.Model, body)
		if err != nil {
			return nil, err
		}
		embs := gjson.GetBytes(raw, "embeddings")
		if f := embs.Get("float"); f.Exists() {
			embs = f
		}
		json.Unmarshal([]byte(embs.Raw), &vectors)
	default:
		return nil, api.BadRequest("model", "unsupported_model", "Bedrock embeddings are supported for Amazon Titan and Cohere embedding models; %q is neither.", req.Model)
	}
	if len(vectors) != len(inputs) {
		return nil, &api.Error{Status: http.StatusBadGateway, Type: api.TypeUpstream, Code: "invalid_upstream_response",
			Message: fmt.Sprintf("The upstream returned %d embeddings for %d inputs.", len(vectors), len(inputs))}
	}
	usage := provider.Usage{Input: tokens}
	if tokens == 0 {
		usage = provider.Usage{Input: tokencount.CountAll(inputs), Estimated: true}
	}
	out, err := provider.EmbeddingsBody(req.Model, vectors, req.Fields.Base64, usage.Input)
	if err != nil {
		return nil, err
	}
	return &provider.Response{Body: out, Usage: usage}, nil
}

func (c *Client) invoke(ctx context.Context, model string, body any) ([]byte, error) {
	b, _ := json.Marshal(body)
	resp, err := c.post(ctx, model, "invoke", b, "application/json")
	if err != nil {
		return nil, err
	}
	return provider.ReadBody(ctx, resp, c.name)
}
