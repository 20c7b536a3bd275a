package e2e

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"

	"github.com/switchboard-gw/switchboard/internal/mock"
	"github.com/switchboard-gw/switchboard/internal/spectest"
)

var weatherTool = openai.ChatCompletionFunctionTool(openai.FunctionDefinitionParam{
	Name:        "get_weather",
	Description: openai.String("Current weather for a city"),
	Parameters: openai.FunctionParameters{
		"type":       "object",
		"properties": map[string]any{"city": map[string]any{"type": "string"}, "unit": map[string]any{"type": "string", "enum": []string{"celsius", "fahrenheit"}}},
		"required":   []string{"city", "unit"},
	},
})

var timeTool = openai.ChatCompletionFunctionTool(openai.FunctionDefinitionParam{
	Name:       "get_time",
	Parameters: openai.FunctionParameters{"type": "object", "properties": map[string]any{"zone": map[string]any{"type": "string"}}, "required": []string{"zone"}},
})

// Every model group behind the mock answers the same prompt with the
// mock's deterministic reply, through the SDK, JSON and stream alike.
func TestChatThroughEveryProviderFormat(t *testing.T) {
	m, up := startMock(t, mock.Options{})
	gw := startGateway(t, mockConfig, up)
	client := sdk(gw.URL)
	ctx := context.Background()
	cases := []struct{ model, upstreamModel, provider string }{
		{"gpt", "mock-gpt", "oai"},
		{"azure-gpt", "my-deployment", "az"},
		{"claude", "mock-claude", "claude"},
		{"gemini", "mock-gemini", "gem"},
		{"bedrock", "anthropic.claude-3-5-haiku-20241022-v1:0", "aws"},
		{"cohere", "command-a", "co"},
	}
	for _, c := range cases {
		t.Run(c.model+"/json", func(t *testing.T) {
			var raw *http.Response
			res, err := client.Chat.Completions.New(ctx, openai.ChatCompletionNewParams{
				Model:    c.model,
				Messages: []openai.ChatCompletionMessageParamUnion{openai.SystemMessage("Be brief."), openai.UserMessage("Hello there")},
			}, option.WithResponseInto(&raw))
			if err != nil {
				t.Fatal(err)
			}
			want := mock.Reply(c.upstreamModel, "Hello there")
			if got := res.Choices[0].Message.Content; got != want {
				t.Errorf("content = %q, want %q", got, want)
			}
			if res.Choices[0].FinishReason != "stop" {
				t.Errorf("finish_reason = %q", res.Choices[0].FinishReason)
			}
			if res.Usage.CompletionTokens != int64(len(mock.Pieces(want))) || res.Usage.PromptTokens == 0 ||
				res.Usage.TotalTokens != res.Usage.PromptTokens+res.Usage.CompletionTokens {
				t.Errorf("usage = %+v", res.Usage)
			}
			spectest.Validate(t, spectest.ChatResponse, []byte(res.RawJSON()))
			h := raw.Header
			if h.Get("x-switchboard-provider") != c.provider || h.Get("x-switchboard-model") != c.upstreamModel ||
				h.Get("x-switchboard-attempts") != "1" || h.Get("x-switchboard-cache") == "" ||
				!strings.HasPrefix(h.Get("x-request-id"), "req_") || !strings.Contains(h.Get("server-timing"), "gateway;dur=") ||
				!strings.Contains(h.Get("server-timing"), "upstream;dur=") {
				t.Errorf("headers = %v", h)
			}
			rec := gw.nextRecord(t)
			if rec.Status != 200 || rec.Usage.Output != res.Usage.CompletionTokens || rec.Provider != c.provider {
				t.Errorf("record = %+v", rec)
			}
		})
		for _, withUsage := range []bool{true, false} {
			name := c.model + "/stream"
			if withUsage {
				name += "+usage"
			}
			t.Run(name, func(t *testing.T) {
				params := openai.ChatCompletionNewParams{
					Model:    c.model,
					Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("Stream to me")},
				}
				if withUsage {
					params.StreamOptions = openai.ChatCompletionStreamOptionsParam{IncludeUsage: openai.Bool(true)}
				}
				stream := client.Chat.Completions.NewStreaming(ctx, params)
				acc := openai.ChatCompletionAccumulator{}
				chunks := 0
				for stream.Next() {
					chunk := stream.Current()
					spectest.Validate(t, spectest.ChatChunk, []byte(chunk.RawJSON()))
					acc.AddChunk(chunk)
					chunks++
				}
				if err := stream.Err(); err != nil {
					t.Fatal(err)
				}
				want := mock.Reply(c.upstreamModel, "Stream to me")
				if got := acc.Choices[0].Message.Content; got != want {
					t.Errorf("content = %q, want %q", got, want)
				}
				if acc.Choices[0].FinishReason != "stop" {
					t.Errorf("finish_reason = %q", acc.Choices[0].FinishReason)
				}
				if chunks < len(mock.Pieces(want)) {
					t.Errorf("got %d chunks: the stream was not passed through chunk by chunk", chunks)
				}
				wantTokens := int64(len(mock.Pieces(want)))
				if withUsage && acc.Usage.CompletionTokens != wantTokens {
					t.Errorf("usage = %+v, want %d completion tokens", acc.Usage, wantTokens)
				}
				if !withUsage && acc.Usage.TotalTokens != 0 {
					t.Errorf("usage chunk reached a client that did not ask for it: %+v", acc.Usage)
				}
				// The gateway counts usage either way.
				if rec := gw.nextRecord(t); rec.Usage.Output != wantTokens || !rec.Stream || rec.TTFT <= 0 {
					t.Errorf("record = %+v, want %d output tokens", rec, wantTokens)
				}
			})
		}
	}
	if m.Requests() != int64(len(cases)*3) {
		t.Errorf("mock saw %d requests, want %d", m.Requests(), len(cases)*3)
	}
}

