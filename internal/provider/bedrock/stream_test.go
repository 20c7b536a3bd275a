package bedrock

import (
	"bytes"
	"encoding/json"
	"io"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws/protocol/eventstream"
)

func frame(typ, payload string) []byte {
	var b bytes.Buffer
	msg := eventstream.Message{Payload: []byte(payload)}
	msg.Headers.Set(":event-type", eventstream.StringValue(typ))
	msg.Headers.Set(":message-type", eventstream.StringValue("event"))
	eventstream.NewEncoder().Encode(&b, msg)
	return b.Bytes()
}

// FuzzStream: any bytes into the event-stream decoder and translator end
// in EOF or an error, never a panic; every chunk is JSON.
func FuzzStream(f *testing.F) {
	f.Add(append(append(frame("messageStart", `{"role":"assistant"}`), frame("contentBlockDelta", `{"contentBlockIndex":0,"delta":{"text":"hi"}}`)...), append(frame("messageStop", `{"stopReason":"end_turn"}`), frame("metadata", `{"usage":{"inputTokens":1,"outputTokens":1,"totalTokens":2}}`)...)...))
	f.Add(frame("contentBlockStart", `{"contentBlockIndex":0,"start":{"toolUse":{"toolUseId":"t","name":"n"}}}`))
	f.Add([]byte{0, 0, 0, 16, 0, 0, 0, 0})
	f.Fuzz(func(t *testing.T, in []byte) {
		s := newStream(io.NopCloser(bytes.NewReader(in)), "fuzz", "m", true, 0)
		for i := 0; i < len(in)+16; i++ {
			chunk, err := s.Next()
			if err != nil {
				return
			}
			if !json.Valid(chunk) {
				t.Fatalf("chunk is not JSON: %q", chunk)
			}
		}
		t.Fatal("the stream never ended")
	})
}
