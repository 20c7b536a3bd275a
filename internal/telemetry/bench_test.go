package telemetry

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/switchboard-gw/switchboard/internal/config"
	"github.com/switchboard-gw/switchboard/internal/gateway"
	"github.com/switchboard-gw/switchboard/internal/provider"
	"github.com/switchboard-gw/switchboard/internal/reqlog"
	"github.com/switchboard-gw/switchboard/internal/server"
	"github.com/switchboard-gw/switchboard/internal/store"
)

type discard struct{}

func (discard) InsertLogs(context.Context, []store.LogEntry) error { return nil }

// record is a typical finished chat request: one attempt, usage, cost.
func record() *server.Record {
	d := &gateway.Deployment{ProviderName: "openai", ProviderType: "openai", Host: "api.openai.com", Model: "gpt-4o-mini"}
	start := time.Now()
	return &server.Record{RequestID: "req_0123456789abcdef", Endpoint: "chat", KeyID: "key_1", TeamID: "team_1", Model: "gpt", Group: "gpt",
		Provider: "openai", Upstream: "gpt-4o-mini", Status: 200, Attempts: 1, Usage: provider.Usage{Input: 120, Output: 300},
		Latency: 800 * time.Millisecond, Overhead: 40 * time.Microsecond, Start: start, CostUSD: 0.0002, Cache: "bypass", MaxTokens: 512,
		ResponseID: "chatcmpl-1", FinishReasons: []string{"stop"},
		Trace: []gateway.Attempt{{Group: "gpt", Provider: "openai", Model: "gpt-4o-mini", Outcome: "ok", Status: 200, Latency: 790 * time.Millisecond, Start: start, Deployment: d}}}
}

// BenchmarkSignals is what each signal costs a request, on its own
// goroutine, after the answer was sent: metrics, the request log's
// enqueue, and a trace (sampled, and not).
func BenchmarkSignals(b *testing.B) {
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	collector := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusOK) }))
	defer collector.Close()
	m := NewMetrics()
	logs := reqlog.New(discard{}, quiet, reqlog.Options{Queue: 1 << 20})
	defer logs.Close()
	zero := 0.0
	sampled, err := NewTracer(context.Background(), config.Tracing{Endpoint: collector.URL}, func(string) string { return "" }, quiet)
	if err != nil {
		b.Fatal(err)
	}
	defer sampled.Shutdown(context.Background())
	unsampled, _ := NewTracer(context.Background(), config.Tracing{Endpoint: collector.URL, SampleRate: &zero}, func(string) string { return "" }, quiet)
	defer unsampled.Shutdown(context.Background())
	rec := record()
	for _, c := range []struct {
		name string
		fn   func(*server.Record)
	}{
		{"metrics", m.Observe},
		{"log", func(r *server.Record) { logs.Record(r) }},
		{"trace-sampled", sampled.Export},
		{"trace-unsampled", unsampled.Export},
		{"all", func(r *server.Record) { m.Observe(r); sampled.Export(r); logs.Record(r) }},
	} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for range b.N {
				c.fn(rec)
			}
		})
	}
}
