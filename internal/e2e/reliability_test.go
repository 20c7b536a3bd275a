package e2e

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/openai/openai-go/v3"
	"github.com/tidwall/gjson"

	"github.com/switchboard-gw/switchboard/internal/config"
	"github.com/switchboard-gw/switchboard/internal/mock"
)

// gatewayOver starts Switchboard with a YAML config whose ${A}, ${B}, ...
// are upstream URLs.
func gatewayOver(t *testing.T, yaml string, upstreams map[string]string) *gatewayUnderTest {
	t.Helper()
	env := map[string]string{"MASTER": masterKey}
	for k, v := range upstreams {
		env[k] = v
	}
	cfg, err := config.Parse("reliability.yaml", []byte(yaml), func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	return startWithConfig(t, cfg, true)
}

func chatOK(t *testing.T, url, model, prompt string) (*http.Response, []byte) {
	t.Helper()
	return post(t, url, "/v1/chat/completions", `{"model":"`+model+`","messages":[{"role":"user","content":"`+prompt+`"}]}`)
}

// A group of one failing and one healthy deployment serves every request
// while the failing one is down; its circuit opens, so it stops costing
// attempts; after it recovers, a half-open probe brings traffic back.
func TestFailoverCircuitAndRecovery(t *testing.T) {
	bad, badURL := startMock(t, mock.Options{FailRate: 1})
	good, goodURL := startMock(t, mock.Options{})
	gw := gatewayOver(t, `
master_key: ${MASTER}
circuit_breaker: {failures: 3, cooldown: 300ms}
providers:
  - {name: a, type: openai, base_url: "${A}/v1", api_key: k}
  - {name: b, type: openai, base_url: "${B}/v1", api_key: k}
models:
  - name: m
    deployments: [{provider: a, model: x}, {provider: b, model: x}]
`, map[string]string{"A": badURL, "B": goodURL})
	for i := range 60 {
		if resp, out := chatOK(t, gw.URL, "m", "hi"); resp.StatusCode != 200 {
			t.Fatalf("request %d: %d %s", i, resp.StatusCode, out)
		}
	}
	if n := bad.Requests(); n > 3+2 {
		t.Errorf("the failing deployment was called %d times; its circuit should have opened after 3", n)
	}
	if good.Requests() != 60 {
		t.Errorf("healthy deployment served %d of 60", good.Requests())
	}
	// Recovery: the breaker half-opens after its cooldown and closes on a
	// successful probe.
	bad.SetFailRate(0)
	time.Sleep(400 * time.Millisecond)
	before := bad.Requests()
	for range 60 {
		if resp, _ := chatOK(t, gw.URL, "m", "hi"); resp.StatusCode != 200 {
			t.Fatal(resp.StatusCode)
		}
	}
	if got := bad.Requests() - before; got < 10 {
		t.Errorf("after recovery the deployment got %d of 60 requests; traffic did not come back", got)
	}
	for range 5 {
		gw.nextRecord(t)
	}
}

// The latency strategy moves traffic to the faster deployment, and away
// from it within a bounded number of requests once it slows down.
func TestLatencyStrategy(t *testing.T) {
	fast, fastURL := startMock(t, mock.Options{Latency: time.Millisecond})
	slow, slowURL := startMock(t, mock.Options{Latency: 40 * time.Millisecond})
	gw := gatewayOver(t, `
master_key: ${MASTER}
providers:
  - {name: fast, type: openai, base_url: "${A}/v1", api_key: k}
  - {name: slow, type: openai, base_url: "${B}/v1", api_key: k}
models:
  - name: m
    strategy: latency
    deployments: [{provider: fast, model: x}, {provider: slow, model: x}]
`, map[string]string{"A": fastURL, "B": slowURL})
	run := func(n int) map[string]int {
		got := map[string]int{}
		for range n {
			resp, _ := chatOK(t, gw.URL, "m", "hi")
			got[resp.Header.Get("x-switchboard-provider")]++
		}
		return got
	}
	run(10) // both get sampled
	if got := run(40); got["fast"] < 34 {
		t.Errorf("fast deployment got %v of 40", got)
	}
	fast.SetLatency(80 * time.Millisecond)
	slow.SetLatency(time.Millisecond)
	run(15) // the slowdown is seen at once (peak-EWMA), the speed-up within a few samples
	if got := run(20); got["slow"] < 16 {
		t.Errorf("after the swap, the now-fast deployment got %v of 20", got)
	}
}

// Retry-After (and retry-after-ms) is honoured before retrying, within
// the request's deadline; when it is longer than the deadline allows, the
// client gets the 429 and its Retry-After at once.
func TestRetryAfterHonoured(t *testing.T) {
	var mu sync.Mutex
	var arrivals []time.Time
	calls := atomic.Int32{}
	up := newServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.ReadAll(r.Body)
		mu.Lock()
		arrivals = append(arrivals, time.Now())
		mu.Unlock()
		if calls.Add(1)%2 == 1 {
			w.Header().Set("retry-after-ms", "300")
			w.Header().Set("Retry-After", "1")
			writeJSON(w, 429, `{"error":{"message":"Rate limit reached","type":"requests","code":"rate_limit_exceeded"}}`)
			return
		}
		writeJSON(w, 200, `{"id":"c","object":"chat.completion","created":1,"model":"x","choices":[{"index":0,"message":{"role":"assistant","content":"ok"},"finish_reason":"stop"}],"usage":{"prompt_tokens":1,"completion_tokens":1,"total_tokens":2}}`)
	}))
	gw := gatewayOver(t, `
master_key: ${MASTER}
providers:
  - {name: a, type: openai, base_url: "${A}/v1", api_key: k}
models:
  - name: m
    retry: {attempts: 2, backoff: 1ms}
    deployments: [{provider: a, model: x}]
  - name: short
    timeout: 100ms
    retry: {attempts: 2, backoff: 1ms}
    deployments: [{provider: a, model: x}]
`, map[string]string{"A": up})
	resp, out := chatOK(t, gw.URL, "m", "hi")
	if resp.StatusCode != 200 || resp.Header.Get("x-switchboard-attempts") != "2" {
		t.Fatalf("%d %s %v", resp.StatusCode, out, resp.Header)
	}
	if gap := arrivals[1].Sub(arrivals[0]); gap < 300*time.Millisecond {
		t.Errorf("retried after %v; Retry-After asked for 300ms", gap)
	}
	t.Logf("retry-after-ms 300 → measured gap %v", arrivals[1].Sub(arrivals[0]))
	// A deadline shorter than Retry-After: no retry, the 429 goes back.
	resp, _ = chatOK(t, gw.URL, "short", "hi")
	if resp.StatusCode != 429 || resp.Header.Get("Retry-After") == "" || resp.Header.Get("x-switchboard-attempts") != "1" {
		t.Errorf("%d attempts=%s Retry-After=%q", resp.StatusCode, resp.Header.Get("x-switchboard-attempts"), resp.Header.Get("Retry-After"))
	}
}

