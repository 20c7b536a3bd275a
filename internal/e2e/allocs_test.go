package e2e

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"testing"

	"github.com/switchboard-gw/switchboard/internal/config"
	"github.com/switchboard-gw/switchboard/internal/gateway"
	"github.com/switchboard-gw/switchboard/internal/server"
	"github.com/switchboard-gw/switchboard/internal/telemetry"
)

// memoryUpstream answers every call with one canned chat completion,
// reusing its response: what the benchmark counts is the gateway's work,
// not a transport's.
type memoryUpstream struct {
	resp http.Response
	body resettable
}

type resettable struct{ bytes.Reader }

func (*resettable) Close() error { return nil }

func newMemoryUpstream(answer []byte) *memoryUpstream {
	u := &memoryUpstream{}
	u.body.Reset(answer)
	u.resp = http.Response{StatusCode: http.StatusOK, Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1, ContentLength: int64(len(answer)),
		Header: http.Header{"Content-Type": {"application/json"}, "X-Ratelimit-Remaining-Requests": {"9999"}, "X-Ratelimit-Limit-Requests": {"10000"}},
		Body:   &u.body}
	return u
}

func (u *memoryUpstream) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Body != nil {
		req.Body.Close()
	}
	u.body.Seek(0, io.SeekStart)
	u.resp.Request = req
	return &u.resp, nil
}

// discardWriter is a reusable ResponseWriter.
type discardWriter struct {
	h      http.Header
	status int
	n      int
}

func (w *discardWriter) Header() http.Header { return w.h }
func (w *discardWriter) WriteHeader(s int)   { w.status = s }
func (w *discardWriter) Write(p []byte) (int, error) {
	w.n += len(p)
	return len(p), nil
}

// BenchmarkHandlerAllocs counts the allocations of one non-streaming
// pass-through request inside Switchboard's handler (master key, metrics
// on, no request log), with the HTTP server's connection handling and the
// upstream transport replaced by in-memory ones: what is left is
// Switchboard's own work plus the net/http helpers it calls (building the
// upstream request, header values, the body limit).
func BenchmarkHandlerAllocs(b *testing.B) {
	answer := []byte(`{"id":"chatcmpl-1","object":"chat.completion","created":1,"model":"mock-gpt","choices":[{"index":0,"message":{"role":"assistant","content":"Hello there, five words exactly."},"finish_reason":"stop"}],"usage":{"prompt_tokens":20,"completion_tokens":7,"total_tokens":27}}`)
	env := map[string]string{"UPSTREAM": "http://upstream.invalid", "MASTER": masterKey}
	cfg, err := config.Parse("bench.yaml", []byte(mockConfig), func(k string) string { return env[k] })
	if err != nil {
		b.Fatal(err)
	}
	gw, err := gateway.NewWithClient(cfg, &http.Client{Transport: newMemoryUpstream(answer)})
	if err != nil {
		b.Fatal(err)
	}
	metrics := telemetry.NewMetrics()
	srv := server.New(server.Options{Config: cfg, Gateway: gw, Log: slog.New(slog.DiscardHandler), OnRecord: metrics.Recorder(nil, nil)})
	body := []byte(`{"model":"gpt","temperature":0.2,"max_tokens":64,"messages":[{"role":"system","content":"You are terse."},{"role":"user","content":"Say hello in five words."}]}`)
	parent, cancel := context.WithCancel(context.Background()) // like the server's per-connection context
	defer cancel()
	req, _ := http.NewRequestWithContext(parent, http.MethodPost, "http://gateway/v1/chat/completions", nil)
	req.Header.Set("Authorization", "Bearer "+masterKey)
	req.Header.Set("Content-Type", "application/json")
	req.ContentLength = int64(len(body))
	var in resettable
	w := &discardWriter{h: http.Header{}}
	serve := func() {
		in.Reset(body)
		req.Body = &in
		clear(w.h)
		srv.ServeHTTP(w, req)
		if w.status != http.StatusOK {
			b.Fatalf("status %d, %s", w.status, strconv.Itoa(w.n))
		}
	}
	serve()
	b.ReportAllocs()
	for b.Loop() {
		serve()
	}
}
