package openai

import "testing"

var benchRequest = []byte(`{"model":"gpt-4o-mini","messages":[{"role":"system","content":"You are a helpful assistant."},{"role":"user","content":"What is the capital of France? Answer in one word."}],"temperature":0.2,"max_tokens":64,"stream":true}`)

// BenchmarkScanChat is the routing read of the fast path.
func BenchmarkScanChat(b *testing.B) {
	b.ReportAllocs()
	b.SetBytes(int64(len(benchRequest)))
	for range b.N {
		if _, err := ScanChat(benchRequest); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRewriteChat is the model rewrite (plus include_usage) of the
// fast path.
func BenchmarkRewriteChat(b *testing.B) {
	f, _ := ScanChat(benchRequest)
	b.ReportAllocs()
	b.SetBytes(int64(len(benchRequest)))
	for range b.N {
		RewriteChat(benchRequest, &f, "gpt-4o-mini-2024-07-18", true)
	}
}
