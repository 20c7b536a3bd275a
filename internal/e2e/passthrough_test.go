package e2e

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/anthropics/anthropic-sdk-go/v2"
	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/responses"
	"github.com/tidwall/gjson"

	"github.com/switchboard-gw/switchboard/internal/fixtures"
	"github.com/switchboard-gw/switchboard/internal/mock"
	"github.com/switchboard-gw/switchboard/internal/tokens"
)

// Anthropic Messages to an Anthropic deployment is a pass-through: the
// upstream gets the client's bytes with only the model changed (and the
// client's anthropic-beta header), the client gets Anthropic's bytes.
func TestMessagesPassThrough(t *testing.T) {
	jsonBody := fixtures.Read(t, anthropicFixtures+"anthropic-text.json")
	gw, up := anthropicGateway(t, jsonReply(jsonBody))
	body := `{"model":"claude","max_tokens":64,"system":[{"type":"text","text":"Be terse.","cache_control":{"type":"ephemeral","ttl":"1h"}}],
	  "messages":[{"role":"user","content":"Hello"}],"top_k":5,"thinking":{"type":"enabled","budget_tokens":1024}}`
	resp, out := post(t, gw.URL, "/v1/messages", body, "anthropic-beta", "extended-cache-ttl-2025-04-11")
	if resp.StatusCode != 200 || string(out) != string(jsonBody) {
		t.Fatalf("%d: answer changed on the way:\n%s", resp.StatusCode, out)
	}
	got := up.Requests()[0]
	if want := strings.Replace(body, `"claude"`, `"claude-sonnet-4-5"`, 1); string(got.Body) != want {
		t.Errorf("upstream got\n%s\nwant\n%s", got.Body, want)
	}
	if got.Header.Get("anthropic-beta") != "extended-cache-ttl-2025-04-11" || got.Header.Get("x-api-key") != "ant-key" {
		t.Errorf("headers = %v", got.Header)
	}
	if rec := gw.nextRecord(t); rec.Usage.Input != 12 || rec.Usage.Output != 29 {
		t.Errorf("usage recorded = %+v", rec.Usage)
	}

	// Streams: every recorded event reaches the Anthropic SDK as sent.
	for _, file := range []string{"anthropic-text.chunks.txt", "anthropic-tool-no-args.chunks.txt", "anthropic-clear-thinking.1.chunks.txt"} {
		t.Run(file, func(t *testing.T) {
			lines := fixtures.ChunkLines(t, anthropicFixtures+file)
			gw, _ := anthropicGateway(t, sseReply(fixtures.AnthropicSSE(lines)))
			resp, out := post(t, gw.URL, "/v1/messages", `{"model":"claude","max_tokens":64,"stream":true,"messages":[{"role":"user","content":"hi"}]}`)
			if resp.StatusCode != 200 {
				t.Fatalf("%d %s", resp.StatusCode, out)
			}
			if got := sseData(out); strings.Join(got, "\n") != strings.Join(lines, "\n") {
				t.Errorf("events changed:\n got %d\nwant %d", len(got), len(lines))
			}
			client := anthropicSDK(gw.URL)
			s := client.Messages.NewStreaming(context.Background(), anthropic.MessageNewParams{Model: "claude", MaxTokens: 64,
				Messages: []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock("hi"))}})
			acc := anthropic.Message{}
			for s.Next() {
				acc.Accumulate(s.Current())
			}
			if err := s.Err(); err != nil || acc.ID == "" || acc.StopReason == "" {
				t.Errorf("SDK: %v %+v", err, acc)
			}
		})
	}
	// An error event from Anthropic reaches the client as an error event.
	gw, _ = anthropicGateway(t, sseReply([]byte("event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"m\",\"usage\":{\"input_tokens\":1}}}\n\nevent: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\",\"message\":\"Overloaded\"}}\n\n")))
	resp, out = post(t, gw.URL, "/v1/messages", `{"model":"claude","max_tokens":64,"stream":true,"messages":[{"role":"user","content":"hi"}]}`)
	if data := sseData(out); resp.StatusCode != 200 || !strings.Contains(data[len(data)-1], "overloaded_error") {
		t.Errorf("error event: %s", out)
	}
}

