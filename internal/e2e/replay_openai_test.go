package e2e

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/openai/openai-go/v3"
	"github.com/tidwall/gjson"
	"github.com/tidwall/sjson"

	"github.com/switchboard-gw/switchboard/internal/fixtures"
	"github.com/switchboard-gw/switchboard/internal/spectest"
)

// replayGateway serves one recorded interaction from a fake upstream and
// routes the model "recorded" to it with the recorded upstream model.
func replayGateway(t *testing.T, typ string, it fixtures.Interaction) (*gatewayUnderTest, *fixtures.Upstream, string) {
	t.Helper()
	up := fixtures.Serve(t, fixtures.ReplyOf(it))
	recordedModel := gjson.GetBytes(it.ReqBody, "model").String()
	if typ == "azure" {
		// Azure names the deployment in the path.
		parts := strings.Split(it.URL, "/deployments/")
		recordedModel = strings.Split(parts[1], "/")[0]
	}
	base := up.URL
	switch typ {
	case "openai":
		base += "/v1"
	}
	yaml := `
master_key: ${MASTER}
providers:
  - name: up
    type: ` + typ + `
    base_url: ${UPSTREAM}
    api_key: recorded-key
    api_version: 2024-12-01-preview
models:
  - name: recorded
    deployments: [{provider: up, model: "` + recordedModel + `"}]
`
	gw := startGateway(t, yaml, base)
	client, err := sjson.SetBytes(it.ReqBody, "model", "recorded")
	if err != nil {
		t.Fatal(err)
	}
	return gw, up, string(client)
}

// Recorded OpenAI and Azure traffic passes through the gateway unchanged:
// the upstream gets the client's bytes (model aside) and the client gets
// the upstream's.
func TestReplayOpenAIJSON(t *testing.T) {
	for _, c := range []struct{ file, typ, path string }{
		{"chat-basic.yaml", "openai", "/v1/chat/completions"},
		{"chat-tools.yaml", "openai", "/v1/chat/completions"},
		{"chat-parallel-tools.yaml", "openai", "/v1/chat/completions"},
		{"chat-reasoning.yaml", "openai", "/v1/chat/completions"},
		{"azure-chat-basic.yaml", "azure", "/v1/chat/completions"},
		{"embeddings-basic.yaml", "openai", "/v1/embeddings"},
		{"embeddings-base64.yaml", "openai", "/v1/embeddings"},
		{"embeddings-dimensions.yaml", "openai", "/v1/embeddings"},
	} {
		t.Run(c.file, func(t *testing.T) {
			it := fixtures.Cassette(t, "fixtures/envoy-ai-gateway/"+c.file)[0]
			gw, up, body := replayGateway(t, c.typ, it)
			resp, out := post(t, gw.URL, c.path, body)
			if resp.StatusCode != it.Status {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, it.Status, out)
			}
			if string(out) != string(it.RespBody) {
				t.Errorf("client got\n%s\nupstream sent\n%s", out, it.RespBody)
			}
			got := up.Requests()[0]
			if string(got.Body) != string(it.ReqBody) {
				t.Errorf("upstream got\n%s\nrecorded\n%s", got.Body, it.ReqBody)
			}
			if c.typ == "azure" {
				if got.Path != "/openai/deployments/gpt-5-nano/chat/completions" || got.Query != "api-version=2024-12-01-preview" || got.Header.Get("api-key") != "recorded-key" {
					t.Errorf("azure request: %s?%s %v", got.Path, got.Query, got.Header)
				}
			} else if got.Header.Get("Authorization") != "Bearer recorded-key" {
				t.Errorf("auth header = %q", got.Header.Get("Authorization"))
			}
			schema := spectest.ChatResponse
			if strings.HasPrefix(c.file, "embeddings") {
				schema = spectest.Embeddings
			}
			spectest.Validate(t, schema, out)
			rec := gw.nextRecord(t)
			if want := gjson.GetBytes(it.RespBody, "usage.prompt_tokens").Int(); rec.Usage.Input != want {
				t.Errorf("recorded input tokens = %d, want %d", rec.Usage.Input, want)
			}
		})
	}
}

