package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws/protocol/eventstream"
	"github.com/openai/openai-go/v3"
	"github.com/tidwall/gjson"

	"github.com/switchboard-gw/switchboard/internal/config"
	"github.com/switchboard-gw/switchboard/internal/fixtures"
	"github.com/switchboard-gw/switchboard/internal/mock"
	"github.com/switchboard-gw/switchboard/internal/spectest"
)

const bedrockFixtures = "fixtures/vercel-ai/packages/amazon-bedrock/src/__fixtures__/"

// eventStream encodes recorded {"eventType": payload} lines as Bedrock's
// binary event-stream frames.
func eventStream(t *testing.T, lines []string) []byte {
	t.Helper()
	var buf bytes.Buffer
	enc := eventstream.NewEncoder()
	for _, l := range lines {
		var ev map[string]json.RawMessage
		if err := json.Unmarshal([]byte(l), &ev); err != nil {
			t.Fatal(err)
		}
		for typ, payload := range ev {
			msg := eventstream.Message{Payload: payload}
			msg.Headers.Set(":event-type", eventstream.StringValue(typ))
			msg.Headers.Set(":content-type", eventstream.StringValue("application/json"))
			msg.Headers.Set(":message-type", eventstream.StringValue("event"))
			if err := enc.Encode(&buf, msg); err != nil {
				t.Fatal(err)
			}
		}
	}
	return buf.Bytes()
}

// decodeEvents reads frames back into (type, payload) pairs.
func decodeEvents(t *testing.T, body []byte) (types []string, payloads []gjson.Result) {
	t.Helper()
	dec := eventstream.NewDecoder()
	r := bytes.NewReader(body)
	for {
		msg, err := dec.Decode(r, nil)
		if errors.Is(err, io.EOF) {
			return
		}
		if err != nil {
			t.Fatal(err)
		}
		types = append(types, msg.Headers.Get(":event-type").String())
		payloads = append(payloads, gjson.ParseBytes(msg.Payload))
	}
}

func bedrockGateway(t *testing.T, reply fixtures.Reply, model string) (*gatewayUnderTest, *fixtures.Upstream) {
	t.Helper()
	up := fixtures.Serve(t, reply)
	return startGateway(t, `
master_key: ${MASTER}
providers:
  - name: aws
    type: bedrock
    base_url: ${UPSTREAM}
    region: us-east-1
    access_key_id: AKIDTEST
    secret_access_key: secret-test
models:
  - name: bedrock
    deployments: [{provider: aws, model: "`+model+`"}]
`, up.URL), up
}