// Responses to an OpenAI deployment is a pass-through too.
func TestResponsesPassThrough(t *testing.T) {
	const dir = "fixtures/vercel-ai/packages/openai/src/responses/__fixtures__/"
	body := fixtures.Read(t, dir+"parallel-tool-call-wrapper.1.json")
	gw := openAIGateway(t, jsonReply(body), "gpt-5.4")
	req := `{"model":"gpt","input":[{"role":"user","content":"weather?"}],"store":false,"reasoning":{"effort":"low"}}`
	resp, out := post(t, gw.URL, "/v1/responses", req)
	if resp.StatusCode != 200 || string(out) != string(body) {
		t.Fatalf("%d: answer changed:\n%s", resp.StatusCode, out)
	}
	lines := fixtures.ChunkLines(t, dir+"parallel-tool-call-wrapper.1.chunks.txt")
	var sse strings.Builder
	for _, l := range lines {
		sse.WriteString("event: " + gjson.Get(l, "type").String() + "\ndata: " + l + "\n\n")
	}
	gw2, up := openAIGatewayWithUpstream(t, fixtures.Reply{Header: http.Header{"Content-Type": {"text/event-stream"}}, Body: []byte(sse.String())}, "gpt-5.4")
	resp, out = post(t, gw2.URL, "/v1/responses", `{"model":"gpt","stream":true,"input":"weather?"}`)
	if got := sseData(out); resp.StatusCode != 200 || strings.Join(got, "\n") != strings.Join(lines, "\n") {
		t.Errorf("events changed: %d\n%s", resp.StatusCode, out)
	}
	if want := `{"model":"gpt-5.4","stream":true,"input":"weather?"}`; string(up.Requests()[0].Body) != want || up.Requests()[0].Path != "/responses" {
		t.Errorf("upstream got %s %s", up.Requests()[0].Path, up.Requests()[0].Body)
	}
	// openai-node's recorded Responses streams.
	for name, raw := range fixtures.JestSnapshots(t, "fixtures/openai-node/ResponseStream.test.ts.snap") {
		gw, _ := openAIGatewayWithUpstream(t, fixtures.Reply{Header: http.Header{"Content-Type": {"text/event-stream"}}, Body: []byte(raw)}, "gpt-4o")
		resp, out := post(t, gw.URL, "/v1/responses", `{"model":"gpt","stream":true,"input":"hi"}`)
		want := sseData([]byte(raw))
		if want[len(want)-1] == "[DONE]" {
			want = want[:len(want)-1]
		}
		if got := sseData(out); resp.StatusCode != 200 || strings.Join(got, "\n") != strings.Join(want, "\n") {
			t.Errorf("%s: events changed:\n%s", name, out)
		}
		// The SDK reads the relayed stream to the same final response.
		client := sdk(gw.URL)
		s := client.Responses.NewStreaming(context.Background(), responses.ResponseNewParams{Model: "gpt", Input: responses.ResponseNewParamsInputUnion{OfString: openai.String("hi")}})
		var final responses.Response
		for s.Next() {
			if s.Current().Type == "response.completed" {
				final = s.Current().Response
			}
		}
		if s.Err() != nil || final.ID != gjson.Get(want[len(want)-1], "response.id").String() {
			t.Errorf("%s: SDK: %v %s", name, s.Err(), final.RawJSON())
		}
	}
}

// count_tokens: exact from Anthropic, estimated offline for other models.
func TestCountTokens(t *testing.T) {
	_, up := startMock(t, mock.Options{})
	gw := startGateway(t, mockConfig, up)
	client := anthropicSDK(gw.URL)
	params := anthropic.MessageCountTokensParams{Model: "claude", Messages: []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock("How many tokens is this sentence?"))}}
	n, err := client.Messages.CountTokens(context.Background(), params)
	if err != nil || n.InputTokens != mock.CountTokens("How many tokens is this sentence?")+3 {
		t.Errorf("anthropic count = %+v, %v", n, err)
	}
	params.Model = "gpt"
	var raw *http.Response
	n, err = client.Messages.CountTokens(context.Background(), params, aoptionResponseInto(&raw))
	if err != nil || n.InputTokens != tokens.Count("How many tokens is this sentence?")+3 || raw.Header.Get("x-switchboard-estimated") != "true" {
		t.Errorf("estimated count = %+v, %v", n, err)
	}
	resp, out := post(t, gw.URL, "/v1/messages/count_tokens", `{"model":"nope","messages":[]}`)
	if resp.StatusCode != 404 || gjson.GetBytes(out, "error.type").String() != "not_found_error" {
		t.Errorf("%d %s", resp.StatusCode, out)
	}
}
