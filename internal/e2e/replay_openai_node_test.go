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

// openai-node's recorded streams (logprobs, refusals, usage, a stray
// leading newline) reach the client chunk for chunk.
func TestReplayOpenAINodeStreams(t *testing.T) {
	snaps := fixtures.JestSnapshots(t, "fixtures/openai-node/ChatCompletionStream.test.ts.snap")
	if len(snaps) < 4 {
		t.Fatalf("read %d snapshots", len(snaps))
	}
	for name, raw := range snaps {
		t.Run(name, func(t *testing.T) {
			gw := openAIGateway(t, fixtures.Reply{Header: http.Header{"Content-Type": {"text/event-stream"}}, Body: []byte(raw)}, "gpt-4o-2024-08-06")
			resp, out := post(t, gw.URL, "/v1/chat/completions", `{"model":"gpt","stream":true,"stream_options":{"include_usage":true},"messages":[{"role":"user","content":"hi"}]}`)
			if resp.StatusCode != 200 {
				t.Fatalf("%d %s", resp.StatusCode, out)
			}
			want, got := sseData([]byte(raw)), sseData(out)
			if strings.Join(got, "\n") != strings.Join(want, "\n") {
				t.Fatalf("stream changed:\n got %q\nwant %q", got, want)
			}
			for _, d := range got[:len(got)-1] {
				spectest.Validate(t, spectest.ChatChunk, []byte(d))
			}
			// And the SDK reassembles the same message.
			client := sdk(gw.URL)
			stream := client.Chat.Completions.NewStreaming(context.Background(), openai.ChatCompletionNewParams{
				Model: "gpt", Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("hi")},
				StreamOptions: openai.ChatCompletionStreamOptionsParam{IncludeUsage: openai.Bool(true)}})
			acc := openai.ChatCompletionAccumulator{}
			for stream.Next() {
				acc.AddChunk(stream.Current())
			}
			if err := stream.Err(); err != nil {
				t.Fatal(err)
			}
			var content, refusal strings.Builder
			for _, d := range want {
				content.WriteString(gjson.Get(d, "choices.0.delta.content").String())
				refusal.WriteString(gjson.Get(d, "choices.0.delta.refusal").String())
			}
			m := acc.Choices[0].Message
			if m.Content != content.String() || m.Refusal != refusal.String() || acc.Usage.TotalTokens == 0 {
				t.Errorf("content %q refusal %q usage %+v", m.Content, m.Refusal, acc.Usage)
			}
		})
	}
}

// openai-node's recorded structured-output answers pass through unchanged.
func TestReplayOpenAINodeParsed(t *testing.T) {
	snaps := fixtures.JestSnapshots(t, "fixtures/openai-node/parser.test.ts.snap")
	if len(snaps) == 0 {
		t.Fatal("no snapshots")
	}
	for name, raw := range snaps {
		t.Run(name, func(t *testing.T) {
			gw := openAIGateway(t, fixtures.Reply{Header: http.Header{"Content-Type": {"application/json"}}, Body: []byte(raw)}, "gpt-4o-2024-08-06")
			resp, out := post(t, gw.URL, "/v1/chat/completions", `{"model":"gpt","response_format":{"type":"json_schema","json_schema":{"name":"x","schema":{"type":"object"}}},"messages":[{"role":"user","content":"hi"}]}`)
			if resp.StatusCode != 200 || string(out) != raw {
				t.Fatalf("%d: answer changed on the way:\n%s", resp.StatusCode, out)
			}
			spectest.Validate(t, spectest.ChatResponse, out)
		})
	}
}
