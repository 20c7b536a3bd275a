package e2e

import (
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"flag"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/tidwall/gjson"

	"github.com/switchboard-gw/switchboard/internal/config"
	"github.com/switchboard-gw/switchboard/internal/mock"
)

var updateMatrix = flag.Bool("update-matrix", false, "rewrite docs/compatibility.md from the matrix test's results")

const matrixDoc = "../../docs/compatibility.md"

// matrixProviders are the providers of the compatibility matrix: the model
// name each is reached by, and the upstream model the mock answers as.
var matrixProviders = []struct{ name, model, upstream, embedModel string }{
	{"openai", "m-openai", "gpt-4o-mini", "text-embedding-3-small"},
	{"azure", "m-azure", "my-deployment", "my-embedding-deployment"},
	{"anthropic", "m-anthropic", "claude-sonnet-4-5", ""},
	{"gemini", "m-gemini", "gemini-2.5-flash", "gemini-embedding-001"},
	{"vertex", "m-vertex", "gemini-2.5-pro", "text-embedding-005"},
	{"bedrock", "m-bedrock", "anthropic.claude-3-5-haiku-20241022-v1:0", "amazon.titan-embed-text-v2:0"},
	{"cohere", "m-cohere", "command-a-03-2025", "embed-v4.0"},
	{"mistral", "m-mistral", "mistral-large-latest", "mistral-embed"},
	{"groq", "m-groq", "llama-3.3-70b-versatile", ""},
}

var matrixFormats = []string{"chat", "messages", "responses"}
var matrixFeatures = []string{"text", "tools", "images"}

