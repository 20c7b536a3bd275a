package e2e

import (
	"context"
	"strings"
	"testing"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/responses"
	"github.com/tidwall/gjson"

	"github.com/switchboard-gw/switchboard/internal/mock"
	"github.com/switchboard-gw/switchboard/internal/spectest"
)

// The OpenAI SDK's Responses client works against every provider: text,
// streams with the full event sequence, and function calls round-tripped
// through stateless input.
func TestResponsesWithOpenAISDK(t *testing.T) {
	_, up := startMock(t, mock.Options{})
	gw := startGateway(t, mockConfig, up)
	client := sdk(gw.URL)
	ctx := context.Background()
	for _, c := range []struct{ model, upstream string }{
		{"gpt", "mock-gpt"}, {"claude", "mock-claude"}, {"gemini", "mock-gemini"},
		{"bedrock", "anthropic.claude-3-5-haiku-20241022-v1:0"}, {"cohere", "command-a"},
	} {
		t.Run(c.model, func(t *testing.T) {
			params := responses.ResponseNewParams{
				Model:        c.model,
				Instructions: openai.String("Be brief."),
				Input:        responses.ResponseNewParamsInputUnion{OfString: openai.String("Hello there")},
			}
			res, err := client.Responses.New(ctx, params)
			if err != nil {
				t.Fatal(err)
			}
			want := mock.Reply(c.upstream, "Hello there")
			if res.OutputText() != want || res.Status != "completed" || res.Usage.OutputTokens != int64(len(mock.Pieces(want))) || res.Usage.InputTokens == 0 {
				t.Errorf("response = %s", res.RawJSON())
			}
			spectest.Validate(t, "Response", []byte(res.RawJSON()))

			stream := client.Responses.NewStreaming(ctx, params)
			var types []string
			var text strings.Builder
			seq := int64(-1)
			var final responses.Response
			for stream.Next() {
				ev := stream.Current()
				spectest.Validate(t, "ResponseStreamEvent", []byte(ev.RawJSON()))
				types = append(types, ev.Type)
				if ev.SequenceNumber != seq+1 {
					t.Errorf("sequence_number %d after %d", ev.SequenceNumber, seq)
				}
				seq = ev.SequenceNumber
				if ev.Type == "response.output_text.delta" {
					text.WriteString(ev.Delta)
				}
				if ev.Type == "response.completed" {
					final = ev.Response
				}
			}
			if err := stream.Err(); err != nil {
				t.Fatal(err)
			}
			wantTypes := "response.created response.in_progress response.output_item.added response.content_part.added response.output_text.delta"
			if !strings.HasPrefix(strings.Join(types, " "), wantTypes) || types[len(types)-1] != "response.completed" {
				t.Errorf("events = %v", types)
			}
			for _, end := range []string{"response.output_text.done", "response.content_part.done", "response.output_item.done"} {
				if !strings.Contains(strings.Join(types, " "), end) {
					t.Errorf("no %s in %v", end, types)
				}
			}
			if text.String() != want || final.OutputText() != want || final.Usage.OutputTokens == 0 {
				t.Errorf("streamed %q, final %s", text.String(), final.RawJSON())
			}

			// A function call, then its output sent back statelessly.
			tools := []responses.ToolUnionParam{responses.ToolParamOfFunction("get_weather",
				map[string]any{"type": "object", "properties": map[string]any{"city": map[string]any{"type": "string"}}, "required": []string{"city"}}, false)}
			res, err = client.Responses.New(ctx, responses.ResponseNewParams{Model: c.model, Tools: tools,
				Input: responses.ResponseNewParamsInputUnion{OfString: openai.String("Weather in Oslo?")}})
			if err != nil {
				t.Fatal(err)
			}
			var call responses.ResponseFunctionToolCall
			for _, item := range res.Output {
				if item.Type == "function_call" {
					call = item.AsFunctionCall()
				}
			}
			if call.Name != "get_weather" || call.Arguments != `{"city":"example"}` || call.CallID == "" {
				t.Fatalf("output = %s", res.RawJSON())
			}
			input := responses.ResponseInputParam{
				responses.ResponseInputItemParamOfMessage("Weather in Oslo?", responses.EasyInputMessageRoleUser),
				responses.ResponseInputItemParamOfFunctionCall(call.Arguments, call.CallID, call.Name),
				responses.ResponseInputItemParamOfFunctionCallOutput("snow, -3C"),
			}
			input[2].OfFunctionCallOutput.CallID = openai.String(call.CallID)
			res, err = client.Responses.New(ctx, responses.ResponseNewParams{Model: c.model, Tools: tools,
				Input: responses.ResponseNewParamsInputUnion{OfInputItemList: input}})
			if err != nil {
				t.Fatal(err)
			}
			if res.OutputText() != mock.ToolResultReply([]string{"snow, -3C"}) {
				t.Errorf("after the function output: %s", res.RawJSON())
			}
		})
	}
}

// The Responses API here is stateless, and says so.
func TestResponsesRefusesStoredState(t *testing.T) {
	m, up := startMock(t, mock.Options{})
	gw := startGateway(t, mockConfig, up)
	for _, body := range []string{
		`{"model":"gpt","input":"hi","previous_response_id":"resp_123"}`,
		`{"model":"gpt","input":"hi","tools":[{"type":"web_search"}]}`,
		`{"model":"gpt"}`,
		`{"model":"gpt","input":[]}`,
		`{"input":"hi"}`,
	} {
		before := m.Requests()
		resp, out := post(t, gw.URL, "/v1/responses", body)
		if resp.StatusCode != 400 || gjson.GetBytes(out, "error.message").String() == "" {
			t.Errorf("%s: %d %s", body, resp.StatusCode, out)
		}
		if m.Requests() != before {
			t.Errorf("%s reached the upstream", body)
		}
	}
	// A broken stream ends with an error event the SDK raises.
	client := sdk(gw.URL)
	s := client.Responses.NewStreaming(context.Background(), responses.ResponseNewParams{Model: "gpt",
		Input: responses.ResponseNewParamsInputUnion{OfString: openai.String("[[mock:cut-after=3]] hi")}})
	for s.Next() {
	}
	if s.Err() == nil {
		t.Error("the SDK saw a complete stream")
	}
}