// Tool calls, reasoning usage and Azure answers read back by the SDK.
func TestReplayOpenAIWithSDK(t *testing.T) {
	for _, c := range []struct{ file, typ string }{
		{"chat-tools.yaml", "openai"},
		{"chat-parallel-tools.yaml", "openai"},
		{"chat-reasoning.yaml", "openai"},
		{"azure-chat-basic.yaml", "azure"},
	} {
		t.Run(c.file, func(t *testing.T) {
			it := fixtures.Cassette(t, "fixtures/envoy-ai-gateway/"+c.file)[0]
			gw, _, body := replayGateway(t, c.typ, it)
			var params openai.ChatCompletionNewParams
			if err := json.Unmarshal([]byte(body), &params); err != nil {
				t.Fatal(err)
			}
			client := sdk(gw.URL)
			res, err := client.Chat.Completions.New(context.Background(), params)
			if err != nil {
				t.Fatal(err)
			}
			rec := gjson.ParseBytes(it.RespBody)
			msg := res.Choices[0].Message
			if msg.Content != rec.Get("choices.0.message.content").String() || string(res.Choices[0].FinishReason) != rec.Get("choices.0.finish_reason").String() {
				t.Errorf("message = %+v", msg)
			}
			calls := rec.Get("choices.0.message.tool_calls").Array()
			if len(msg.ToolCalls) != len(calls) {
				t.Fatalf("tool calls = %+v, want %d", msg.ToolCalls, len(calls))
			}
			for i, tc := range calls {
				got := msg.ToolCalls[i]
				if got.ID != tc.Get("id").String() || got.Function.Name != tc.Get("function.name").String() || got.Function.Arguments != tc.Get("function.arguments").String() {
					t.Errorf("tool call %d = %+v, want %s", i, got, tc.Raw)
				}
			}
			if res.Usage.CompletionTokensDetails.ReasoningTokens != rec.Get("usage.completion_tokens_details.reasoning_tokens").Int() {
				t.Errorf("reasoning tokens = %d", res.Usage.CompletionTokensDetails.ReasoningTokens)
			}
		})
	}
}

// Recorded streams pass through chunk for chunk; the usage the gateway
// asked for on the client's behalf is read and then held back.
func TestReplayOpenAIStreams(t *testing.T) {
	for _, file := range []string{"chat-streaming.yaml", "chat-streaming-detailed-usage.yaml"} {
		t.Run(file, func(t *testing.T) {
			it := fixtures.Cassette(t, "fixtures/envoy-ai-gateway/"+file)[0]
			gw, up, body := replayGateway(t, "openai", it)
			clientAsked := gjson.Get(body, "stream_options.include_usage").Bool()
			resp, out := post(t, gw.URL, "/v1/chat/completions", body)
			if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
				t.Fatalf("status %d %s", resp.StatusCode, resp.Header)
			}
			recorded := sseData(it.RespBody)
			var want []string
			var usage gjson.Result
			for _, d := range recorded {
				if u := gjson.Get(d, "usage"); u.IsObject() {
					usage = u
					if !clientAsked && len(gjson.Get(d, "choices").Array()) == 0 {
						continue
					}
				}
				want = append(want, d)
			}
			got := sseData(out)
			if strings.Join(got, "\n") != strings.Join(want, "\n") {
				t.Errorf("client stream differs from the recorded one:\n got %d chunks\nwant %d chunks", len(got), len(want))
			}
			for _, d := range got[:len(got)-1] {
				spectest.Validate(t, spectest.ChatChunk, []byte(d))
			}
			if !gjson.GetBytes(up.Requests()[0].Body, "stream_options.include_usage").Bool() {
				t.Error("the gateway did not ask the upstream for usage")
			}
			rec := gw.nextRecord(t)
			if usage.Exists() && rec.Usage.Output != usage.Get("completion_tokens").Int() {
				t.Errorf("recorded usage %+v, stream said %s", rec.Usage, usage.Raw)
			}
		})
	}
}

// Upstream error bodies keep their status, message, type and code.
func TestReplayOpenAIErrors(t *testing.T) {
	for _, c := range []struct{ file, path string }{
		{"chat-bad-request.yaml", "/v1/chat/completions"},
		{"chat-unknown-model.yaml", "/v1/chat/completions"},
		{"embeddings-bad-request.yaml", "/v1/embeddings"},
		{"embeddings-unknown-model.yaml", "/v1/embeddings"},
	} {
		t.Run(c.file, func(t *testing.T) {
			it := fixtures.Cassette(t, "fixtures/envoy-ai-gateway/"+c.file)[0]
			gw, up, body := replayGateway(t, "openai", it)
			resp, out := post(t, gw.URL, c.path, body)
			if len(up.Requests()) == 0 {
				// The gateway refused the request itself; that must be for
				// a reason the upstream gave too.
				if resp.StatusCode != it.Status {
					t.Fatalf("gateway said %d, upstream said %d", resp.StatusCode, it.Status)
				}
				return
			}
			if resp.StatusCode != it.Status {
				t.Fatalf("status %d, want %d", resp.StatusCode, it.Status)
			}
			want := gjson.ParseBytes(it.RespBody).Get("error")
			got := gjson.ParseBytes(out).Get("error")
			for _, f := range []string{"message", "type", "code", "param"} {
				if got.Get(f).String() != want.Get(f).String() {
					t.Errorf("%s = %q, want %q", f, got.Get(f).String(), want.Get(f).String())
				}
			}
			spectest.Validate(t, spectest.ErrorBody, out)
		})
	}
}