func writeJSON(w http.ResponseWriter, status int, body string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	io.WriteString(w, body)
}

// During a full outage, the retry budget keeps extra load near 20%
// instead of the 3 retries each request would otherwise make.
func TestRetryBudgetCapsOutage(t *testing.T) {
	down, downURL := startMock(t, mock.Options{FailRate: 1, FailStatus: 503})
	gw := gatewayOver(t, `
master_key: ${MASTER}
circuit_breaker: {failures: 100000}
retry_budget: {ratio: 0.2, min_per_10s: 10}
providers:
  - {name: a, type: openai, base_url: "${A}/v1", api_key: k}
models:
  - name: m
    retry: {attempts: 3, backoff: 1ms, max_backoff: 2ms}
    deployments: [{provider: a, model: x}]
`, map[string]string{"A": downURL})
	const n = 200
	for range n {
		if resp, _ := chatOK(t, gw.URL, "m", "hi"); resp.StatusCode != 503 {
			t.Fatalf("status %d", resp.StatusCode)
		}
	}
	calls := down.Requests()
	if limit := int64(n + n/5 + 10); calls > limit {
		t.Errorf("%d upstream calls for %d requests; the budget allows at most %d", calls, n, limit)
	}
	if calls <= n {
		t.Errorf("no retries at all (%d calls)", calls)
	}
	t.Logf("full outage: %d requests cost %d upstream calls (%.0f%% extra; without the budget: %d)", n, calls, 100*float64(calls-n)/n, 4*n)
}