// Tools, parallel tool calls, forced tool_choice and tool results, through
// the OpenAI fast path and the Anthropic translation, JSON and stream.
func TestToolCalls(t *testing.T) {
	_, up := startMock(t, mock.Options{})
	gw := startGateway(t, mockConfig, up)
	client := sdk(gw.URL)
	ctx := context.Background()
	for _, model := range []string{"gpt", "claude", "gemini", "bedrock", "cohere"} {
		for _, stream := range []bool{false, true} {
			name := model + map[bool]string{false: "/json", true: "/stream"}[stream]
			t.Run(name, func(t *testing.T) {
				call := func(p openai.ChatCompletionNewParams) openai.ChatCompletion {
					t.Helper()
					if !stream {
						res, err := client.Chat.Completions.New(ctx, p)
						if err != nil {
							t.Fatal(err)
						}
						spectest.Validate(t, spectest.ChatResponse, []byte(res.RawJSON()))
						return *res
					}
					s := client.Chat.Completions.NewStreaming(ctx, p)
					acc := openai.ChatCompletionAccumulator{}
					for s.Next() {
						spectest.Validate(t, spectest.ChatChunk, []byte(s.Current().RawJSON()))
						acc.AddChunk(s.Current())
					}
					if err := s.Err(); err != nil {
						t.Fatal(err)
					}
					return acc.ChatCompletion
				}
				// One tool, chosen by the model.
				res := call(openai.ChatCompletionNewParams{
					Model:    model,
					Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("What is the weather in Paris?")},
					Tools:    []openai.ChatCompletionToolUnionParam{weatherTool, timeTool},
				})
				msg := res.Choices[0].Message
				if res.Choices[0].FinishReason != "tool_calls" || len(msg.ToolCalls) != 1 {
					t.Fatalf("finish=%q tool_calls=%+v", res.Choices[0].FinishReason, msg.ToolCalls)
				}
				tc := msg.ToolCalls[0]
				if tc.Function.Name != "get_weather" || tc.Function.Arguments != `{"city":"example","unit":"celsius"}` || tc.ID == "" {
					t.Errorf("tool call = %+v", tc)
				}

				// Both tools named: parallel calls, in order, each complete.
				res = call(openai.ChatCompletionNewParams{
					Model:    model,
					Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("Use get_weather and get_time for Tokyo")},
					Tools:    []openai.ChatCompletionToolUnionParam{weatherTool, timeTool},
				})
				calls := res.Choices[0].Message.ToolCalls
				if len(calls) != 2 || calls[0].Function.Name != "get_weather" || calls[1].Function.Name != "get_time" ||
					calls[1].Function.Arguments != `{"zone":"example"}` || calls[0].ID == calls[1].ID {
					t.Fatalf("parallel tool calls = %+v", calls)
				}

				// parallel_tool_calls: false keeps it to one; Gemini cannot
				// promise that and says so.
				if model == "gemini" || model == "bedrock" || model == "cohere" {
					resp, out := post(t, gw.URL, "/v1/chat/completions", `{"model":"`+model+`","parallel_tool_calls":false,"messages":[{"role":"user","content":"x"}],"tools":[{"type":"function","function":{"name":"f"}}]}`)
					if resp.StatusCode != 400 || !strings.Contains(string(out), "parallel_tool_calls") {
						t.Errorf("parallel_tool_calls=false on Gemini: %d %s", resp.StatusCode, out)
					}
				} else if res = call(openai.ChatCompletionNewParams{
					Model:             model,
					Messages:          []openai.ChatCompletionMessageParamUnion{openai.UserMessage("Use get_weather and get_time for Tokyo")},
					Tools:             []openai.ChatCompletionToolUnionParam{weatherTool, timeTool},
					ParallelToolCalls: openai.Bool(false),
				}); len(res.Choices[0].Message.ToolCalls) != 1 {
					t.Errorf("parallel_tool_calls=false gave %d calls", len(res.Choices[0].Message.ToolCalls))
				}

				// A forced tool_choice.
				res = call(openai.ChatCompletionNewParams{
					Model:      model,
					Messages:   []openai.ChatCompletionMessageParamUnion{openai.UserMessage("Anything")},
					Tools:      []openai.ChatCompletionToolUnionParam{weatherTool, timeTool},
					ToolChoice: openai.ToolChoiceOptionFunctionToolChoice(openai.ChatCompletionNamedToolChoiceFunctionParam{Name: "get_time"}),
				})
				if c := res.Choices[0].Message.ToolCalls; len(c) != 1 || c[0].Function.Name != "get_time" {
					t.Errorf("forced tool_choice gave %+v", c)
				}

				// tool_choice none: text.
				res = call(openai.ChatCompletionNewParams{
					Model:      model,
					Messages:   []openai.ChatCompletionMessageParamUnion{openai.UserMessage("Just talk")},
					Tools:      []openai.ChatCompletionToolUnionParam{weatherTool},
					ToolChoice: openai.ChatCompletionToolChoiceOptionUnionParam{OfAuto: openai.String("none")},
				})
				if len(res.Choices[0].Message.ToolCalls) != 0 || res.Choices[0].Message.Content == "" {
					t.Errorf("tool_choice none gave %+v", res.Choices[0].Message)
				}

				// Tool results go back; the model answers with them.
				res = call(openai.ChatCompletionNewParams{
					Model: model,
					Messages: []openai.ChatCompletionMessageParamUnion{
						openai.UserMessage("Use get_weather and get_time for Tokyo"),
						calledBoth(),
						openai.ToolMessage("sunny, 21C", "call_w"),
						openai.ToolMessage("09:15", "call_t"),
					},
					Tools: []openai.ChatCompletionToolUnionParam{weatherTool, timeTool},
				})
				want := mock.ToolResultReply([]string{"sunny, 21C", "09:15"})
				if got := res.Choices[0].Message.Content; got != want || res.Choices[0].FinishReason != "stop" {
					t.Errorf("after tool results: %q (%s), want %q", got, res.Choices[0].FinishReason, want)
				}
			})
		}
	}
}