// Recorded Bedrock streams (as event-stream frames) and bodies, read by the
// OpenAI SDK through the gateway.
func TestReplayBedrock(t *testing.T) {
	cases := []struct {
		file           string
		stream         bool
		calls          [][2]string
		finish         string
		prompt, output int64
	}{
		{file: "amazon-bedrock-text.chunks.txt", stream: true, finish: "stop"},
		{file: "amazon-bedrock-reasoning.chunks.txt", stream: true, finish: "stop"},
		{file: "amazon-bedrock-tool-call.1.chunks.txt", stream: true, calls: [][2]string{{"test-tool", `{"value":"Sparkle Day"}`}}, finish: "tool_calls", prompt: 125, output: 45},
		{file: "amazon-bedrock-text.json", finish: "stop", prompt: 22, output: 57},
		{file: "amazon-bedrock-tool-call.1.json", calls: [][2]string{{"bash", `{"command":"ls -l"}`}}, finish: "tool_calls", prompt: 10, output: 20},
	}
	for _, c := range cases {
		t.Run(c.file, func(t *testing.T) {
			var reply fixtures.Reply
			var text, reasoning strings.Builder
			var usage gjson.Result
			if c.stream {
				lines := fixtures.ChunkLines(t, bedrockFixtures+c.file)
				for _, l := range lines {
					text.WriteString(gjson.Get(l, "contentBlockDelta.delta.text").String())
					reasoning.WriteString(gjson.Get(l, "contentBlockDelta.delta.reasoningContent.text").String())
					if u := gjson.Get(l, "metadata.usage"); u.Exists() {
						usage = u
					}
				}
				reply = fixtures.Reply{Header: http.Header{"Content-Type": {"application/vnd.amazon.eventstream"}}, Body: eventStream(t, lines)}
			} else {
				body := fixtures.Read(t, bedrockFixtures+c.file)
				gjson.GetBytes(body, "output.message.content").ForEach(func(_, b gjson.Result) bool {
					text.WriteString(b.Get("text").String())
					return true
				})
				usage = gjson.GetBytes(body, "usage")
				reply = fixtures.Reply{Header: http.Header{"Content-Type": {"application/json"}}, Body: body}
			}
			gw, up := bedrockGateway(t, reply, "us.amazon.nova-micro-v1:0")
			client := sdk(gw.URL)
			params := openai.ChatCompletionNewParams{Model: "bedrock", Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("hi")}}
			var got openai.ChatCompletion
			var gotReasoning strings.Builder
			if c.stream {
				params.StreamOptions = openai.ChatCompletionStreamOptionsParam{IncludeUsage: openai.Bool(true)}
				s := client.Chat.Completions.NewStreaming(context.Background(), params)
				acc := openai.ChatCompletionAccumulator{}
				for s.Next() {
					spectest.Validate(t, spectest.ChatChunk, []byte(s.Current().RawJSON()))
					gotReasoning.WriteString(gjson.Get(s.Current().RawJSON(), "choices.0.delta.reasoning_content").String())
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
				got = *res
			}
			req := up.Requests()[0]
			wantPath := "/model/us.amazon.nova-micro-v1:0/converse"
			if c.stream {
				wantPath += "-stream"
			}
			if req.Path != wantPath || !strings.HasPrefix(req.Header.Get("Authorization"), "AWS4-HMAC-SHA256 Credential=AKIDTEST/") || req.Header.Get("X-Amz-Date") == "" {
				t.Errorf("upstream request %s %v", req.Path, req.Header)
			}
			m := got.Choices[0].Message
			if m.Content != text.String() || string(got.Choices[0].FinishReason) != c.finish || gotReasoning.String() != reasoning.String() {
				t.Errorf("content %q reasoning %q finish %q; want %q %q %q", m.Content, gotReasoning.String(), got.Choices[0].FinishReason, text.String(), reasoning.String(), c.finish)
			}
			if len(m.ToolCalls) != len(c.calls) {
				t.Fatalf("tool calls = %+v", m.ToolCalls)
			}
			for i, w := range c.calls {
				if m.ToolCalls[i].Function.Name != w[0] || m.ToolCalls[i].Function.Arguments != w[1] || m.ToolCalls[i].ID == "" {
					t.Errorf("call %d = %+v", i, m.ToolCalls[i])
				}
			}
			if usage.Exists() && (got.Usage.PromptTokens != usage.Get("inputTokens").Int() || got.Usage.CompletionTokens != usage.Get("outputTokens").Int()) {
				t.Errorf("usage %+v, recorded %s", got.Usage, usage.Raw)
			}
		})
	}
}

// pydantic-ai's recorded ConverseStream bodies, binary frames and all.
func TestReplayBedrockCassettes(t *testing.T) {
	for _, file := range []string{"test_bedrock_model_stream.yaml", "test_bedrock_model_iter_stream.yaml"} {
		t.Run(file, func(t *testing.T) {
			it := fixtures.Cassette(t, "fixtures/pydantic-ai/tests/models/cassettes/test_bedrock/"+file)[0]
			types, payloads := decodeEvents(t, it.RespBody)
			var text strings.Builder
			var calls []string
			for i, p := range payloads {
				text.WriteString(p.Get("delta.text").String())
				if types[i] == "contentBlockStart" {
					calls = append(calls, p.Get("start.toolUse.name").String())
				}
			}
			gw, up := bedrockGateway(t, fixtures.Reply{Header: http.Header{"Content-Type": {"application/vnd.amazon.eventstream"}}, Body: it.RespBody}, "us.amazon.nova-micro-v1:0")
			resp, out := post(t, gw.URL, "/v1/chat/completions", `{"model":"bedrock","stream":true,"messages":[{"role":"user","content":"hi"}]}`)
			if resp.StatusCode != 200 {
				t.Fatalf("%d %s", resp.StatusCode, out)
			}
			if got := up.Requests()[0].Path; "https://bedrock-runtime.us-east-1.amazonaws.com"+strings.Replace(got, ":", "%3A", 1) != it.URL {
				t.Errorf("path %s, recorded %s", got, it.URL)
			}
			var gotText strings.Builder
			var gotCalls []string
			data := sseData(out)
			for _, d := range data {
				gotText.WriteString(gjson.Get(d, "choices.0.delta.content").String())
				if n := gjson.Get(d, "choices.0.delta.tool_calls.0.function.name").String(); n != "" {
					gotCalls = append(gotCalls, n)
				}
			}
			if gotText.String() != text.String() || strings.Join(gotCalls, ",") != strings.Join(calls, ",") || data[len(data)-1] != "[DONE]" {
				t.Errorf("text %q calls %v, want %q %v", gotText.String(), gotCalls, text.String(), calls)
			}
		})
	}
	it := fixtures.Cassette(t, "fixtures/pydantic-ai/tests/models/cassettes/test_bedrock/test_bedrock_streaming_error.yaml")[0]
	gw, _ := bedrockGateway(t, fixtures.ReplyOf(it), "bad-model")
	resp, out := post(t, gw.URL, "/v1/chat/completions", `{"model":"bedrock","stream":true,"messages":[{"role":"user","content":"hello"}]}`)
	if resp.StatusCode != it.Status || gjson.GetBytes(out, "error.message").String() != "The provided model identifier is invalid." {
		t.Errorf("%d %s (recorded %d)", resp.StatusCode, out, it.Status)
	}
}

