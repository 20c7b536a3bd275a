package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/openai/openai-go/v3"

	"github.com/switchboard-gw/switchboard/internal/mock"
	"github.com/switchboard-gw/switchboard/internal/spectest"
)

type openAIError struct {
	Error struct {
		Message string  `json:"message"`
		Type    string  `json:"type"`
		Param   *string `json:"param"`
		Code    *string `json:"code"`
	} `json:"error"`
}

// Bad input gets an OpenAI error with the right status, type and code, and
// never reaches the upstream.
func TestBadInput(t *testing.T) {
	m, up := startMock(t, mock.Options{})
	yaml := mockConfig + "max_body_bytes: 4096\n"
	gw := startGateway(t, yaml, up)
	big := `{"model":"gpt","messages":[{"role":"user","content":"` + strings.Repeat("x", 5000) + `"}]}`
	cases := []struct {
		name, path, body string
		header           []string
		status           int
		typ, code, param string
	}{
		{"malformed JSON", "/v1/chat/completions", `{"model":"gpt","messages":[`, nil, 400, "invalid_request_error", "invalid_json", ""},
		{"not an object", "/v1/chat/completions", `[1,2]`, nil, 400, "invalid_request_error", "invalid_json", ""},
		{"model missing", "/v1/chat/completions", `{"messages":[{"role":"user","content":"hi"}]}`, nil, 400, "invalid_request_error", "missing_required_parameter", "model"},
		{"model wrong type", "/v1/chat/completions", `{"model":42,"messages":[{"role":"user","content":"hi"}]}`, nil, 400, "invalid_request_error", "invalid_type", "model"},
		{"messages missing", "/v1/chat/completions", `{"model":"gpt"}`, nil, 400, "invalid_request_error", "missing_required_parameter", "messages"},
		{"messages empty", "/v1/chat/completions", `{"model":"gpt","messages":[]}`, nil, 400, "invalid_request_error", "invalid_value", "messages"},
		{"bad role", "/v1/chat/completions", `{"model":"gpt","messages":[{"role":"wizard","content":"hi"}]}`, nil, 400, "invalid_request_error", "invalid_value", "messages"},
		{"content wrong type", "/v1/chat/completions", `{"model":"gpt","messages":[{"role":"user","content":5}]}`, nil, 400, "invalid_request_error", "invalid_type", "messages"},
		{"temperature wrong type", "/v1/chat/completions", `{"model":"gpt","temperature":"hot","messages":[{"role":"user","content":"hi"}]}`, nil, 400, "invalid_request_error", "invalid_type", "temperature"},
		{"stream wrong type", "/v1/chat/completions", `{"model":"gpt","stream":"yes","messages":[{"role":"user","content":"hi"}]}`, nil, 400, "invalid_request_error", "invalid_type", "stream"},
		{"max_tokens negative", "/v1/chat/completions", `{"model":"gpt","max_tokens":-1,"messages":[{"role":"user","content":"hi"}]}`, nil, 400, "invalid_request_error", "invalid_value", "max_tokens"},
		{"body too large", "/v1/chat/completions", big, nil, 413, "invalid_request_error", "request_too_large", ""},
		{"unknown model", "/v1/chat/completions", `{"model":"nope","messages":[{"role":"user","content":"hi"}]}`, nil, 404, "invalid_request_error", "model_not_found", "model"},
		{"no key", "/v1/chat/completions", `{"model":"gpt","messages":[{"role":"user","content":"hi"}]}`, []string{"Authorization", ""}, 401, "authentication_error", "invalid_api_key", ""},
		{"wrong key", "/v1/chat/completions", `{"model":"gpt","messages":[{"role":"user","content":"hi"}]}`, []string{"Authorization", "Bearer sk-wrong"}, 401, "authentication_error", "invalid_api_key", ""},
		{"wrong x-api-key", "/v1/chat/completions", `{"model":"gpt","messages":[{"role":"user","content":"hi"}]}`, []string{"Authorization", "", "x-api-key", "nope"}, 401, "authentication_error", "invalid_api_key", ""},
		{"embeddings input missing", "/v1/embeddings", `{"model":"embed"}`, nil, 400, "invalid_request_error", "missing_required_parameter", "input"},
		{"embeddings bad format", "/v1/embeddings", `{"model":"embed","input":"x","encoding_format":"hex"}`, nil, 400, "invalid_request_error", "invalid_value", "encoding_format"},
		{"embeddings unknown model", "/v1/embeddings", `{"model":"nope","input":"x"}`, nil, 404, "invalid_request_error", "model_not_found", "model"},
		{"embeddings on Anthropic", "/v1/embeddings", `{"model":"claude-embed","input":"x"}`, nil, 400, "invalid_request_error", "unsupported_model", "model"},
		{"unknown route", "/v1/nothing-here", `{}`, nil, 404, "invalid_request_error", "unknown_url", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			before := m.Requests()
			resp, body := post(t, gw.URL, c.path, c.body, c.header...)
			if resp.StatusCode != c.status {
				t.Fatalf("status = %d, want %d: %s", resp.StatusCode, c.status, body)
			}
			var e openAIError
			if err := json.Unmarshal(body, &e); err != nil || e.Error.Message == "" {
				t.Fatalf("not an OpenAI error body: %s", body)
			}
			spectest.Validate(t, spectest.ErrorBody, body)
			if e.Error.Type != c.typ || deref(e.Error.Code) != c.code || deref(e.Error.Param) != c.param {
				t.Errorf("error = type %q code %q param %q; want %q %q %q (%s)", e.Error.Type, deref(e.Error.Code), deref(e.Error.Param), c.typ, c.code, c.param, e.Error.Message)
			}
			if m.Requests() != before {
				t.Errorf("the request reached the upstream")
			}
			if resp.Header.Get("x-request-id") == "" {
				t.Errorf("no x-request-id on an error")
			}
		})
	}
	// The SDK surfaces these as typed errors too.
	client := sdk(gw.URL)
	_, err := client.Chat.Completions.New(context.Background(), openai.ChatCompletionNewParams{
		Model: "nope", Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("hi")}})
	var apiErr *openai.Error
	if !errors.As(err, &apiErr) || apiErr.StatusCode != 404 || apiErr.Code != "model_not_found" {
		t.Errorf("SDK error = %v", err)
	}
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// Upstream errors keep their status and message, in the client's format,
// whatever the provider's error shape.
func TestUpstreamErrors(t *testing.T) {
	_, up := startMock(t, mock.Options{})
	gw := startGateway(t, mockConfig, up)
	for _, c := range []struct {
		model  string
		status int
		typ    string
	}{
		{"gpt", 400, "invalid_request_error"},
		{"gpt", 429, "rate_limit_exceeded"},
		{"gpt", 500, "server_error"},
		{"azure-gpt", 503, "server_error"},
		{"claude", 400, "invalid_request_error"},
		{"claude", 429, "rate_limit_error"},
		{"claude", 529, "overloaded_error"},
	} {
		body := `{"model":"` + c.model + `","messages":[{"role":"user","content":"[[mock:status=` + itoa(c.status) + `]]"}]}`
		resp, out := post(t, gw.URL, "/v1/chat/completions", body)
		var e openAIError
		json.Unmarshal(out, &e)
		if resp.StatusCode != c.status || e.Error.Type != c.typ || !strings.Contains(e.Error.Message, "Simulated upstream error") {
			t.Errorf("%s %d: got %d %s", c.model, c.status, resp.StatusCode, out)
		}
		if c.status == 429 && resp.Header.Get("Retry-After") != "1" {
			t.Errorf("%s 429: Retry-After = %q", c.model, resp.Header.Get("Retry-After"))
		}
		if resp.Header.Get("x-switchboard-attempts") != "1" {
			t.Errorf("attempts header = %q", resp.Header.Get("x-switchboard-attempts"))
		}
	}
}

