package e2e

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/anthropics/anthropic-sdk-go/v2"
	aoption "github.com/anthropics/anthropic-sdk-go/v2/option"
	"github.com/tidwall/gjson"

	"github.com/switchboard-gw/switchboard/internal/mock"
)

func anthropicSDK(url string) anthropic.Client {
	return anthropic.NewClient(aoption.WithBaseURL(url), aoption.WithAPIKey(masterKey), aoption.WithMaxRetries(0))
}

var cityTool = anthropic.ToolUnionParam{OfTool: &anthropic.ToolParam{
	Name:        "get_weather",
	Description: anthropic.String("Current weather"),
	InputSchema: anthropic.ToolInputSchemaParam{Properties: map[string]any{"city": map[string]any{"type": "string"}}, Required: []string{"city"}},
}}

// The Anthropic SDK talks to /v1/messages; OpenAI-compatible and Anthropic
// deployments answer it, JSON and stream, text and tools.
func TestMessagesWithAnthropicSDK(t *testing.T) {
	_, up := startMock(t, mock.Options{})
	gw := startGateway(t, mockConfig, up)
	client := anthropicSDK(gw.URL)
	ctx := context.Background()
	for _, c := range []struct{ model, upstream string }{{"gpt", "mock-gpt"}, {"azure-gpt", "my-deployment"}, {"claude", "mock-claude"}, {"gemini", "mock-gemini"}, {"bedrock", "anthropic.claude-3-5-haiku-20241022-v1:0"}, {"cohere", "command-a"}} {
		t.Run(c.model, func(t *testing.T) {
			params := anthropic.MessageNewParams{
				Model:     c.model,
				MaxTokens: 200,
				System:    []anthropic.TextBlockParam{{Text: "Be brief."}},
				Messages:  []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock("Hello there"))},
			}
			msg, err := client.Messages.New(ctx, params)
			if err != nil {
				t.Fatal(err)
			}
			want := mock.Reply(c.upstream, "Hello there")
			if len(msg.Content) != 1 || msg.Content[0].Text != want || msg.StopReason != "end_turn" || msg.Usage.OutputTokens != int64(len(mock.Pieces(want))) || msg.Usage.InputTokens == 0 {
				t.Errorf("message = %+v", msg)
			}

			stream := client.Messages.NewStreaming(ctx, params)
			acc := anthropic.Message{}
			for stream.Next() {
				if err := acc.Accumulate(stream.Current()); err != nil {
					t.Fatal(err)
				}
			}
			if err := stream.Err(); err != nil {
				t.Fatal(err)
			}
			if len(acc.Content) != 1 || acc.Content[0].Text != want || acc.StopReason != "end_turn" || acc.Usage.OutputTokens != int64(len(mock.Pieces(want))) {
				t.Errorf("streamed message = %+v", acc)
			}

			// Tools: a call, then its result back.
			toolParams := anthropic.MessageNewParams{
				Model: c.model, MaxTokens: 200, Tools: []anthropic.ToolUnionParam{cityTool},
				Messages: []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock("Weather in Oslo?"))},
			}
			for _, streaming := range []bool{false, true} {
				var got anthropic.Message
				if streaming {
					s := client.Messages.NewStreaming(ctx, toolParams)
					for s.Next() {
						got.Accumulate(s.Current())
					}
					if err := s.Err(); err != nil {
						t.Fatal(err)
					}
				} else {
					m, err := client.Messages.New(ctx, toolParams)
					if err != nil {
						t.Fatal(err)
					}
					got = *m
				}
				// Some providers think aloud first (Cohere's tool plan arrives
				// as a thinking block); the tool use is the last block.
				use := got.Content[len(got.Content)-1]
				if got.StopReason != "tool_use" || use.Type != "tool_use" ||
					use.Name != "get_weather" || string(use.Input) != `{"city":"example"}` || use.ID == "" {
					t.Fatalf("stream=%v tool use = %+v", streaming, got.Content)
				}
				followUp := toolParams
				followUp.Messages = append(append([]anthropic.MessageParam{}, toolParams.Messages...), got.ToParam(),
					anthropic.NewUserMessage(anthropic.NewToolResultBlock(use.ID, "rainy, 7C", false)))
				final, err := client.Messages.New(ctx, followUp)
				if err != nil {
					t.Fatal(err)
				}
				if final.Content[0].Text != mock.ToolResultReply([]string{"rainy, 7C"}) {
					t.Errorf("after the tool result: %+v", final.Content)
				}
			}
		})
	}
}

// Errors on /v1/messages come in Anthropic's shape; the SDK reads them.
func TestMessagesErrors(t *testing.T) {
	m, up := startMock(t, mock.Options{})
	gw := startGateway(t, mockConfig, up)
	for _, c := range []struct {
		name, body string
		header     []string
		status     int
		typ        string
	}{
		{"bad key", `{"model":"gpt","max_tokens":5,"messages":[{"role":"user","content":"hi"}]}`, []string{"Authorization", "", "x-api-key", "sk-wrong"}, 401, "authentication_error"},
		{"unknown model", `{"model":"nope","max_tokens":5,"messages":[{"role":"user","content":"hi"}]}`, nil, 404, "not_found_error"},
		{"no max_tokens", `{"model":"gpt","messages":[{"role":"user","content":"hi"}]}`, nil, 400, "invalid_request_error"},
		{"malformed", `{"model":`, nil, 400, "invalid_request_error"},
		{"bad role", `{"model":"gpt","max_tokens":5,"messages":[{"role":"system","content":"hi"}]}`, nil, 400, "invalid_request_error"},
		{"unknown parameter", `{"model":"gpt","max_tokens":5,"top_k":3,"messages":[{"role":"user","content":"hi"}]}`, nil, 400, "invalid_request_error"},
		{"upstream 429", `{"model":"gpt","max_tokens":5,"messages":[{"role":"user","content":"[[mock:status=429]]"}]}`, nil, 429, "rate_limit_error"},
	} {
		t.Run(c.name, func(t *testing.T) {
			before := m.Requests()
			resp, out := post(t, gw.URL, "/v1/messages", c.body, c.header...)
			if resp.StatusCode != c.status || gjson.GetBytes(out, "type").String() != "error" || gjson.GetBytes(out, "error.type").String() != c.typ ||
				gjson.GetBytes(out, "error.message").String() == "" {
				t.Errorf("%d %s", resp.StatusCode, out)
			}
			if c.status != 429 && m.Requests() != before {
				t.Error("reached the upstream")
			}
		})
	}
	client := anthropicSDK(gw.URL)
	_, err := client.Messages.New(context.Background(), anthropic.MessageNewParams{Model: "nope", MaxTokens: 5,
		Messages: []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock("hi"))}})
	var apiErr *anthropic.Error
	if !errors.As(err, &apiErr) || apiErr.StatusCode != http.StatusNotFound {
		t.Errorf("SDK error = %v", err)
	}
	// A stream that breaks ends with an error event the SDK raises.
	s := client.Messages.NewStreaming(context.Background(), anthropic.MessageNewParams{Model: "gpt", MaxTokens: 50,
		Messages: []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock("[[mock:cut-after=3]] hi"))}})
	for s.Next() {
	}
	if s.Err() == nil || !strings.Contains(s.Err().Error(), "stream") {
		t.Errorf("broken stream error = %v", s.Err())
	}
}

func aoptionResponseInto(dst **http.Response) aoption.RequestOption {
	return aoption.WithResponseInto(dst)
}
