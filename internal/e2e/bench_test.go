package e2e

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httputil"
	"net/url"
	"sort"
	"testing"
	"time"

	"github.com/switchboard-gw/switchboard/internal/config"
	"github.com/switchboard-gw/switchboard/internal/mock"
)

const benchBody = `{"model":"%s","messages":[{"role":"system","content":"You are terse."},{"role":"user","content":"Say hello in five words."}],"temperature":0.2,"max_tokens":64}`

// benchChat sends b.N non-streaming requests one after another and reports
// the median and p99 latency, so runs can be compared by percentile.
func benchChat(b *testing.B, target, model string) {
	benchBodyAt(b, target, []byte(replaceModel(benchBody, model)))
}

// benchBodyAt is benchChat for any body.
func benchBodyAt(b *testing.B, target string, body []byte) {
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 4}}
	do := func() {
		req, _ := http.NewRequest("POST", target, bytes.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+masterKey)
		req.Header.Set("Content-Type", "application/json")
		resp, err := client.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			b.Fatalf("status %d", resp.StatusCode)
		}
	}
	for range 200 { // warm connections and pools
		do()
	}
	lat := make([]time.Duration, 0, b.N)
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		start := time.Now()
		do()
		lat = append(lat, time.Since(start))
	}
	b.StopTimer()
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-µs")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99-µs")
}

func replaceModel(s, model string) string {
	return string(bytes.Replace([]byte(s), []byte("%s"), []byte(model), 1))
}

// BenchmarkChat compares a request straight to the mock with the same
// request through Switchboard (OpenAI fast path and Anthropic translation),
// in one process and one run. Added latency = Gateway p50 - Direct p50; the
// ReverseProxy case shows how much of that is the extra HTTP hop itself.
func BenchmarkChat(b *testing.B) {
	_, up := startMock(b, mock.Options{})
	env := map[string]string{"UPSTREAM": up, "MASTER": masterKey}
	cfg, err := config.Parse("bench.yaml", []byte(mockConfig), func(k string) string { return env[k] })
	if err != nil {
		b.Fatal(err)
	}
	gw := startWithConfig(b, cfg, false).URL
	target, _ := url.Parse(up)
	proxy := newServer(b, httputil.NewSingleHostReverseProxy(target))
	b.Run("Direct", func(b *testing.B) { benchChat(b, up+"/v1/chat/completions", "mock-gpt") })
	// The floor for any Go proxy: net/http/httputil in front of the same mock.
	b.Run("ReverseProxy", func(b *testing.B) { benchChat(b, proxy+"/v1/chat/completions", "mock-gpt") })
	b.Run("Gateway", func(b *testing.B) { benchChat(b, gw+"/v1/chat/completions", "gpt") })
	b.Run("GatewayAnthropic", func(b *testing.B) { benchChat(b, gw+"/v1/chat/completions", "claude") })
}

// BenchmarkCacheHit compares a cache hit through Switchboard with the same
// request straight to the mock (which answers at once, like a cache would,
// so this is the harshest comparison): sequential latency, then
// throughput with 32 concurrent clients (ns/op is per request; req/s is
// reported too).
func BenchmarkCacheHit(b *testing.B) {
	_, up := startMock(b, mock.Options{})
	env := map[string]string{"UPSTREAM": up, "MASTER": masterKey}
	cfg, err := config.Parse("bench.yaml", []byte(mockConfig+"cache: {enabled: true}\n"), func(k string) string { return env[k] })
	if err != nil {
		b.Fatal(err)
	}
	gw := startWithConfig(b, cfg, false).URL
	body := func(model string) []byte {
		return []byte(replaceModel(`{"model":"%s","temperature":0,"messages":[{"role":"system","content":"You are terse."},{"role":"user","content":"Say hello in five words."}],"max_tokens":64}`, model))
	}
	b.Run("Direct", func(b *testing.B) { benchBodyAt(b, up+"/v1/chat/completions", body("mock-gpt")) })
	b.Run("Hit", func(b *testing.B) { benchBodyAt(b, gw+"/v1/chat/completions", body("gpt")) })
	parallel := func(b *testing.B, target string, body []byte) {
		client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
		b.SetParallelism(16) // 32 clients on 2 cores
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				req, _ := http.NewRequest("POST", target, bytes.NewReader(body))
				req.Header.Set("Authorization", "Bearer "+masterKey)
				resp, err := client.Do(req)
				if err != nil {
					b.Error(err)
					return
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
		})
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "req/s")
	}
	b.Run("DirectParallel", func(b *testing.B) { parallel(b, up+"/v1/chat/completions", body("mock-gpt")) })
	b.Run("HitParallel", func(b *testing.B) { parallel(b, gw+"/v1/chat/completions", body("gpt")) })
}