func itoa(n int) string { b, _ := json.Marshal(n); return string(b) }

// A model's timeout ends a hung upstream call with a 504.
func TestUpstreamTimeout(t *testing.T) {
	_, up := startMock(t, mock.Options{})
	gw := startGateway(t, mockConfig, up)
	start := time.Now()
	resp, out := post(t, gw.URL, "/v1/chat/completions", `{"model":"slow","messages":[{"role":"user","content":"[[mock:hang]]"}]}`)
	if resp.StatusCode != 504 || !strings.Contains(string(out), "timeout_error") {
		t.Fatalf("got %d %s", resp.StatusCode, out)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("timeout of 300ms took %v", d)
	}
}

// A client that goes away cancels the upstream call at once.
func TestClientDisconnectCancelsUpstream(t *testing.T) {
	var cancelled atomic.Bool
	started := make(chan struct{})
	ended := make(chan struct{})
	hang := newHangingUpstream(t, started, ended, &cancelled)
	gw := startGateway(t, mockConfig, hang)
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, gw.URL+"/v1/chat/completions",
		strings.NewReader(`{"model":"gpt","messages":[{"role":"user","content":"hi"}]}`))
	req.Header.Set("Authorization", "Bearer "+masterKey)
	go func() {
		<-started
		cancel()
	}()
	if _, err := http.DefaultClient.Do(req); err == nil {
		t.Fatal("request should have been cancelled")
	}
	select {
	case <-ended:
	case <-time.After(5 * time.Second):
		t.Fatal("upstream call still running 5s after the client left")
	}
	if !cancelled.Load() {
		t.Error("upstream did not see its request cancelled")
	}
	rec := gw.nextRecord(t)
	if rec.Status != 499 {
		t.Errorf("record status = %d, want 499", rec.Status)
	}
}

