package reqlog

import (
	"context"
	"testing"
	"time"

	"github.com/switchboard-gw/switchboard/internal/gateway"
	"github.com/switchboard-gw/switchboard/internal/provider"
	"github.com/switchboard-gw/switchboard/internal/server"
	"github.com/switchboard-gw/switchboard/internal/store"
)

type discard struct{}

func (discard) InsertLogs(context.Context, []store.LogEntry) error { return nil }

var benchRecord = &server.Record{RequestID: "req_0123456789abcdef", Endpoint: "chat", KeyID: "key_x", TeamID: "team_y", Model: "gpt",
	Provider: "openai", Upstream: "gpt-4o-mini", Status: 200, Attempts: 1, Usage: provider.Usage{Input: 12, Output: 40},
	Latency: 80 * time.Millisecond, Start: time.Now(),
	Trace: []gateway.Attempt{{Provider: "openai", Model: "gpt-4o-mini", Outcome: "ok", Status: 200, Latency: 80 * time.Millisecond}}}

// What logging adds to a request: building the entry and queueing it.
// Requests arrive here far faster than the writer drains, so the timer
// stops while the queue empties: every entry is queued, none dropped.
func BenchmarkRecord(b *testing.B) {
	w := New(discard{}, quiet, Options{Queue: 1 << 14, Batch: 500, Interval: time.Millisecond})
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		if i%(1<<13) == 0 {
			b.StopTimer()
			for w.QueueDepth() > 0 {
				time.Sleep(time.Millisecond)
			}
			b.StartTimer()
		}
		w.Record(benchRecord)
	}
	b.StopTimer()
	w.Close()
	b.ReportMetric(float64(w.Dropped())/float64(b.N), "dropped/op")
}

// The writer's side: ids, trace encoding and batching, per entry.
func BenchmarkWriter(b *testing.B) {
	w := New(discard{}, quiet, Options{Queue: b.N + 1, Batch: 500, Interval: time.Hour})
	for i := 0; i < b.N; i++ {
		w.Record(benchRecord)
	}
	b.ResetTimer()
	b.ReportAllocs()
	w.Close()
}