// TestCompatibilityMatrix runs every inbound format × provider × {JSON,
// stream} × {text, tools, images} cell, and embeddings per provider,
// against the mock, and checks docs/compatibility.md says exactly what
// passed. `go test ./internal/e2e -run Matrix -update-matrix` rewrites it.
func TestCompatibilityMatrix(t *testing.T) {
	m, up := startMock(t, mock.Options{})
	var mu sync.Mutex
	var lastBody []byte
	m.OnRequest = func(_ *http.Request, body []byte) {
		mu.Lock()
		lastBody = body
		mu.Unlock()
	}
	gw := startWithConfig(t, matrixConfig(t, up), false)

	results := map[string]string{}
	var failures []string
	for _, p := range matrixProviders {
		for _, f := range matrixFormats {
			for _, stream := range []bool{false, true} {
				for _, feat := range matrixFeatures {
					err := runCell(t, gw.URL, p.model, p.upstream, f, stream, feat, func() []byte { mu.Lock(); defer mu.Unlock(); return lastBody })
					key := cellKey(p.name, f, stream, feat)
					if err != nil {
						results[key] = "❌"
						failures = append(failures, key+": "+err.Error())
					} else {
						results[key] = "✅"
					}
				}
			}
		}
		key := p.name + "/embeddings"
		if p.embedModel == "" {
			results[key] = "—"
			continue
		}
		if err := embedCell(t, gw.URL, p.model+"-embed"); err != nil {
			results[key] = "❌"
			failures = append(failures, key+": "+err.Error())
		} else {
			results[key] = "✅"
		}
	}
	for _, f := range failures {
		t.Error(f)
	}
	doc := renderMatrix(results)
	if *updateMatrix {
		if err := os.WriteFile(matrixDoc, []byte(doc), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	have, err := os.ReadFile(matrixDoc)
	if err != nil {
		t.Fatalf("%v (run with -update-matrix to write it)", err)
	}
	if string(have) != doc {
		t.Errorf("docs/compatibility.md does not match the test results; run: go test ./internal/e2e -run Matrix -update-matrix\n%s", doc)
	}
}

func cellKey(provider, format string, stream bool, feature string) string {
	mode := "json"
	if stream {
		mode = "stream"
	}
	return provider + "/" + format + "/" + mode + "/" + feature
}

func matrixConfig(t *testing.T, up string) *config.Config {
	t.Helper()
	tokenURL := newServer(t, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"access_token":"ya29.matrix","expires_in":3600,"token_type":"Bearer"}`))
	}))
	key, _ := rsa.GenerateKey(rand.Reader, 2048)
	pemKey := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: must(x509.MarshalPKCS8PrivateKey(key))})
	creds, _ := json.Marshal(map[string]string{"type": "service_account", "private_key": string(pemKey), "client_email": "m@p.iam.gserviceaccount.com", "token_uri": tokenURL})
	credFile := filepath.Join(t.TempDir(), "sa.json")
	os.WriteFile(credFile, creds, 0o600)
	var b strings.Builder
	fmt.Fprintf(&b, `master_key: %s
providers:
  - {name: openai, type: openai, base_url: "%[2]s/v1", api_key: k}
  - {name: azure, type: azure, base_url: "%[2]s", api_key: k}
  - {name: anthropic, type: anthropic, base_url: "%[2]s", api_key: k}
  - {name: gemini, type: gemini, base_url: "%[2]s", api_key: k}
  - {name: vertex, type: vertex, base_url: "%[2]s", project: p, location: us-central1, credentials_file: "%[3]s"}
  - {name: bedrock, type: bedrock, base_url: "%[2]s", region: us-east-1, access_key_id: AKID, secret_access_key: s}
  - {name: cohere, type: cohere, base_url: "%[2]s", api_key: k}
  - {name: mistral, type: mistral, base_url: "%[2]s/v1", api_key: k}
  - {name: groq, type: groq, base_url: "%[2]s/v1", api_key: k}
models:
`, masterKey, up, credFile)
	for _, p := range matrixProviders {
		fmt.Fprintf(&b, "  - {name: %s, deployments: [{provider: %s, model: %q}]}\n", p.model, p.name, p.upstream)
		if p.embedModel != "" {
			fmt.Fprintf(&b, "  - {name: %s-embed, deployments: [{provider: %s, model: %q}]}\n", p.model, p.name, p.embedModel)
		}
	}
	cfg, err := config.Parse("matrix.yaml", []byte(b.String()), os.Getenv)
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

const tinyPNG = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="

// runCell sends one request and checks the answer.
func runCell(t *testing.T, url, model, upstream, format string, stream bool, feature string, upstreamBody func() []byte) error {
	prompt := "Hello from the matrix"
	var body string
	tool := map[string]string{
		"chat":      `"tools":[{"type":"function","function":{"name":"get_weather","parameters":{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}}}]`,
		"messages":  `"tools":[{"name":"get_weather","input_schema":{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}}]`,
		"responses": `"tools":[{"type":"function","name":"get_weather","parameters":{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}}]`,
	}[format]
	image := map[string]string{
		"chat":      `[{"type":"text","text":"` + prompt + `"},{"type":"image_url","image_url":{"url":"data:image/png;base64,` + tinyPNG + `"}}]`,
		"messages":  `[{"type":"text","text":"` + prompt + `"},{"type":"image","source":{"type":"base64","media_type":"image/png","data":"` + tinyPNG + `"}}]`,
		"responses": `[{"type":"input_text","text":"` + prompt + `"},{"type":"input_image","image_url":"data:image/png;base64,` + tinyPNG + `"}]`,
	}[format]
	content := `"` + prompt + `"`
	if feature == "images" {
		content = image
	}
	extra := ""
	if feature == "tools" {
		extra = "," + tool
	}
	path := map[string]string{"chat": "/v1/chat/completions", "messages": "/v1/messages", "responses": "/v1/responses"}[format]
	switch format {
	case "chat":
		body = fmt.Sprintf(`{"model":%q,"stream":%v,"messages":[{"role":"user","content":%s}]%s}`, model, stream, content, extra)
	case "messages":
		body = fmt.Sprintf(`{"model":%q,"max_tokens":256,"stream":%v,"messages":[{"role":"user","content":%s}]%s}`, model, stream, content, extra)
	case "responses":
		body = fmt.Sprintf(`{"model":%q,"stream":%v,"input":[{"role":"user","content":%s}]%s}`, model, stream, content, extra)
	}
	req, _ := http.NewRequest(http.MethodPost, url+path, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+masterKey)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	var buf bytes.Buffer
	buf.ReadFrom(resp.Body)
	if resp.StatusCode != 200 {
		return fmt.Errorf("status %d: %.200s", resp.StatusCode, buf.String())
	}
	text, toolName, toolArgs, err := readAnswer(format, stream, buf.Bytes())
	if err != nil {
		return err
	}
	switch feature {
	case "text", "images":
		if want := mockReply(upstream, prompt); text != want {
			return fmt.Errorf("text %q, want %q", text, want)
		}
		if feature == "images" && !bytes.Contains(upstreamBody(), []byte(tinyPNG[:40])) {
			return fmt.Errorf("the image did not reach the upstream")
		}
	case "tools":
		if toolName != "get_weather" || toolArgs != `{"city":"example"}` {
			return fmt.Errorf("tool call %q %q", toolName, toolArgs)
		}
	}
	return nil
}

func mockReply(upstream, prompt string) string { return mock.Reply(upstream, prompt) }

// readAnswer extracts text and the first tool call from any format's
// answer, JSON or stream.
func readAnswer(format string, stream bool, body []byte) (text, toolName, toolArgs string, err error) {
	if !stream {
		r := gjson.ParseBytes(body)
		switch format {
		case "chat":
			return r.Get("choices.0.message.content").String(), r.Get("choices.0.message.tool_calls.0.function.name").String(), r.Get("choices.0.message.tool_calls.0.function.arguments").String(), nil
		case "messages":
			r.Get("content").ForEach(func(_, b gjson.Result) bool {
				switch b.Get("type").String() {
				case "text":
					text += b.Get("text").String()
				case "tool_use":
					if toolName == "" {
						toolName, toolArgs = b.Get("name").String(), compactJSON(b.Get("input").Raw)
					}
				}
				return true
			})
		case "responses":
			r.Get("output").ForEach(func(_, it gjson.Result) bool {
				switch it.Get("type").String() {
				case "message":
					text += it.Get("content.0.text").String()
				case "function_call":
					if toolName == "" {
						toolName, toolArgs = it.Get("name").String(), it.Get("arguments").String()
					}
				}
				return true
			})
		}
		return text, toolName, toolArgs, nil
	}
	data := sseData(body)
	if len(data) == 0 {
		return "", "", "", fmt.Errorf("empty stream")
	}
	ended := false
	for _, d := range data {
		ev := gjson.Parse(d)
		if ev.Get("error").Exists() || ev.Get("type").String() == "error" {
			return "", "", "", fmt.Errorf("error event: %s", d)
		}
		switch format {
		case "chat":
			if d == "[DONE]" {
				ended = true
				continue
			}
			text += ev.Get("choices.0.delta.content").String()
			if n := ev.Get("choices.0.delta.tool_calls.0.function.name").String(); n != "" && toolName == "" {
				toolName = n
			}
			if ev.Get("choices.0.delta.tool_calls.0.index").Int() == 0 {
				toolArgs += ev.Get("choices.0.delta.tool_calls.0.function.arguments").String()
			}
		case "messages":
			switch ev.Get("type").String() {
			case "content_block_start":
				if ev.Get("content_block.type").String() == "tool_use" && toolName == "" {
					toolName = ev.Get("content_block.name").String()
				}
			case "content_block_delta":
				text += ev.Get("delta.text").String()
				toolArgs += ev.Get("delta.partial_json").String()
			case "message_stop":
				ended = true
			}
		case "responses":
			switch ev.Get("type").String() {
			case "response.output_text.delta":
				text += ev.Get("delta").String()
			case "response.output_item.added":
				if ev.Get("item.type").String() == "function_call" && toolName == "" {
					toolName = ev.Get("item.name").String()
				}
			case "response.function_call_arguments.delta":
				toolArgs += ev.Get("delta").String()
			case "response.completed":
				ended = true
			}
		}
	}
	if !ended {
		return "", "", "", fmt.Errorf("stream did not end properly")
	}
	return text, toolName, compactJSON(toolArgs), nil
}

func compactJSON(s string) string {
	var b bytes.Buffer
	if json.Compact(&b, []byte(s)) != nil {
		return s
	}
	return b.String()
}

func embedCell(t *testing.T, url, model string) error {
	for _, format := range []string{"float", "base64"} {
		req, _ := http.NewRequest(http.MethodPost, url+"/v1/embeddings", strings.NewReader(`{"model":"`+model+`","input":["a b c","d e"],"encoding_format":"`+format+`"}`))
		req.Header.Set("Authorization", "Bearer "+masterKey)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return err
		}
		var buf bytes.Buffer
		buf.ReadFrom(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || len(gjson.GetBytes(buf.Bytes(), "data").Array()) != 2 || gjson.GetBytes(buf.Bytes(), "usage.prompt_tokens").Int() == 0 {
			return fmt.Errorf("%s: %d %.200s", format, resp.StatusCode, buf.String())
		}
		if got := gjson.GetBytes(buf.Bytes(), "data.0.embedding"); (format == "base64") != (got.Type == gjson.String) {
			return fmt.Errorf("%s: embedding is %s", format, got.Type)
		}
	}
	return nil
}

func renderMatrix(results map[string]string) string {
	var b strings.Builder
	b.WriteString(`# Compatibility matrix

Generated by ` + "`go test ./internal/e2e -run TestCompatibilityMatrix -update-matrix`" + `; the same test
fails when this page differs from what it measures, so the table cannot claim what is
not tested. Each ✅ is a request through Switchboard to the provider's wire format
(served by ` + "`switchboard mock`" + `), checked for the exact text, the tool call's name and
arguments, and that the image reached the provider. — means the provider has no
embeddings API. The recorded-traffic tests (see testing.md) cover the same providers
against real captured responses.

`)
	names := make([]string, 0, len(matrixProviders))
	for _, p := range matrixProviders {
		names = append(names, p.name)
	}
	sort.Strings(names)
	title := map[string]string{"chat": "OpenAI chat completions (`/v1/chat/completions`)",
		"messages": "Anthropic Messages (`/v1/messages`)", "responses": "OpenAI Responses (`/v1/responses`)"}
	for _, f := range matrixFormats {
		b.WriteString("## " + title[f] + "\n\n| provider | JSON text | JSON tools | JSON images | stream text | stream tools | stream images |\n|---|---|---|---|---|---|---|\n")
		for _, p := range names {
			row := []string{p}
			for _, stream := range []bool{false, true} {
				for _, feat := range matrixFeatures {
					row = append(row, results[cellKey(p, f, stream, feat)])
				}
			}
			b.WriteString("| " + strings.Join(row, " | ") + " |\n")
		}
		b.WriteString("\n")
	}
	b.WriteString("## Embeddings (`/v1/embeddings`, float and base64)\n\n| provider | embeddings |\n|---|---|\n")
	for _, p := range names {
		b.WriteString("| " + p + " | " + results[p+"/embeddings"] + " |\n")
	}
	return b.String()
}