func newHangingUpstream(t *testing.T, started, ended chan struct{}, cancelled *atomic.Bool) string {
	t.Helper()
	srv := newServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.ReadAll(r.Body)
		close(started)
		<-r.Context().Done()
		cancelled.Store(true)
		close(ended)
	}))
	return srv
}

// A stream that breaks after it started ends with an error event, never
// [DONE]; the SDK reports an error rather than a short answer.
func TestBrokenStreams(t *testing.T) {
	_, up := startMock(t, mock.Options{})
	gw := startGateway(t, mockConfig, up)
	for _, c := range []struct{ model, prompt string }{
		{"gpt", "[[mock:cut-after=3]] hello"},
		{"claude", "[[mock:cut-after=4]] hello"},
		{"gpt", "[[mock:error-event]] hello"},
		{"claude", "[[mock:error-event]] hello"},
	} {
		t.Run(c.model+c.prompt, func(t *testing.T) {
			body := `{"model":"` + c.model + `","stream":true,"messages":[{"role":"user","content":"` + c.prompt + `"}]}`
			resp, out := post(t, gw.URL, "/v1/chat/completions", body)
			if resp.StatusCode != 200 {
				t.Fatalf("status %d", resp.StatusCode)
			}
			data := sseData(out)
			last := data[len(data)-1]
			if strings.Contains(string(out), "[DONE]") || !strings.HasPrefix(last, `{"error":`) {
				t.Fatalf("stream did not end with an error event:\n%s", out)
			}
			spectest.Validate(t, spectest.ErrorBody, []byte(last))
			rec := gw.nextRecord(t)
			if rec.Status < 500 || rec.Error == "" {
				t.Errorf("record = %+v", rec)
			}

			client := sdk(gw.URL)
			stream := client.Chat.Completions.NewStreaming(context.Background(), openai.ChatCompletionNewParams{
				Model: c.model, Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage(c.prompt)}})
			for stream.Next() {
			}
			if stream.Err() == nil {
				t.Error("the SDK saw a complete stream")
			}
			gw.nextRecord(t)
		})
	}
	// A stream that fails before its first byte is an ordinary error.
	resp, out := post(t, gw.URL, "/v1/chat/completions", `{"model":"gpt","stream":true,"messages":[{"role":"user","content":"[[mock:cut-after=0]]"}]}`)
	if resp.StatusCode != 502 || !strings.Contains(string(out), `"error"`) {
		t.Errorf("cut before first byte: %d %s", resp.StatusCode, out)
	}
}