func calledBoth() openai.ChatCompletionMessageParamUnion {
	return openai.ChatCompletionMessageParamUnion{OfAssistant: &openai.ChatCompletionAssistantMessageParam{
		ToolCalls: []openai.ChatCompletionMessageToolCallUnionParam{
			{OfFunction: &openai.ChatCompletionMessageFunctionToolCallParam{ID: "call_w", Function: openai.ChatCompletionMessageFunctionToolCallFunctionParam{Name: "get_weather", Arguments: `{"city":"Tokyo","unit":"celsius"}`}}},
			{OfFunction: &openai.ChatCompletionMessageFunctionToolCallParam{ID: "call_t", Function: openai.ChatCompletionMessageFunctionToolCallFunctionParam{Name: "get_time", Arguments: `{"zone":"Asia/Tokyo"}`}}},
		},
	}}
}

// The Anthropic translation carries every parameter it can, and what it
// sends is what Anthropic's API expects.
func TestAnthropicRequestTranslation(t *testing.T) {
	m, up := startMock(t, mock.Options{})
	var got []byte
	var header http.Header
	m.OnRequest = func(r *http.Request, body []byte) { got, header = body, r.Header.Clone() }
	gw := startGateway(t, mockConfig, up)
	body := `{"model":"claude","max_completion_tokens":300,"temperature":0.2,"top_p":0.9,"stop":["END"],"user":"u-1",
	  "reasoning_effort":"low","response_format":{"type":"json_schema","json_schema":{"name":"answer","schema":{"type":"object","properties":{"answer":{"type":"string"}},"required":["answer"]}}},
	  "messages":[{"role":"system","content":"Be terse."},{"role":"developer","content":"JSON only."},
	  {"role":"user","content":[{"type":"text","text":"What is in this image?"},{"type":"image_url","image_url":{"url":"data:image/png;base64,iVBORw0KGgo="}},{"type":"image_url","image_url":{"url":"https://example.com/cat.jpg"}}]}]}`
	resp, out := post(t, gw.URL, "/v1/chat/completions", body)
	if resp.StatusCode != 200 {
		t.Fatalf("status %d: %s", resp.StatusCode, out)
	}
	var sent map[string]any
	if err := json.Unmarshal(got, &sent); err != nil {
		t.Fatal(err)
	}
	want := `{"max_tokens":1324,"messages":[{"content":[{"text":"What is in this image?","type":"text"},{"source":{"data":"iVBORw0KGgo=","media_type":"image/png","type":"base64"},"type":"image"},{"source":{"type":"url","url":"https://example.com/cat.jpg"},"type":"image"}],"role":"user"}],"metadata":{"user_id":"u-1"},"model":"mock-claude","stop_sequences":["END"],"system":[{"text":"Be terse.","type":"text"},{"text":"JSON only.","type":"text"}],"temperature":0.2,"thinking":{"budget_tokens":1024,"type":"enabled"},"tool_choice":{"name":"json_response","type":"tool"},"tools":[{"description":"Respond with a JSON object.","input_schema":{"properties":{"answer":{"type":"string"}},"required":["answer"],"type":"object"},"name":"json_response"}],"top_p":0.9}`
	if canon, _ := json.Marshal(sent); string(canon) != want {
		t.Errorf("sent to Anthropic:\n%s\nwant:\n%s", canon, want)
	}
	if header.Get("x-api-key") != "ant-key" || header.Get("anthropic-version") == "" || header.Get("Authorization") != "" {
		t.Errorf("auth headers = %v", header)
	}
	// The forced JSON tool comes back as content, with a plain stop.
	var res struct {
		Choices []struct {
			Message struct {
				Content          string `json:"content"`
				ReasoningContent string `json:"reasoning_content"`
				ToolCalls        []any  `json:"tool_calls"`
			} `json:"message"`
			FinishReason string `json:"finish_reason"`
		} `json:"choices"`
	}
	json.Unmarshal(out, &res)
	if c := res.Choices[0]; c.Message.Content != `{"answer":"example"}` || c.FinishReason != "stop" || len(c.Message.ToolCalls) != 0 || c.Message.ReasoningContent == "" {
		t.Errorf("response = %s", out)
	}
	spectest.Validate(t, spectest.ChatResponse, out)
}

