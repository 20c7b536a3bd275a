package e2e

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/openai/openai-go/v3"
	"github.com/tidwall/gjson"

	"github.com/switchboard-gw/switchboard/internal/fixtures"
	"github.com/switchboard-gw/switchboard/internal/spectest"
)

const cohereFixtures = "fixtures/vercel-ai/packages/cohere/src/__fixtures__/"

func cohereGateway(t *testing.T, reply fixtures.Reply) (*gatewayUnderTest, *fixtures.Upstream) {
	t.Helper()
	up := fixtures.Serve(t, reply)
	return startGateway(t, `
master_key: ${MASTER}
providers:
  - name: co
    type: cohere
    base_url: ${UPSTREAM}
    api_key: k
models:
  - name: cohere
    deployments: [{provider: co, model: command-r-plus}]
  - name: cohere-embed
    deployments: [{provider: co, model: embed-english-v3.0}]
`, up.URL), up
}

// cohereSSE renders recorded events as Cohere streams them: named events.
func cohereSSE(lines []string) []byte {
	var b strings.Builder
	for _, l := range lines {
		b.WriteString("event: " + gjson.Get(l, "type").String() + "\ndata: " + l + "\n\n")
	}
	return []byte(b.String())
}

// Recorded Cohere v2 streams and bodies through the gateway: text, the tool
// plan as reasoning, parallel tool calls, usage with cached tokens.
func TestReplayCohere(t *testing.T) {
	for _, c := range []struct {
		file   string
		stream bool
	}{{"cohere-text.chunks.txt", true}, {"cohere-tool-call.chunks.txt", true}, {"cohere-text.json", false}, {"cohere-tool-call.json", false}} {
		t.Run(c.file, func(t *testing.T) {
			var reply fixtures.Reply
			var text, plan strings.Builder
			var calls [][3]string
			var usage gjson.Result
			finish := ""
			if c.stream {
				lines := fixtures.ChunkLines(t, cohereFixtures+c.file)
				for _, l := range lines {
					ev := gjson.Parse(l)
					text.WriteString(ev.Get("delta.message.content.text").String())
					plan.WriteString(ev.Get("delta.message.tool_plan").String())
					if ev.Get("type").String() == "tool-call-start" {
						calls = append(calls, [3]string{ev.Get("delta.message.tool_calls.id").String(), ev.Get("delta.message.tool_calls.function.name").String(), ""})
					}
					if ev.Get("type").String() == "tool-call-delta" {
						calls[len(calls)-1][2] += ev.Get("delta.message.tool_calls.function.arguments").String()
					}
					if ev.Get("type").String() == "message-end" {
						usage, finish = ev.Get("delta.usage"), ev.Get("delta.finish_reason").String()
					}
				}
				reply = fixtures.Reply{Header: http.Header{"Content-Type": {"text/event-stream"}}, Body: cohereSSE(lines)}
			} else {
				body := fixtures.Read(t, cohereFixtures+c.file)
				res := gjson.ParseBytes(body)
				text.WriteString(res.Get("message.content.0.text").String())
				plan.WriteString(res.Get("message.tool_plan").String())
				res.Get("message.tool_calls").ForEach(func(_, tc gjson.Result) bool {
					calls = append(calls, [3]string{tc.Get("id").String(), tc.Get("function.name").String(), tc.Get("function.arguments").String()})
					return true
				})
				usage, finish = res.Get("usage"), res.Get("finish_reason").String()
				reply = fixtures.Reply{Header: http.Header{"Content-Type": {"application/json"}}, Body: body}
			}
			gw, up := cohereGateway(t, reply)
			client := sdk(gw.URL)
			params := openai.ChatCompletionNewParams{Model: "cohere", Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("hi")}}
			var got openai.ChatCompletion
			var reasoning strings.Builder
			if c.stream {
				params.StreamOptions = openai.ChatCompletionStreamOptionsParam{IncludeUsage: openai.Bool(true)}
				s := client.Chat.Completions.NewStreaming(context.Background(), params)
				acc := openai.ChatCompletionAccumulator{}
				for s.Next() {
					spectest.Validate(t, spectest.ChatChunk, []byte(s.Current().RawJSON()))
					reasoning.WriteString(gjson.Get(s.Current().RawJSON(), "choices.0.delta.reasoning_content").String())
					acc.AddChunk(s.Current())
				}
				if err := s.Err(); err != nil {
					t.Fatal(err)
				}
				got = acc.ChatCompletion
			} else {
				res, err := client.Chat.Completions.New(context.Background(), params)
				if err != nil {
					t.Fatal(err)
				}
				spectest.Validate(t, spectest.ChatResponse, []byte(res.RawJSON()))
				reasoning.WriteString(gjson.Get(res.RawJSON(), "choices.0.message.reasoning_content").String())
				got = *res
			}
			if up.Requests()[0].Path != "/v2/chat" || up.Requests()[0].Header.Get("Authorization") != "Bearer k" {
				t.Errorf("upstream request %s", up.Requests()[0].Path)
			}
			m := got.Choices[0].Message
			wantFinish := map[string]string{"COMPLETE": "stop", "TOOL_CALL": "tool_calls"}[finish]
			if m.Content != text.String() || reasoning.String() != plan.String() || string(got.Choices[0].FinishReason) != wantFinish {
				t.Errorf("content %q plan %q finish %q", m.Content, reasoning.String(), got.Choices[0].FinishReason)
			}
			if len(m.ToolCalls) != len(calls) {
				t.Fatalf("tool calls %+v, want %v", m.ToolCalls, calls)
			}
			for i, w := range calls {
				if m.ToolCalls[i].ID != w[0] || m.ToolCalls[i].Function.Name != w[1] || m.ToolCalls[i].Function.Arguments != w[2] {
					t.Errorf("call %d = %+v, want %v", i, m.ToolCalls[i], w)
				}
			}
			if got.Usage.PromptTokens != usage.Get("tokens.input_tokens").Int() || got.Usage.CompletionTokens != usage.Get("tokens.output_tokens").Int() ||
				got.Usage.PromptTokensDetails.CachedTokens != usage.Get("cached_tokens").Int() {
				t.Errorf("usage %+v, recorded %s", got.Usage, usage.Raw)
			}
		})
	}
	// Recorded embeddings.
	body := fixtures.Read(t, cohereFixtures+"cohere-embedding.json")
	gw, up := cohereGateway(t, fixtures.Reply{Header: http.Header{"Content-Type": {"application/json"}}, Body: body})
	resp, out := post(t, gw.URL, "/v1/embeddings", `{"model":"cohere-embed","input":["sunny day at the beach","rainy day in the city"]}`)
	if resp.StatusCode != 200 || gjson.GetBytes(out, "data.1.embedding.0").Float() != gjson.GetBytes(body, "embeddings.float.1.0").Float() ||
		gjson.GetBytes(out, "usage.prompt_tokens").Int() != 10 {
		t.Errorf("%d %s", resp.StatusCode, out)
	}
	if gjson.GetBytes(up.Requests()[0].Body, "input_type").String() == "" {
		t.Error("no input_type sent")
	}
	spectest.Validate(t, spectest.Embeddings, out)
}
