package e2e

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/openai/openai-go/v3"
	"github.com/tidwall/gjson"

	"github.com/switchboard-gw/switchboard/internal/fixtures"
)

// Recorded streams of OpenAI-compatible providers (Groq's x_groq usage,
// Mistral's incremental tool calls, xAI's reasoning usage, OpenAI itself)
// pass through chunk for chunk through the matching preset, and the SDK
// reassembles them.
func TestReplayOpenAICompatibleStreams(t *testing.T) {
	const pkgs = "fixtures/vercel-ai/packages/"
	for _, c := range []struct{ typ, file string }{
		{"groq", "groq/src/__fixtures__/groq-tool-call.chunks.txt"},
		{"mistral", "mistral/src/__fixtures__/mistral-text.chunks.txt"},
		{"mistral", "mistral/src/__fixtures__/mistral-tool-call.chunks.txt"},
		{"mistral", "mistral/src/__fixtures__/mistral-incremental-tool-call.chunks.txt"},
		{"xai", "openai-compatible/src/chat/__fixtures__/xai-tool-call.chunks.txt"},
		{"openai", "openai/src/chat/__fixtures__/openai-text.chunks.txt"},
	} {
		t.Run(c.file, func(t *testing.T) {
			lines := fixtures.ChunkLines(t, pkgs+c.file)
			up := fixtures.Serve(t, fixtures.Reply{Header: http.Header{"Content-Type": {"text/event-stream"}}, Body: fixtures.OpenAISSE(lines)})
			gw := startGateway(t, `
master_key: ${MASTER}
providers:
  - name: p
    type: `+c.typ+`
    base_url: ${UPSTREAM}/v1
    api_key: k
models:
  - name: m
    deployments: [{provider: p, model: recorded}]
`, up.URL)
			resp, out := post(t, gw.URL, "/v1/chat/completions", `{"model":"m","stream":true,"stream_options":{"include_usage":true},"messages":[{"role":"user","content":"hi"}]}`)
			if resp.StatusCode != 200 {
				t.Fatalf("%d %s", resp.StatusCode, out)
			}
			got := sseData(out)
			if strings.Join(got[:len(got)-1], "\n") != strings.Join(lines, "\n") || got[len(got)-1] != "[DONE]" {
				t.Errorf("stream changed on the way")
			}
			var usage gjson.Result
			var text, args strings.Builder
			for _, l := range lines {
				if u := gjson.Get(l, "usage"); u.IsObject() {
					usage = u
				}
				text.WriteString(gjson.Get(l, "choices.0.delta.content").String())
				args.WriteString(gjson.Get(l, "choices.0.delta.tool_calls.0.function.arguments").String())
			}
			rec := gw.nextRecord(t)
			if usage.Exists() && (rec.Usage.Input != usage.Get("prompt_tokens").Int() || rec.Usage.Output != usage.Get("completion_tokens").Int()) {
				t.Errorf("recorded usage %+v, stream said %s", rec.Usage, usage.Raw)
			}
			client := sdk(gw.URL)
			s := client.Chat.Completions.NewStreaming(context.Background(), openai.ChatCompletionNewParams{Model: "m",
				Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("hi")}})
			acc := openai.ChatCompletionAccumulator{}
			for s.Next() {
				acc.AddChunk(s.Current())
			}
			if err := s.Err(); err != nil {
				t.Fatal(err)
			}
			m := acc.Choices[0].Message
			gotArgs := ""
			if len(m.ToolCalls) > 0 {
				gotArgs = m.ToolCalls[0].Function.Arguments
			}
			if m.Content != text.String() || gotArgs != args.String() {
				t.Errorf("SDK read content %q args %q; want %q %q", m.Content, gotArgs, text.String(), args.String())
			}
		})
	}
}

// Azure's recorded Responses streams pass through the Responses API.
func TestReplayAzureResponsesStreams(t *testing.T) {
	for _, file := range []string{"azure-text.1.chunks.txt", "azure-tool-call.1.chunks.txt"} {
		t.Run(file, func(t *testing.T) {
			lines := fixtures.ChunkLines(t, "fixtures/vercel-ai/packages/azure/src/__fixtures__/"+file)
			var sse strings.Builder
			for _, l := range lines {
				sse.WriteString("event: " + gjson.Get(l, "type").String() + "\ndata: " + l + "\n\n")
			}
			gw := openAIGateway(t, fixtures.Reply{Header: http.Header{"Content-Type": {"text/event-stream"}}, Body: []byte(sse.String())}, "gpt-4.1-mini")
			resp, out := post(t, gw.URL, "/v1/responses", `{"model":"gpt","stream":true,"input":"hi"}`)
			if got := sseData(out); resp.StatusCode != 200 || strings.Join(got, "\n") != strings.Join(lines, "\n") {
				t.Errorf("events changed: %d", resp.StatusCode)
			}
			if rec := gw.nextRecord(t); rec.Usage.Output == 0 {
				t.Errorf("usage not read from response.completed: %+v", rec.Usage)
			}
		})
	}
}
