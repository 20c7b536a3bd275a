package e2e

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/openai/openai-go/v3"
	"github.com/tidwall/gjson"
	"google.golang.org/genai"

	"github.com/switchboard-gw/switchboard/internal/config"
	"github.com/switchboard-gw/switchboard/internal/fixtures"
	"github.com/switchboard-gw/switchboard/internal/mock"
	"github.com/switchboard-gw/switchboard/internal/spectest"
)

// Google's own Go SDK talks to the mock's Gemini format as to the real
// API: the fake upstream the gateway is tested against is faithful.
func TestMockSpeaksGeminiToGenAISDK(t *testing.T) {
	_, up := startMock(t, mock.Options{})
	ctx := context.Background()
	client, err := genai.NewClient(ctx, &genai.ClientConfig{APIKey: "k", Backend: genai.BackendGeminiAPI, HTTPOptions: genai.HTTPOptions{BaseURL: up}})
	if err != nil {
		t.Fatal(err)
	}
	res, err := client.Models.GenerateContent(ctx, "mock-gemini", genai.Text("Hello there"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.Text() != mock.Reply("mock-gemini", "Hello there") || res.UsageMetadata.CandidatesTokenCount == 0 {
		t.Errorf("text %q usage %+v", res.Text(), res.UsageMetadata)
	}
	var streamed strings.Builder
	for chunk, err := range client.Models.GenerateContentStream(ctx, "mock-gemini", genai.Text("Hello there"), nil) {
		if err != nil {
			t.Fatal(err)
		}
		streamed.WriteString(chunk.Text())
	}
	if streamed.String() != mock.Reply("mock-gemini", "Hello there") {
		t.Errorf("streamed %q", streamed.String())
	}
	cfg := &genai.GenerateContentConfig{Tools: []*genai.Tool{{FunctionDeclarations: []*genai.FunctionDeclaration{{
		Name: "get_weather", Parameters: &genai.Schema{Type: genai.TypeObject, Properties: map[string]*genai.Schema{"city": {Type: genai.TypeString}}, Required: []string{"city"}}}}}}}
	res, err = client.Models.GenerateContent(ctx, "mock-gemini", genai.Text("Weather?"), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if calls := res.FunctionCalls(); len(calls) != 1 || calls[0].Name != "get_weather" || calls[0].Args["city"] != "example" {
		t.Errorf("function calls = %+v", calls)
	}
	dims := int32(8)
	emb, err := client.Models.EmbedContent(ctx, "mock-embedding", genai.Text("the cat sat"), &genai.EmbedContentConfig{OutputDimensionality: &dims})
	if err != nil {
		t.Fatal(err)
	}
	want := mock.Embedding("the cat sat", 8)
	if len(emb.Embeddings) != 1 || len(emb.Embeddings[0].Values) != 8 || math.Abs(float64(emb.Embeddings[0].Values[0])-want[0]) > 1e-6 {
		t.Errorf("embedding = %+v", emb.Embeddings)
	}
}

// What the gateway sends Gemini: system instruction, cleaned schemas,
// tool config, generation config, and function results matched by name
// with the thought signature sent back.
func TestGeminiRequestTranslation(t *testing.T) {
	m, up := startMock(t, mock.Options{})
	var got []byte
	var header http.Header
	m.OnRequest = func(r *http.Request, body []byte) { got, header = body, r.Header.Clone() }
	gw := startGateway(t, mockConfig, up)
	body := `{"model":"gemini","temperature":0.3,"max_tokens":100,"stop":["END"],"seed":4,"n":1,"reasoning_effort":"low",
	  "tool_choice":{"type":"function","function":{"name":"lookup"}},
	  "tools":[{"type":"function","function":{"name":"lookup","description":"Find","parameters":{"$schema":"http://json-schema.org/draft-07/schema#","type":"object","additionalProperties":false,
	     "properties":{"q":{"type":["string","null"]},"kind":{"const":"a"},"ref":{"$ref":"#/$defs/R"}},"required":["q"],"$defs":{"R":{"type":"integer","minimum":1}}}}}],
	  "messages":[{"role":"system","content":"Be terse."},{"role":"user","content":[{"type":"text","text":"Look"},{"type":"image_url","image_url":{"url":"data:image/png;base64,AAAA"}}]},
	    {"role":"assistant","content":null,"tool_calls":[{"id":"call_gm_x1","type":"function","function":{"name":"lookup","arguments":"{\"q\":\"a\"}"},"extra_content":{"google":{"thought_signature":"c2ln"}}}]},
	    {"role":"tool","tool_call_id":"call_gm_x1","content":"found it"}]}`
	resp, out := post(t, gw.URL, "/v1/chat/completions", body)
	if resp.StatusCode != 200 {
		t.Fatalf("%d %s", resp.StatusCode, out)
	}
	want := `{"contents":[{"parts":[{"text":"Look"},{"inlineData":{"data":"AAAA","mimeType":"image/png"}}],"role":"user"},{"parts":[{"functionCall":{"args":{"q":"a"},"name":"lookup"},"thoughtSignature":"c2ln"}],"role":"model"},{"parts":[{"functionResponse":{"name":"lookup","response":{"result":"found it"}}}],"role":"user"}],"generationConfig":{"maxOutputTokens":100,"seed":4,"stopSequences":["END"],"temperature":0.3,"thinkingConfig":{"includeThoughts":true,"thinkingBudget":1024}},"systemInstruction":{"parts":[{"text":"Be terse."}]},"toolConfig":{"functionCallingConfig":{"allowedFunctionNames":["lookup"],"mode":"ANY"}},"tools":[{"functionDeclarations":[{"description":"Find","name":"lookup","parameters":{"properties":{"kind":{"enum":["a"]},"q":{"nullable":true,"type":"string"},"ref":{"minimum":1,"type":"integer"}},"required":["q"],"type":"object"}}]}]}`
	if canon(string(got)) != want {
		t.Errorf("sent to Gemini:\n%s\nwant:\n%s", canon(string(got)), want)
	}
	if header.Get("x-goog-api-key") != "gem-key" || header.Get("Authorization") != "" {
		t.Errorf("auth headers = %v", header)
	}
	// The tool result answer, with reasoning from the thoughts.
	res := gjson.ParseBytes(out)
	if res.Get("choices.0.message.content").String() != mock.ToolResultReply([]string{"found it"}) || res.Get("choices.0.message.reasoning_content").String() == "" ||
		res.Get("usage.completion_tokens_details.reasoning_tokens").Int() == 0 {
		t.Errorf("response = %s", out)
	}
	spectest.Validate(t, spectest.ChatResponse, out)

	// A thought signature on a call comes back in extra_content.
	resp, out = post(t, gw.URL, "/v1/chat/completions", `{"model":"gemini","messages":[{"role":"user","content":"call it"}],"tools":[{"type":"function","function":{"name":"lookup","parameters":{"type":"object","properties":{"q":{"type":"string"}}}}}]}`)
	tc := gjson.GetBytes(out, "choices.0.message.tool_calls.0")
	if resp.StatusCode != 200 || tc.Get("extra_content.google.thought_signature").String() == "" || !strings.HasPrefix(tc.Get("id").String(), "call_gm_") {
		t.Errorf("tool call = %s", tc.Raw)
	}
}

const googleFixtures = "fixtures/vercel-ai/packages/google/src/__fixtures__/"

func geminiGateway(t *testing.T, reply fixtures.Reply) (*gatewayUnderTest, *fixtures.Upstream) {
	t.Helper()
	up := fixtures.Serve(t, reply)
	return startGateway(t, `
master_key: ${MASTER}
providers:
  - name: google
    type: gemini
    base_url: ${UPSTREAM}
    api_key: k
models:
  - name: gemini
    deployments: [{provider: google, model: gemini-3-pro-preview}]
`, up.URL), up
}

// geminiSSE renders recorded chunks as Gemini streams them: CRLF pairs
// between events and no [DONE].
func geminiSSE(lines []string) []byte {
	var b strings.Builder
	for _, l := range lines {
		b.WriteString("data: " + l + "\r\n\r\n")
	}
	return []byte(b.String())
}

// Recorded Gemini streams and bodies, translated, read by the OpenAI SDK.
func TestReplayGemini(t *testing.T) {
	type call struct{ name, args string }
	cases := []struct {
		file                  string
		stream                bool
		content, reasoning    string
		calls                 []call
		finish                string
		prompt, completion    int64
		signature, reasoning2 bool
	}{
		{file: "google-text.chunks.txt", stream: true, finish: "stop", prompt: 9, completion: 23 + 185},
		{file: "google-reasoning.chunks.txt", stream: true, finish: "stop", prompt: 9},
		{file: "google-tool-call.chunks.txt", stream: true, calls: []call{{"weather", `{"location":"San Francisco"}`}}, finish: "tool_calls", prompt: 29, completion: 15 + 45, signature: true},
		{file: "google-stream-tool-call-arguments.chunks.txt", stream: true, calls: []call{{"getWeather", `{"location":"Boston"}`}, {"getWeather", `{"location":"San Francisco"}`}}, finish: "tool_calls", prompt: 26, completion: 23 + 132, signature: true},
		{file: "google-text.json", finish: "stop"},
		{file: "google-tool-call.json", calls: []call{{"weather", `{"location":"San Francisco"}`}}, finish: "tool_calls", prompt: 29, completion: 15 + 893, signature: true},
	}
	for _, c := range cases {
		t.Run(c.file, func(t *testing.T) {
			var reply fixtures.Reply
			var lines []string
			if c.stream {
				lines = fixtures.ChunkLines(t, googleFixtures+c.file)
				reply = fixtures.Reply{Header: http.Header{"Content-Type": {"text/event-stream"}}, Body: geminiSSE(lines)}
			} else {
				body := fixtures.Read(t, googleFixtures+c.file)
				lines = []string{string(body)}
				reply = fixtures.Reply{Header: http.Header{"Content-Type": {"application/json"}}, Body: body}
			}
			// The expected text is what the recorded parts say.
			var text, thoughts strings.Builder
			var usage gjson.Result
			for _, l := range lines {
				gjson.Get(l, "candidates.0.content.parts").ForEach(func(_, p gjson.Result) bool {
					if p.Get("thought").Bool() {
						thoughts.WriteString(p.Get("text").String())
					} else {
						text.WriteString(p.Get("text").String())
					}
					return true
				})
				if u := gjson.Get(l, "usageMetadata"); u.Get("promptTokenCount").Exists() {
					usage = u
				}
			}
			gw, up := geminiGateway(t, reply)
			client := sdk(gw.URL)
			params := openai.ChatCompletionNewParams{Model: "gemini", Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("hi")}}
			var got openai.ChatCompletion
			var raw []string
			if c.stream {
				params.StreamOptions = openai.ChatCompletionStreamOptionsParam{IncludeUsage: openai.Bool(true)}
				s := client.Chat.Completions.NewStreaming(context.Background(), params)
				acc := openai.ChatCompletionAccumulator{}
				for s.Next() {
					spectest.Validate(t, spectest.ChatChunk, []byte(s.Current().RawJSON()))
					raw = append(raw, s.Current().RawJSON())
					acc.AddChunk(s.Current())
				}
				if err := s.Err(); err != nil {
					t.Fatal(err)
				}
				got = acc.ChatCompletion
				if !strings.Contains(up.Requests()[0].Path, ":streamGenerateContent") || up.Requests()[0].Query != "alt=sse" {
					t.Errorf("upstream request %s?%s", up.Requests()[0].Path, up.Requests()[0].Query)
				}
			} else {
				res, err := client.Chat.Completions.New(context.Background(), params)
				if err != nil {
					t.Fatal(err)
				}
				spectest.Validate(t, spectest.ChatResponse, []byte(res.RawJSON()))
				raw = []string{res.RawJSON()}
				got = *res
			}
			m := got.Choices[0].Message
			if m.Content != text.String() || string(got.Choices[0].FinishReason) != c.finish {
				t.Errorf("content %q finish %q; want %q %q", m.Content, got.Choices[0].FinishReason, text.String(), c.finish)
			}
			var reasoning strings.Builder
			for _, r := range raw {
				reasoning.WriteString(gjson.Get(r, "choices.0.delta.reasoning_content").String())
				reasoning.WriteString(gjson.Get(r, "choices.0.message.reasoning_content").String())
			}
			if reasoning.String() != thoughts.String() {
				t.Errorf("reasoning %q, want %q", reasoning.String(), thoughts.String())
			}
			if len(m.ToolCalls) != len(c.calls) {
				t.Fatalf("tool calls = %+v", m.ToolCalls)
			}
			ids := map[string]bool{}
			for i, w := range c.calls {
				tc := m.ToolCalls[i]
				if tc.Function.Name != w.name || tc.Function.Arguments != w.args || tc.ID == "" || ids[tc.ID] {
					t.Errorf("call %d = %s %s %s, want %v", i, tc.ID, tc.Function.Name, tc.Function.Arguments, w)
				}
				ids[tc.ID] = true
			}
			if c.signature {
				joined := strings.Join(raw, "\n")
				if !strings.Contains(joined, `"thought_signature":"`) {
					t.Error("the thought signature did not reach the client")
				}
			}
			if usage.Exists() {
				wantCompletion := usage.Get("candidatesTokenCount").Int() + usage.Get("thoughtsTokenCount").Int()
				if got.Usage.PromptTokens != usage.Get("promptTokenCount").Int() || got.Usage.CompletionTokens != wantCompletion ||
					got.Usage.CompletionTokensDetails.ReasoningTokens != usage.Get("thoughtsTokenCount").Int() {
					t.Errorf("usage = %+v, recorded %s", got.Usage, usage.Raw)
				}
			}
		})
	}
}

// A Gemini 429 carries RetryInfo; the client gets it as Retry-After.
func TestGeminiRetryInfo(t *testing.T) {
	body := fixtures.Read(t, googleFixtures+"google-429-retry-info.json")
	gw, _ := geminiGateway(t, fixtures.Reply{Status: 429, Header: http.Header{"Content-Type": {"application/json"}}, Body: body})
	resp, out := post(t, gw.URL, "/v1/chat/completions", `{"model":"gemini","messages":[{"role":"user","content":"hi"}]}`)
	if resp.StatusCode != 429 || resp.Header.Get("Retry-After") != "35" || gjson.GetBytes(out, "error.message").String() != "You exceeded your current quota, please check your plan." {
		t.Errorf("%d Retry-After=%q %s", resp.StatusCode, resp.Header.Get("Retry-After"), out)
	}
	// A stream cut before its finish reason is an error, not a short answer.
	lines := fixtures.ChunkLines(t, googleFixtures+"google-text.chunks.txt")
	gw, _ = geminiGateway(t, fixtures.Reply{Header: http.Header{"Content-Type": {"text/event-stream"}}, Body: geminiSSE(lines[:1])})
	resp, out = post(t, gw.URL, "/v1/chat/completions", `{"model":"gemini","stream":true,"messages":[{"role":"user","content":"hi"}]}`)
	data := sseData(out)
	if resp.StatusCode != 200 || strings.Contains(string(out), "[DONE]") || !strings.HasPrefix(data[len(data)-1], `{"error"`) {
		t.Errorf("cut stream: %s", out)
	}
}

// Vertex AI: service-account credentials exchanged for a token at the
// credentials' token URI, Vertex URLs, predict for embeddings.
func TestVertex(t *testing.T) {
	m, up := startMock(t, mock.Options{})
	var paths []string
	var auth []string
	m.OnRequest = func(r *http.Request, _ []byte) {
		paths = append(paths, r.URL.Path)
		auth = append(auth, r.Header.Get("Authorization"))
	}
	tokenCalls := 0
	tokenURL := newServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tokenCalls++
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"access_token":"ya29.test-token","expires_in":3600,"token_type":"Bearer"}`))
	}))
	key, _ := rsa.GenerateKey(rand.Reader, 2048)
	pemKey := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: must(x509.MarshalPKCS8PrivateKey(key))})
	creds, _ := json.Marshal(map[string]string{"type": "service_account", "project_id": "proj", "private_key_id": "k1",
		"private_key": string(pemKey), "client_email": "sb@proj.iam.gserviceaccount.com", "token_uri": tokenURL + "/token"})
	credFile := filepath.Join(t.TempDir(), "sa.json")
	os.WriteFile(credFile, creds, 0o600)
	env := map[string]string{"UPSTREAM": up, "MASTER": masterKey, "CREDS": credFile}
	cfg, err := config.Parse("vertex.yaml", []byte(`
master_key: ${MASTER}
providers:
  - name: vx
    type: vertex
    base_url: ${UPSTREAM}
    project: proj
    location: europe-west4
    credentials_file: ${CREDS}
models:
  - name: vgem
    deployments: [{provider: vx, model: gemini-2.5-flash}]
  - name: vembed
    deployments: [{provider: vx, model: text-embedding-005}]
`), func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	gw := startWithConfig(t, cfg, false)
	for range 2 {
		resp, out := post(t, gw.URL, "/v1/chat/completions", `{"model":"vgem","messages":[{"role":"user","content":"Hello"}]}`)
		if resp.StatusCode != 200 || gjson.GetBytes(out, "choices.0.message.content").String() != mock.Reply("gemini-2.5-flash", "Hello") {
			t.Fatalf("%d %s", resp.StatusCode, out)
		}
	}
	resp, out := post(t, gw.URL, "/v1/embeddings", `{"model":"vembed","input":["a b","c"],"dimensions":4,"encoding_format":"base64"}`)
	if resp.StatusCode != 200 || len(gjson.GetBytes(out, "data").Array()) != 2 || gjson.GetBytes(out, "usage.prompt_tokens").Int() == 0 {
		t.Fatalf("%d %s", resp.StatusCode, out)
	}
	spectest.Validate(t, spectest.Embeddings, out)
	want := "/v1/projects/proj/locations/europe-west4/publishers/google/models/gemini-2.5-flash:generateContent"
	if paths[0] != want || !strings.HasSuffix(paths[2], "text-embedding-005:predict") {
		t.Errorf("paths = %v", paths)
	}
	for _, a := range auth {
		if a != "Bearer ya29.test-token" {
			t.Errorf("auth = %q", a)
		}
	}
	if tokenCalls != 1 {
		t.Errorf("token fetched %d times; it should be reused", tokenCalls)
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}