// Context-window fallback: from the provider's error, and, better, from a
// token count before sending; content-policy fallback; and a 400 is never
// retried.
func TestSpecialFallbacks(t *testing.T) {
	var smallCalls atomic.Int32
	small := newServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		smallCalls.Add(1)
		switch {
		case strings.Contains(string(body), "unsafe"):
			writeJSON(w, 400, `{"error":{"message":"Your request was rejected as a result of our safety system.","type":"invalid_request_error","code":"content_policy_violation"}}`)
		case strings.Contains(string(body), "bad request"):
			writeJSON(w, 400, `{"error":{"message":"Invalid value for 'temperature'.","type":"invalid_request_error","code":"invalid_value"}}`)
		default:
			writeJSON(w, 400, `{"error":{"message":"This model's maximum context length is 8192 tokens. However, your messages resulted in 9000 tokens.","type":"invalid_request_error","code":"context_length_exceeded"}}`)
		}
	}))
	large, largeURL := startMock(t, mock.Options{})
	gw := gatewayOver(t, `
master_key: ${MASTER}
providers:
  - {name: small, type: openai, base_url: "${A}/v1", api_key: k}
  - {name: large, type: openai, base_url: "${B}/v1", api_key: k}
models:
  - name: small
    retry: {attempts: 3}
    context_window_fallbacks: [large]
    content_policy_fallbacks: [large]
    deployments: [{provider: small, model: s}]
  - name: counted
    context_window: 20
    context_window_fallbacks: [large]
    deployments: [{provider: small, model: s}]
  - name: large
    deployments: [{provider: large, model: big}]
`, map[string]string{"A": small, "B": largeURL})
	for _, prompt := range []string{"a long prompt", "something unsafe"} {
		resp, out := chatOK(t, gw.URL, "small", prompt)
		if resp.StatusCode != 200 || resp.Header.Get("x-switchboard-model") != "big" || resp.Header.Get("x-switchboard-attempts") != "2" {
			t.Errorf("%q: %d %s %v", prompt, resp.StatusCode, out, resp.Header)
		}
		rec := gw.nextRecord(t)
		if len(rec.Trace) != 2 || rec.Trace[0].Outcome != "error" || rec.Trace[1].Group != "large" {
			t.Errorf("trace = %+v", rec.Trace)
		}
	}
	before := smallCalls.Load()
	resp, _ := chatOK(t, gw.URL, "counted", strings.Repeat("many words here ", 10))
	if resp.StatusCode != 200 || resp.Header.Get("x-switchboard-model") != "big" || smallCalls.Load() != before {
		t.Errorf("token-count fallback: %d %v (small called %d times)", resp.StatusCode, resp.Header, smallCalls.Load()-before)
	}
	gw.nextRecord(t)
	// A plain 400 is the client's problem: one attempt, no retry, no fallback.
	before, largeBefore := smallCalls.Load(), large.Requests()
	resp, _ = chatOK(t, gw.URL, "small", "bad request")
	if resp.StatusCode != 400 || smallCalls.Load()-before != 1 || large.Requests() != largeBefore {
		t.Errorf("400: %d, %d calls", resp.StatusCode, smallCalls.Load()-before)
	}
}

// Fallback groups and the per-request override header.
func TestFallbacksAndOverride(t *testing.T) {
	_, down := startMock(t, mock.Options{FailRate: 1})
	_, ok1 := startMock(t, mock.Options{})
	_, ok2 := startMock(t, mock.Options{})
	gw := gatewayOver(t, `
master_key: ${MASTER}
providers:
  - {name: down, type: openai, base_url: "${A}/v1", api_key: k}
  - {name: one, type: openai, base_url: "${B}/v1", api_key: k}
  - {name: two, type: anthropic, base_url: "${C}", api_key: k}
models:
  - {name: primary, fallbacks: [first, second], deployments: [{provider: down, model: p}]}
  - {name: first, deployments: [{provider: one, model: f}]}
  - {name: second, deployments: [{provider: two, model: s}]}
`, map[string]string{"A": down, "B": ok1, "C": ok2})
	resp, _ := chatOK(t, gw.URL, "primary", "hi")
	if resp.StatusCode != 200 || resp.Header.Get("x-switchboard-model") != "f" {
		t.Errorf("fallback: %d %v", resp.StatusCode, resp.Header)
	}
	resp, _ = post(t, gw.URL, "/v1/chat/completions", `{"model":"primary","messages":[{"role":"user","content":"hi"}]}`, "x-switchboard-fallbacks", "second")
	if resp.StatusCode != 200 || resp.Header.Get("x-switchboard-model") != "s" {
		t.Errorf("override: %d %v", resp.StatusCode, resp.Header)
	}
	resp, _ = post(t, gw.URL, "/v1/chat/completions", `{"model":"primary","messages":[{"role":"user","content":"hi"}]}`, "x-switchboard-fallbacks", "none")
	if resp.StatusCode != 500 {
		t.Errorf("fallbacks off: %d", resp.StatusCode)
	}
}