// Parameters Anthropic cannot honour are refused, not silently dropped —
// unless the model group says to drop them.
func TestUnsupportedParameters(t *testing.T) {
	m, up := startMock(t, mock.Options{})
	gw := startGateway(t, mockConfig, up)
	for _, body := range []string{
		`{"model":"claude","n":2,"messages":[{"role":"user","content":"hi"}]}`,
		`{"model":"claude","logprobs":true,"messages":[{"role":"user","content":"hi"}]}`,
		`{"model":"claude","seed":7,"messages":[{"role":"user","content":"hi"}]}`,
		`{"model":"claude","presence_penalty":0.5,"messages":[{"role":"user","content":"hi"}]}`,
	} {
		before := m.Requests()
		resp, out := post(t, gw.URL, "/v1/chat/completions", body)
		if resp.StatusCode != 400 || !strings.Contains(string(out), "unsupported_parameter") || !strings.Contains(string(out), "drop_params") {
			t.Errorf("%s: %d %s", body, resp.StatusCode, out)
		}
		if m.Requests() != before {
			t.Errorf("%s reached the upstream", body)
		}
		lenient := strings.Replace(body, `"claude"`, `"claude-lenient"`, 1)
		if resp, out := post(t, gw.URL, "/v1/chat/completions", lenient); resp.StatusCode != 200 {
			t.Errorf("with drop_params: %d %s", resp.StatusCode, out)
		}
	}
	// n, seed and logprobs are passed through to OpenAI-compatible upstreams.
	resp, out := post(t, gw.URL, "/v1/chat/completions", `{"model":"gpt","n":2,"seed":7,"logprobs":true,"messages":[{"role":"user","content":"hi"}]}`)
	if resp.StatusCode != 200 || strings.Count(string(out), `"finish_reason"`) != 2 {
		t.Errorf("n=2 via OpenAI: %d %s", resp.StatusCode, out)
	}
}

