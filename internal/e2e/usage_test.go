package e2e

import (
	"net/http"
	"testing"

	"github.com/switchboard-gw/switchboard/internal/fixtures"
	"github.com/switchboard-gw/switchboard/internal/mock"
	"github.com/switchboard-gw/switchboard/internal/tokens"
)

// A provider that reports no usage (some OpenAI-compatible servers ignore
// include_usage) still gets counted: offline, and marked estimated.
func TestUsageEstimatedWhenMissing(t *testing.T) {
	body := `{"id":"x","object":"chat.completion","created":1,"model":"m","choices":[{"index":0,"message":{"role":"assistant","content":"Four words right here."},"finish_reason":"stop"}]}`
	gw := openAIGateway(t, jsonReply([]byte(body)), "m")
	resp, _ := post(t, gw.URL, "/v1/chat/completions", `{"model":"gpt","messages":[{"role":"user","content":"Count these words please"}]}`)
	if resp.StatusCode != 200 {
		t.Fatal(resp.StatusCode)
	}
	rec := gw.nextRecord(t)
	if !rec.Usage.Estimated || rec.Usage.Output != tokens.Count("Four words right here.") || rec.Usage.Input != tokens.Count("Count these words please")+3 {
		t.Errorf("usage = %+v", rec.Usage)
	}
	stream := "data: {\"id\":\"x\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"m\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Four words\"},\"finish_reason\":null}]}\n\n" +
		"data: {\"id\":\"x\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"m\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\" right here.\"},\"finish_reason\":\"stop\"}]}\n\ndata: [DONE]\n\n"
	gw = openAIGateway(t, fixtures.Reply{Header: http.Header{"Content-Type": {"text/event-stream"}}, Body: []byte(stream)}, "m")
	post(t, gw.URL, "/v1/chat/completions", `{"model":"gpt","stream":true,"messages":[{"role":"user","content":"Count these words please"}]}`)
	rec = gw.nextRecord(t)
	if !rec.Usage.Estimated || rec.Usage.Output != tokens.Count("Four words right here.") {
		t.Errorf("stream usage = %+v", rec.Usage)
	}
	// Reported usage is never replaced.
	_, up := startMock(t, mock.Options{})
	gw = startGateway(t, mockConfig, up)
	post(t, gw.URL, "/v1/chat/completions", `{"model":"gpt","messages":[{"role":"user","content":"hi"}]}`)
	if rec := gw.nextRecord(t); rec.Usage.Estimated || rec.Usage.Output == 0 {
		t.Errorf("reported usage = %+v", rec.Usage)
	}
}
