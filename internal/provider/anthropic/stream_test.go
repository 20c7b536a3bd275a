package anthropic

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/switchboard-gw/switchboard/internal/api"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// translate runs an Anthropic event stream through the translator and
// renders what the client would see as SSE.
func translate(t testing.TB, events []byte, tr translation, includeUsage bool) string {
	s := newStream(io.NopCloser(bytes.NewReader(events)), "golden", tr, includeUsage, 1700000000)
	var out strings.Builder
	for {
		chunk, err := s.Next()
		if err == io.EOF {
			out.WriteString("data: [DONE]\n\n")
			break
		}
		if err != nil {
			e := api.As(err)
			fmt.Fprintf(&out, "error: %d %s %s\n", e.Status, e.Type, e.Message)
			break
		}
		if !json.Valid(chunk) {
			t.Fatalf("chunk is not JSON: %s", chunk)
		}
		fmt.Fprintf(&out, "data: %s\n\n", chunk)
	}
	u := s.Usage()
	fmt.Fprintf(&out, "usage: input=%d output=%d cache_read=%d cache_write=%d\n", u.Input, u.Output, u.CacheRead, u.CacheWrite)
	return out.String()
}

// Golden files pin the exact chunks each event stream becomes. Run
// `go test ./internal/provider/anthropic -update` after an intended change.
func TestStreamGolden(t *testing.T) {
	files, _ := filepath.Glob("testdata/*.events")
	if len(files) == 0 {
		t.Fatal("no testdata")
	}
	for _, f := range files {
		for _, usage := range []bool{true, false} {
			name := strings.TrimSuffix(filepath.Base(f), ".events")
			if usage {
				name += ".usage"
			}
			t.Run(name, func(t *testing.T) {
				in, err := os.ReadFile(f)
				if err != nil {
					t.Fatal(err)
				}
				got := translate(t, in, translation{}, usage)
				golden := filepath.Join("testdata", name+".golden")
				if *update {
					os.WriteFile(golden, []byte(got), 0o644)
				}
				want, err := os.ReadFile(golden)
				if err != nil {
					t.Fatalf("%v (run with -update to create it)", err)
				}
				if got != string(want) {
					t.Errorf("translation changed:\n--- got\n%s\n--- want\n%s", got, want)
				}
			})
		}
	}
}

// FuzzStream: arbitrary event sequences never panic, always end in EOF or
// an error, and every chunk produced is JSON.
func FuzzStream(f *testing.F) {
	files, _ := filepath.Glob("testdata/*.events")
	for _, file := range files {
		b, _ := os.ReadFile(file)
		f.Add(b)
	}
	f.Add([]byte("event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n"))
	f.Add([]byte("data: {\"type\":\"content_block_delta\",\"index\":5,\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\"x\"}}\n\n"))
	f.Fuzz(func(t *testing.T, in []byte) {
		s := newStream(io.NopCloser(bytes.NewReader(in)), "fuzz", translation{jsonTool: len(in)%2 == 0}, true, 0)
		for i := 0; ; i++ {
			chunk, err := s.Next()
			if err != nil {
				return
			}
			if !json.Valid(chunk) {
				t.Fatalf("chunk is not JSON: %q", chunk)
			}
			if i > len(in)+10 {
				t.Fatal("stream yields more chunks than its input could hold")
			}
		}
	})
}