// SigV4 as AWS checks it: the mock recomputes the signature with the
// secret; a wrong secret is refused. Bedrock API keys go as bearer tokens.
func TestBedrockAuth(t *testing.T) {
	m, up := startMock(t, mock.Options{AWS: mock.AWSCredentials{"AKIDTEST": "secret-test"}})
	var auth string
	m.OnRequest = func(r *http.Request, _ []byte) { auth = r.Header.Get("Authorization") }
	for _, c := range []struct {
		creds  string
		status int
	}{
		{"access_key_id: AKIDTEST\n    secret_access_key: secret-test", 200},
		{"access_key_id: AKIDTEST\n    secret_access_key: wrong-secret", 401},
		{"api_key: bedrock-api-key", 200},
	} {
		env := map[string]string{"UPSTREAM": up, "MASTER": masterKey}
		cfg, err := config.Parse("b.yaml", []byte(`
master_key: ${MASTER}
providers:
  - name: aws
    type: bedrock
    base_url: ${UPSTREAM}
    region: eu-central-1
    `+c.creds+`
models:
  - name: b
    deployments: [{provider: aws, model: "anthropic.claude-3-haiku-20240307-v1:0"}]
`), func(k string) string { return env[k] })
		if err != nil {
			t.Fatal(err)
		}
		gw := startWithConfig(t, cfg, false)
		resp, out := post(t, gw.URL, "/v1/chat/completions", `{"model":"b","messages":[{"role":"user","content":"hi"}]}`)
		if resp.StatusCode != c.status {
			t.Errorf("%s: %d %s", c.creds, resp.StatusCode, out)
		}
		if strings.HasPrefix(c.creds, "api_key") && auth != "Bearer bedrock-api-key" {
			t.Errorf("auth = %q", auth)
		}
	}
	// An exception inside the stream ends it with an error event.
	_, up2 := startMock(t, mock.Options{})
	gw := startGateway(t, mockConfig, up2)
	resp, out := post(t, gw.URL, "/v1/chat/completions", `{"model":"bedrock","stream":true,"messages":[{"role":"user","content":"[[mock:error-event]]"}]}`)
	data := sseData(out)
	if resp.StatusCode != 200 || !strings.Contains(data[len(data)-1], "ThrottlingException") || strings.Contains(string(out), "[DONE]") {
		t.Errorf("stream exception: %s", out)
	}
	resp, out = post(t, gw.URL, "/v1/chat/completions", `{"model":"bedrock","messages":[{"role":"user","content":"[[mock:status=429]]"}]}`)
	if resp.StatusCode != 429 || gjson.GetBytes(out, "error.code").String() != "ThrottlingException" {
		t.Errorf("throttling: %d %s", resp.StatusCode, out)
	}
}

// Without keys in the config, the AWS default chain is used: here, the
// environment's keys, checked by the mock's signature verification.
func TestBedrockDefaultCredentialChain(t *testing.T) {
	t.Setenv("AWS_ACCESS_KEY_ID", "AKIDFROMENV")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "secret-from-env")
	t.Setenv("AWS_SESSION_TOKEN", "")
	t.Setenv("AWS_PROFILE", "")
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(t.TempDir(), "none"))
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(t.TempDir(), "none"))
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	m, up := startMock(t, mock.Options{AWS: mock.AWSCredentials{"AKIDFROMENV": "secret-from-env"}})
	var auth string
	m.OnRequest = func(r *http.Request, _ []byte) { auth = r.Header.Get("Authorization") }
	env := map[string]string{"UPSTREAM": up, "MASTER": masterKey}
	cfg, err := config.Parse("b.yaml", []byte(`
master_key: ${MASTER}
providers:
  - {name: aws, type: bedrock, base_url: "${UPSTREAM}", region: ap-southeast-2}
models:
  - {name: b, deployments: [{provider: aws, model: "amazon.nova-lite-v1:0"}]}
`), func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	gw := startWithConfig(t, cfg, false)
	resp, out := post(t, gw.URL, "/v1/chat/completions", `{"model":"b","messages":[{"role":"user","content":"hi"}]}`)
	if resp.StatusCode != 200 || !strings.Contains(auth, "Credential=AKIDFROMENV/") || !strings.Contains(auth, "/ap-southeast-2/bedrock/") {
		t.Errorf("%d %s auth=%q", resp.StatusCode, out, auth)
	}
}
