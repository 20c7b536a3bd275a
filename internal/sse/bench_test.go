package sse

import (
	"bytes"
	"io"
	"strings"
	"testing"
)

// BenchmarkPassThrough is the cost of relaying an OpenAI stream chunk by
// chunk — read an event, write it — per chunk.
func BenchmarkPassThrough(b *testing.B) {
	chunk := `data: {"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"gpt-4o-mini","choices":[{"index":0,"delta":{"content":"word "},"finish_reason":null}]}` + "\n\n"
	stream := []byte(strings.Repeat(chunk, 100) + "data: [DONE]\n\n")
	b.ReportAllocs()
	b.SetBytes(int64(len(stream)))
	for range b.N {
		r := NewReader(bytes.NewReader(stream))
		for {
			ev, err := r.Next()
			if err != nil {
				break
			}
			WriteData(io.Discard, ev.Data)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*101), "ns/chunk")
}
