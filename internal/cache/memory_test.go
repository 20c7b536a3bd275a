package cache

import (
	"context"
	"crypto/sha256"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"
)

// typicalAnswer is a chat completion of about 600 bytes, like a short
// assistant reply with usage.
var typicalAnswer = []byte(`{"id":"chatcmpl-0123456789","object":"chat.completion","created":1764000000,"model":"gpt-4o-mini","choices":[{"index":0,"message":{"role":"assistant","content":"` +
	strings.Repeat("A cache keeps answers to repeated requests. ", 9) + `","refusal":null},"finish_reason":"stop","logprobs":null}],"usage":{"prompt_tokens":24,"completion_tokens":90,"total_tokens":114}}`)

// BenchmarkMemoryPer10k reports the heap the in-process cache holds per
// 10,000 entries of a typical answer (bytes/10k), and its own weight
// accounting for them.
func BenchmarkMemoryPer10k(b *testing.B) {
	ctx := context.Background()
	for range b.N {
		runtime.GC()
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		m := NewMemory(1 << 30)
		for i := range 10_000 {
			k := Key(sha256.Sum256([]byte(strconv.Itoa(i))))
			m.Set(ctx, k, &Entry{Body: append([]byte(nil), typicalAnswer...), Created: time.Now(), TTL: time.Hour, Group: "gpt",
				Scope: "key:key_0123456789abcdef", Provider: "openai", Model: "gpt-4o-mini", CostUSD: 0.0001, RequestID: "req_0123456789abcdef0123456789abcdef"})
		}
		m.c.CleanUp()
		runtime.GC()
		runtime.ReadMemStats(&after)
		st, _ := m.Stats(ctx)
		if st.Entries != 10_000 {
			b.Fatalf("%d entries", st.Entries)
		}
		b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc), "heap-bytes/10k")
		b.ReportMetric(float64(st.Bytes), "weighed-bytes/10k")
		b.ReportMetric(float64(len(typicalAnswer)), "answer-bytes")
		runtime.KeepAlive(m)
	}
}

// The in-process cache holds no more than its bound: older entries make
// way.
func TestMemoryBound(t *testing.T) {
	ctx := context.Background()
	m := NewMemory(200 * 1024)
	for i := range 2000 {
		k := Key(sha256.Sum256([]byte(strconv.Itoa(i))))
		m.Set(ctx, k, &Entry{Body: typicalAnswer, TTL: time.Hour, Created: time.Now()})
	}
	m.c.CleanUp()
	st, _ := m.Stats(ctx)
	if st.Bytes > 200*1024 || st.Entries == 0 || st.Entries >= 2000 {
		t.Errorf("after 2000 sets into 200 KiB: %+v", st)
	}
	// TTL: an entry past its TTL is gone.
	k := Key(sha256.Sum256([]byte("short")))
	m.Set(ctx, k, &Entry{Body: typicalAnswer, TTL: 50 * time.Millisecond, Created: time.Now()})
	if e, _ := m.Get(ctx, k, "", ""); e == nil {
		t.Fatal("missing at once")
	}
	time.Sleep(80 * time.Millisecond)
	if e, _ := m.Get(ctx, k, "", ""); e != nil {
		t.Error("alive after its TTL")
	}
}
