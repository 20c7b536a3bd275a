package anthropic

import (
	"bytes"
	"io"
	"os"
	"testing"

	"github.com/switchboard-gw/switchboard/internal/sse"
)

// BenchmarkTranslateStream is the cost of turning an Anthropic event
// stream (text and thinking, 11 events) into OpenAI chunks and writing
// them as SSE, per event.
func BenchmarkTranslateStream(b *testing.B) {
	events, err := os.ReadFile("testdata/text-thinking.events")
	if err != nil {
		b.Fatal(err)
	}
	n := bytes.Count(events, []byte("\nevent: ")) + 1
	b.ReportAllocs()
	b.SetBytes(int64(len(events)))
	for range b.N {
		s := newStream(io.NopCloser(bytes.NewReader(events)), "bench", translation{}, true, 1700000000)
		for {
			chunk, err := s.Next()
			if err != nil {
				break
			}
			sse.WriteData(io.Discard, chunk)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/event")
}
