package e2e

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/openai/openai-go/v3"
	"github.com/tidwall/gjson"

	"github.com/switchboard-gw/switchboard/internal/fixtures"
	"github.com/switchboard-gw/switchboard/internal/spectest"
)

const anthropicFixtures = "fixtures/vercel-ai/packages/anthropic/src/__fixtures__/"

// anthropicGateway routes the model "claude" to a fake Anthropic upstream
// that answers with reply.
func anthropicGateway(t *testing.T, reply fixtures.Reply) (*gatewayUnderTest, *fixtures.Upstream) {
	t.Helper()
	up := fixtures.Serve(t, reply)
	gw := startGateway(t, `
master_key: ${MASTER}
providers:
  - name: anthropic
    type: anthropic
    base_url: ${UPSTREAM}
    api_key: ant-key
models:
  - name: claude
    deployments: [{provider: anthropic, model: claude-sonnet-4-5}]
`, up.URL)
	return gw, up
}

func sseReply(body []byte) fixtures.Reply {
	return fixtures.Reply{Header: http.Header{"Content-Type": {"text/event-stream"}}, Body: body}
}

func jsonReply(body []byte) fixtures.Reply {
	return fixtures.Reply{Header: http.Header{"Content-Type": {"application/json"}}, Body: body}
}

type wantCompletion struct {
	content, reasoning string
	finish             string
	toolCalls          [][3]string // id, name, arguments
	prompt, completion int64
	cached             int64
}

func checkCompletion(t *testing.T, got openai.ChatCompletion, reasoning string, want wantCompletion) {
	t.Helper()
	c := got.Choices[0]
	if c.Message.Content != want.content {
		t.Errorf("content = %q, want %q", c.Message.Content, want.content)
	}
	if reasoning != want.reasoning {
		t.Errorf("reasoning = %q, want %q", reasoning, want.reasoning)
	}
	if string(c.FinishReason) != want.finish {
		t.Errorf("finish_reason = %q, want %q", c.FinishReason, want.finish)
	}
	if len(c.Message.ToolCalls) != len(want.toolCalls) {
		t.Fatalf("tool calls = %+v, want %v", c.Message.ToolCalls, want.toolCalls)
	}
	for i, w := range want.toolCalls {
		tc := c.Message.ToolCalls[i]
		if tc.ID != w[0] || tc.Function.Name != w[1] || tc.Function.Arguments != w[2] {
			t.Errorf("tool call %d = %s %s %s, want %v", i, tc.ID, tc.Function.Name, tc.Function.Arguments, w)
		}
	}
	u := got.Usage
	if u.PromptTokens != want.prompt || u.CompletionTokens != want.completion || u.TotalTokens != want.prompt+want.completion || u.PromptTokensDetails.CachedTokens != want.cached {
		t.Errorf("usage = %+v, want prompt %d completion %d", u, want.prompt, want.completion)
	}
}

// Recorded Anthropic streams, translated, read by the OpenAI SDK: exact
// text, reasoning, tool-call ids, names and arguments (a tool without
// arguments gets "{}"), finish reasons and usage.
func TestReplayAnthropicStreams(t *testing.T) {
	cases := []struct {
		file string
		want wantCompletion
	}{
		{"anthropic-text.chunks.txt", wantCompletion{content: "Hello! I'm doing well, thank you for asking. How are you doing today? Is there anything I can help you with?", finish: "stop", prompt: 12, completion: 30}},
		{"anthropic-tool-no-args.chunks.txt", wantCompletion{content: "I'll update the issue list for you.", finish: "tool_calls",
			toolCalls: [][3]string{{"toolu_01QE1WLsSVp5hy5Q3GmGTmjP", "updateIssueList", "{}"}}, prompt: 565, completion: 48}},
		{"anthropic-json-tool.1.chunks.txt", wantCompletion{finish: "tool_calls",
			toolCalls: [][3]string{{"toolu_01KFbKqPYSuAKujiL6mTfzYA", "json", `{"elements": [{"location": "San Francisco", "temperature": 58, "condition": "sunny"}]}`}}, prompt: 849, completion: 47}},
		{"anthropic-refusal.chunks.txt", wantCompletion{finish: "content_filter", prompt: 18, completion: 5}},
		{"anthropic-message-delta-input-tokens.chunks.txt", wantCompletion{content: "pong", finish: "stop", prompt: 61, completion: 2}},
	}
	for _, c := range cases {
		t.Run(c.file, func(t *testing.T) {
			gw, up := anthropicGateway(t, sseReply(fixtures.AnthropicSSE(fixtures.ChunkLines(t, anthropicFixtures+c.file))))
			client := sdk(gw.URL)
			stream := client.Chat.Completions.NewStreaming(context.Background(), openai.ChatCompletionNewParams{
				Model:         "claude",
				Messages:      []openai.ChatCompletionMessageParamUnion{openai.UserMessage("hi")},
				StreamOptions: openai.ChatCompletionStreamOptionsParam{IncludeUsage: openai.Bool(true)},
			})
			acc := openai.ChatCompletionAccumulator{}
			var reasoning strings.Builder
			for stream.Next() {
				chunk := stream.Current()
				spectest.Validate(t, spectest.ChatChunk, []byte(chunk.RawJSON()))
				reasoning.WriteString(gjson.Get(chunk.RawJSON(), "choices.0.delta.reasoning_content").String())
				acc.AddChunk(chunk)
			}
			if err := stream.Err(); err != nil {
				t.Fatal(err)
			}
			checkCompletion(t, acc.ChatCompletion, reasoning.String(), c.want)
			if got := up.Requests()[0]; !gjson.GetBytes(got.Body, "stream").Bool() || got.Path != "/v1/messages" {
				t.Errorf("upstream request: %s %s", got.Path, got.Body)
			}
			if rec := gw.nextRecord(t); rec.Usage.Output != c.want.completion || rec.Usage.Input != c.want.prompt {
				t.Errorf("record usage = %+v", rec.Usage)
			}
		})
	}
}

