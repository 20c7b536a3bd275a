package gemini

import (
	"bytes"
	"encoding/json"
	"io"
	"testing"
)

// FuzzStream: any bytes into the Gemini stream translator (CRLF-separated
// events, no [DONE]) end in EOF or an error, never a panic, and every chunk
// is JSON.
func FuzzStream(f *testing.F) {
	f.Add([]byte("data: {\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"hi\"}],\"role\":\"model\"},\"finishReason\":\"STOP\",\"index\":0}],\"usageMetadata\":{\"promptTokenCount\":1,\"candidatesTokenCount\":1,\"totalTokenCount\":2}}\r\n\r\n"))
	f.Add([]byte("data: {\"candidates\":[{\"content\":{\"parts\":[{\"functionCall\":{\"name\":\"f\",\"willContinue\":true}}]}}]}\r\n\r\ndata: {\"candidates\":[{\"content\":{\"parts\":[{\"functionCall\":{\"partialArgs\":[{\"jsonPath\":\"$.a.b\",\"stringValue\":\"x\",\"willContinue\":true}]}}]}}]}\r\n\r\n"))
	f.Add([]byte("data: {\"error\":{\"code\":429,\"message\":\"slow down\",\"status\":\"RESOURCE_EXHAUSTED\"}}\r\n\r\n"))
	f.Add([]byte("data: {\"promptFeedback\":{\"blockReason\":\"SAFETY\"}}\n\n"))
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

func TestCleanSchema(t *testing.T) {
	in := `{"$schema":"x","type":"object","additionalProperties":false,"properties":{"a":{"type":["integer","null"]},"b":{"oneOf":[{"type":"string"},{"type":"null"}]},"c":{"$ref":"#/$defs/C"},"d":{"enum":[1,2]}},"$defs":{"C":{"type":"array","items":{"const":"k"}}}}`
	want := `{"properties":{"a":{"nullable":true,"type":"integer"},"b":{"nullable":true,"type":"string"},"c":{"items":{"enum":["k"]},"type":"array"},"d":{}},"type":"object"}`
	if got := string(CleanSchema([]byte(in))); got != want {
		t.Errorf("CleanSchema:\n got %s\nwant %s", got, want)
	}
}