// The fast path forwards the client's bytes: only the model changes, and
// streams gain include_usage.
func TestFastPathForwardsBytes(t *testing.T) {
	m, up := startMock(t, mock.Options{})
	var got []byte
	m.OnRequest = func(_ *http.Request, body []byte) { got = body }
	gw := startGateway(t, mockConfig, up)
	body := `{"model":"gpt",  "messages":[{"role":"user","content":"hi \u00e9"}],"x_vendor_extra":{"keep":[1,2,3]},"temperature":0.5}`
	if resp, out := post(t, gw.URL, "/v1/chat/completions", body); resp.StatusCode != 200 {
		t.Fatalf("%d %s", resp.StatusCode, out)
	}
	if want := strings.Replace(body, `"gpt"`, `"mock-gpt"`, 1); string(got) != want {
		t.Errorf("upstream got\n%s\nwant\n%s", got, want)
	}
	body = `{"stream":true,"model":"gpt","messages":[{"role":"user","content":"hi"}]}`
	resp, out := post(t, gw.URL, "/v1/chat/completions", body)
	if resp.StatusCode != 200 {
		t.Fatalf("%d %s", resp.StatusCode, out)
	}
	if want := `{"stream_options":{"include_usage":true},"stream":true,"model":"mock-gpt","messages":[{"role":"user","content":"hi"}]}`; string(got) != want {
		t.Errorf("upstream got\n%s\nwant\n%s", got, want)
	}
	data := sseData(out)
	if data[len(data)-1] != "[DONE]" || strings.Contains(string(out), `"usage":{`) {
		t.Errorf("stream = %s", out)
	}
	body = `{"stream":true,"stream_options":{"include_obfuscation":false},"model":"gpt","messages":[{"role":"user","content":"hi"}]}`
	post(t, gw.URL, "/v1/chat/completions", body)
	if want := `{"stream":true,"stream_options":{"include_obfuscation":false,"include_usage":true},"model":"mock-gpt","messages":[{"role":"user","content":"hi"}]}`; string(got) != want {
		t.Errorf("upstream got\n%s\nwant\n%s", got, want)
	}
}