// Thinking streams come through as reasoning_content.
func TestReplayAnthropicThinking(t *testing.T) {
	lines := fixtures.ChunkLines(t, anthropicFixtures+"anthropic-clear-thinking.1.chunks.txt")
	var thinking, text strings.Builder
	for _, l := range lines {
		thinking.WriteString(gjson.Get(l, "delta.thinking").String())
		if gjson.Get(l, "delta.type").String() == "text_delta" {
			text.WriteString(gjson.Get(l, "delta.text").String())
		}
	}
	gw, _ := anthropicGateway(t, sseReply(fixtures.AnthropicSSE(lines)))
	resp, out := post(t, gw.URL, "/v1/chat/completions", `{"model":"claude","stream":true,"messages":[{"role":"user","content":"hi"}]}`)
	if resp.StatusCode != 200 {
		t.Fatalf("%d %s", resp.StatusCode, out)
	}
	var gotThinking, gotText strings.Builder
	data := sseData(out)
	for _, d := range data[:len(data)-1] {
		gotThinking.WriteString(gjson.Get(d, "choices.0.delta.reasoning_content").String())
		gotText.WriteString(gjson.Get(d, "choices.0.delta.content").String())
	}
	if gotThinking.String() != thinking.String() || gotText.String() != text.String() || thinking.Len() == 0 {
		t.Errorf("thinking %q / text %q\nwant %q / %q", gotThinking.String(), gotText.String(), thinking.String(), text.String())
	}
	if data[len(data)-1] != "[DONE]" {
		t.Errorf("stream did not end with [DONE]")
	}
}

// Recorded non-streaming Anthropic answers, translated.
func TestReplayAnthropicJSON(t *testing.T) {
	cases := []struct {
		file string
		want wantCompletion
	}{
		{"anthropic-text.json", wantCompletion{content: "Hello! I'm doing well, thanks for asking. How are you doing today? Is there anything I can help you with?", finish: "stop", prompt: 12, completion: 29}},
		{"anthropic-tool-no-args.json", wantCompletion{content: "<thinking>\nThe updateIssueList tool was provided in the list of available functions. The tool has no required parameters, so it can be called without any additional information needed from the user.\n</thinking>\n\nOkay, I will update the current issue list:",
			finish: "tool_calls", toolCalls: [][3]string{{"toolu_01LRmxn9vGM1d2DZSDBowdZ1", "updateIssueList", "{}"}}, prompt: 602, completion: 93}},
		{"anthropic-json-tool.1.json", wantCompletion{finish: "tool_calls", toolCalls: [][3]string{{"toolu_01Q9ExVZnzZj7E2QQYHYtNUa", "json",
			`{"elements":[{"location":"San Francisco","temperature":-5,"condition":"snowy"},{"location":"London","temperature":0,"condition":"snowy"},{"location":"Paris","temperature":23,"condition":"cloudy"},{"location":"Berlin","temperature":-9,"condition":"snowy"}]}`}}, prompt: 1151, completion: 87}},
	}
	for _, c := range cases {
		t.Run(c.file, func(t *testing.T) {
			gw, _ := anthropicGateway(t, jsonReply(fixtures.Read(t, anthropicFixtures+c.file)))
			client := sdk(gw.URL)
			res, err := client.Chat.Completions.New(context.Background(), openai.ChatCompletionNewParams{
				Model: "claude", Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("hi")}})
			if err != nil {
				t.Fatal(err)
			}
			spectest.Validate(t, spectest.ChatResponse, []byte(res.RawJSON()))
			checkCompletion(t, *res, "", c.want)
		})
	}
}