// Streams: a stream that breaks before its first byte, or sends nothing
// within the first-token timeout, is retried elsewhere transparently; one
// that stalls after it started ends with an error event.
func TestStreamTimeoutsAndRetries(t *testing.T) {
	var mode atomic.Value
	mode.Store("cut")
	flaky := newServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.ReadAll(r.Body)
		w.Header().Set("Content-Type", "text/event-stream")
		w.WriteHeader(200)
		w.(http.Flusher).Flush()
		switch mode.Load() {
		case "cut":
			panic(http.ErrAbortHandler)
		case "hang":
			<-r.Context().Done()
		case "stall":
			io.WriteString(w, `data: {"id":"x","object":"chat.completion.chunk","created":1,"model":"x","choices":[{"index":0,"delta":{"role":"assistant","content":"Hel"},"finish_reason":null}]}`+"\n\n")
			w.(http.Flusher).Flush()
			<-r.Context().Done()
		}
	}))
	good, goodURL := startMock(t, mock.Options{})
	gw := gatewayOver(t, `
master_key: ${MASTER}
circuit_breaker: {failures: 1000}
providers:
  - {name: flaky, type: openai, base_url: "${A}/v1", api_key: k}
  - {name: good, type: openai, base_url: "${B}/v1", api_key: k}
models:
  - name: m
    strategy: priority
    first_token_timeout: 200ms
    idle_timeout: 200ms
    deployments: [{provider: flaky, model: x, priority: 1}, {provider: good, model: y, priority: 2}]
`, map[string]string{"A": flaky, "B": goodURL})
	client := sdk(gw.URL)
	for _, m := range []string{"cut", "hang"} {
		mode.Store(m)
		s := client.Chat.Completions.NewStreaming(context.Background(), openai.ChatCompletionNewParams{Model: "m",
			Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("hi")}})
		acc := openai.ChatCompletionAccumulator{}
		for s.Next() {
			acc.AddChunk(s.Current())
		}
		if s.Err() != nil || acc.Choices[0].Message.Content != mock.Reply("y", "hi") {
			t.Errorf("%s: %v %q", m, s.Err(), acc.Choices[0].Message.Content)
		}
		rec := gw.nextRecord(t)
		if rec.Attempts != 2 || rec.Trace[0].Outcome != "error" {
			t.Errorf("%s: trace %+v", m, rec.Trace)
		}
	}
	if good.Requests() != 2 {
		t.Errorf("good served %d", good.Requests())
	}
	// Stalled after the first chunk: an error event, not [DONE].
	mode.Store("stall")
	resp, out := post(t, gw.URL, "/v1/chat/completions", `{"model":"m","stream":true,"messages":[{"role":"user","content":"hi"}]}`)
	data := sseData(out)
	if resp.StatusCode != 200 || strings.Contains(string(out), "[DONE]") || !strings.Contains(data[len(data)-1], "idle_timeout") {
		t.Errorf("stall: %s", out)
	}
}

// When every deployment's circuit is open: wait for the soonest probe
// within the deadline; beyond it, 503 with Retry-After and no upstream call.
func TestAllCircuitsOpen(t *testing.T) {
	m, up := startMock(t, mock.Options{FailRate: 1})
	gw := gatewayOver(t, `
master_key: ${MASTER}
circuit_breaker: {failures: 1, cooldown: 400ms}
providers:
  - {name: a, type: openai, base_url: "${A}/v1", api_key: k}
models:
  - {name: patient, timeout: 5s, deployments: [{provider: a, model: x}]}
  - {name: hasty, timeout: 100ms, deployments: [{provider: a, model: x}]}
`, map[string]string{"A": up})
	if resp, _ := chatOK(t, gw.URL, "patient", "hi"); resp.StatusCode != 500 {
		t.Fatalf("first failure: %d", resp.StatusCode)
	}
	calls := m.Requests()
	resp, out := chatOK(t, gw.URL, "hasty", "hi")
	if resp.StatusCode != 503 || resp.Header.Get("Retry-After") == "" || gjson.GetBytes(out, "error.code").String() != "circuit_open" || m.Requests() != calls {
		t.Errorf("open circuit: %d %s (upstream calls %d)", resp.StatusCode, out, m.Requests()-calls)
	}
	m.SetFailRate(0)
	start := time.Now()
	resp, _ = chatOK(t, gw.URL, "patient", "hi")
	if resp.StatusCode != 200 {
		t.Errorf("after waiting for the probe: %d", resp.StatusCode)
	}
	if d := time.Since(start); d < 200*time.Millisecond {
		t.Errorf("answered after %v: it did not wait for the circuit", d)
	}
}

// The closing figure: 1,000 requests against a group whose primary fails
// 30% of requests and whose fallback is healthy.
func TestThirtyPercentFailures(t *testing.T) {
	primary, pURL := startMock(t, mock.Options{FailRate: 0.3})
	fallback, fURL := startMock(t, mock.Options{})
	gw := gatewayOver(t, `
master_key: ${MASTER}
providers:
  - {name: primary, type: openai, base_url: "${A}/v1", api_key: k}
  - {name: fallback, type: anthropic, base_url: "${B}", api_key: k}
models:
  - {name: m, fallbacks: [backup], deployments: [{provider: primary, model: p}]}
  - {name: backup, deployments: [{provider: fallback, model: f}]}
`, map[string]string{"A": pURL, "B": fURL})
	const n, workers = 1000, 16
	var ok atomic.Int64
	var wg sync.WaitGroup
	jobs := make(chan int)
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range jobs {
				req, _ := http.NewRequest("POST", gw.URL+"/v1/chat/completions", strings.NewReader(`{"model":"m","messages":[{"role":"user","content":"hi"}]}`))
				req.Header.Set("Authorization", "Bearer "+masterKey)
				resp, err := http.DefaultClient.Do(req)
				if err == nil {
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					if resp.StatusCode == 200 {
						ok.Add(1)
					}
				}
			}
		}()
	}
	for i := range n {
		jobs <- i
	}
	close(jobs)
	wg.Wait()
	calls := primary.Requests() + fallback.Requests()
	msg := fmt.Sprintf("%d/%d requests succeeded (%.1f%%); %d upstream calls (%d to the primary, %d to the fallback): %d extra (%.1f%%)",
		ok.Load(), n, 100*float64(ok.Load())/n, calls, primary.Requests(), fallback.Requests(), calls-n, 100*float64(calls-n)/n)
	t.Log(msg)
	if out := os.Getenv("SWITCHBOARD_RELIABILITY_REPORT"); out != "" {
		os.WriteFile(out, []byte(msg+"\n"), 0o644)
	}
	if ok.Load() != n {
		t.Errorf("%d of %d requests failed", n-ok.Load(), n)
	}
	for range 8 {
		select {
		case <-gw.done:
		default:
		}
	}
}

// The mock's fault directives through the gateway: a connection reset is
// retried (and reported as 502 when it persists); slow chunks trip the
// idle timeout.
func TestMockFaults(t *testing.T) {
	m, up := startMock(t, mock.Options{})
	gw := gatewayOver(t, `
master_key: ${MASTER}
circuit_breaker: {failures: 1000}
providers:
  - {name: a, type: openai, base_url: "${A}/v1", api_key: k}
models:
  - {name: m, retry: {attempts: 1, backoff: 1ms}, idle_timeout: 100ms, deployments: [{provider: a, model: x}]}
`, map[string]string{"A": up})
	before := m.Requests()
	resp, out := chatOK(t, gw.URL, "m", "[[mock:reset]]")
	if resp.StatusCode != 502 || resp.Header.Get("x-switchboard-attempts") != "2" || m.Requests()-before != 2 {
		t.Errorf("reset: %d %s attempts=%s", resp.StatusCode, out, resp.Header.Get("x-switchboard-attempts"))
	}
	resp, out = post(t, gw.URL, "/v1/chat/completions", `{"model":"m","stream":true,"messages":[{"role":"user","content":"[[mock:slow-chunks=400ms]] hi"}]}`)
	data := sseData(out)
	if resp.StatusCode != 200 || !strings.Contains(data[len(data)-1], "idle_timeout") {
		t.Errorf("slow chunks: %s", out)
	}
}