// pydantic-ai's recorded Anthropic conversations: the request the gateway
// builds carries the same tools and choice, and the answer translates.
func TestReplayAnthropicCassettes(t *testing.T) {
	its := fixtures.Cassette(t, "fixtures/pydantic-ai/tests/models/cassettes/test_anthropic/test_anthropic_tool_output.yaml")
	first := its[0]
	gw, up := anthropicGateway(t, jsonReply(first.RespBody))
	// The same request, as an OpenAI client would send it.
	body := `{"model":"claude","max_tokens":4096,"tool_choice":"required","messages":[{"role":"user","content":"What is the largest city in the user country?"}],
	  "tools":[{"type":"function","function":{"name":"get_user_country","description":"","parameters":{"additionalProperties":false,"properties":{},"type":"object"}}},
	           {"type":"function","function":{"name":"final_result","description":"The final response which ends this conversation","parameters":{"properties":{"city":{"type":"string"},"country":{"type":"string"}},"required":["city","country"],"title":"CityLocation","type":"object"}}}]}`
	resp, out := post(t, gw.URL, "/v1/chat/completions", body)
	if resp.StatusCode != 200 {
		t.Fatalf("%d %s", resp.StatusCode, out)
	}
	sent := gjson.ParseBytes(up.Requests()[0].Body)
	recorded := gjson.ParseBytes(first.ReqBody)
	for _, f := range []string{"max_tokens", "tool_choice", "tools", "messages"} {
		// An empty description and no description are the same to Anthropic.
		if canon(sent.Get(f).Raw) != strings.ReplaceAll(canon(recorded.Get(f).Raw), `"description":"",`, "") {
			t.Errorf("%s sent = %s\nrecorded = %s", f, sent.Get(f).Raw, recorded.Get(f).Raw)
		}
	}
	res := gjson.ParseBytes(out)
	if res.Get("choices.0.message.tool_calls.0.function.name").String() != "get_user_country" ||
		res.Get("choices.0.message.tool_calls.0.function.arguments").String() != "{}" ||
		res.Get("choices.0.message.tool_calls.0.id").String() != "toolu_01X9wcHKKAZD9tBC711xipPa" ||
		res.Get("choices.0.finish_reason").String() != "tool_calls" || res.Get("usage.prompt_tokens").Int() != 445 {
		t.Errorf("response = %s", out)
	}

	// The thinking stream.
	its = fixtures.Cassette(t, "fixtures/pydantic-ai/tests/models/cassettes/test_anthropic/test_anthropic_model_thinking_part_stream.yaml")
	gw, up = anthropicGateway(t, sseReply(its[0].RespBody))
	resp, out = post(t, gw.URL, "/v1/chat/completions", `{"model":"claude","stream":true,"max_tokens":4096,"thinking":{"type":"enabled","budget_tokens":1024},"messages":[{"role":"user","content":"How do I cross the street?"}]}`)
	if resp.StatusCode != 200 {
		t.Fatalf("%d %s", resp.StatusCode, out)
	}
	if got := gjson.GetBytes(up.Requests()[0].Body, "thinking").Raw; canon(got) != canon(gjson.GetBytes(its[0].ReqBody, "thinking").Raw) {
		t.Errorf("thinking sent = %s", got)
	}
	var reasoning, text strings.Builder
	for _, d := range sseData(out) {
		reasoning.WriteString(gjson.Get(d, "choices.0.delta.reasoning_content").String())
		text.WriteString(gjson.Get(d, "choices.0.delta.content").String())
	}
	if !strings.HasPrefix(reasoning.String(), "This is a straightforward question about pedestrian safety.") ||
		!strings.HasPrefix(text.String(), "Here are the basic steps for safely crossing the street:") {
		t.Errorf("reasoning %q\ntext %q", reasoning.String(), text.String())
	}
}

func canon(raw string) string {
	var v any
	if json.Unmarshal([]byte(raw), &v) != nil {
		return raw
	}
	b, _ := json.Marshal(v)
	return string(b)
}
