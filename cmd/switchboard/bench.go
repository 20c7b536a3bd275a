package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"runtime/pprof"
	"strings"
	"sync"
	"time"

	"github.com/switchboard-gw/switchboard/internal/bench"
	"github.com/switchboard-gw/switchboard/internal/mock"
)

// benchCmd measures Switchboard against the fake upstream called directly
// and through a plain Go reverse proxy, in one process and one run.
func benchCmd(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) error {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	duration := fs.Duration("duration", 5*time.Second, "length of each measurement")
	concurrency := fs.Int("concurrency", 64, "clients in the closed-loop (maximum throughput) measurements")
	rate := fs.Int("rate", 1000, "requests per second in the open-loop (latency) measurements")
	latency := fs.Duration("latency", 50*time.Millisecond, "upstream latency in the open-loop and many-connection measurements")
	conns := fs.Int("conns", 500, "clients in the closed-loop measurement against the slow upstream")
	streamClients := fs.Int("stream-clients", 8, "clients reading streams one after another in the stream scenario")
	only := fs.String("scenarios", "lean,full,full-pg-redis,cache-hit,anthropic,stream,streams", "scenarios to run, comma-separated")
	held := fs.Int("streams", 2000, "streams held open at once in the streams scenario")
	soak := fs.Duration("soak", 10*time.Minute, "length of the soak scenario (not in the default set)")
	soakRate := fs.Int("soak-rate", 300, "requests per second in the soak scenario")
	pg := fs.String("postgres", "postgres://postgres@127.0.0.1:5432/test?sslmode=disable", "PostgreSQL for the full-pg-redis scenario")
	rd := fs.String("redis", "redis://127.0.0.1:6379/0", "Redis for the full-pg-redis scenario")
	out := fs.String("out", "", "also write the markdown tables to this file")
	cpuprofile := fs.String("cpuprofile", "", "write a CPU profile of the whole run here")
	memprofile := fs.String("memprofile", "", "write a heap profile at the end here")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *cpuprofile != "" {
		f, err := os.Create(*cpuprofile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	fast := httptest.NewServer(mock.New(mock.Options{}))
	defer fast.Close()
	slow := httptest.NewServer(mock.New(mock.Options{Latency: *latency}))
	defer slow.Close()
	paced := httptest.NewServer(mock.New(mock.Options{TokensPerSecond: 100}))
	defer paced.Close()
	trickle := httptest.NewServer(mock.New(mock.Options{TokensPerSecond: 1}))
	defer trickle.Close()
	proxyTo := func(u string) *httptest.Server {
		target, _ := url.Parse(u)
		rp := httputil.NewSingleHostReverseProxy(target)
		// Pooled like Switchboard's own upstream client, so neither pays for
		// new connections under load.
		t := http.DefaultTransport.(*http.Transport).Clone()
		t.MaxIdleConns, t.MaxIdleConnsPerHost = 1024, 512
		rp.Transport = t
		return httptest.NewServer(rp)
	}
	proxy := proxyTo(fast.URL)
	defer proxy.Close()
	slowProxy := proxyTo(slow.URL)
	defer slowProxy.Close()
	pacedProxy := proxyTo(paced.URL)
	defer pacedProxy.Close()
	otlp := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusOK) }))
	defer otlp.Close()

	dir, err := os.MkdirTemp("", "switchboard-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	const master = "sk-bench-master-key"
	chat := func(model string, temperature string) []byte {
		return []byte(`{"model":"` + model + `","temperature":` + temperature + `,"max_tokens":64,"messages":[{"role":"system","content":"You are terse."},{"role":"user","content":"Say hello in five words."}]}`)
	}
	messages := func(model string) []byte {
		return []byte(`{"model":"` + model + `","max_tokens":64,"system":"You are terse.","messages":[{"role":"user","content":"Say hello in five words."}]}`)
	}
	auth := func(key string) http.Header {
		return http.Header{"Authorization": {"Bearer " + key}, "Content-Type": {"application/json"}}
	}
	base := func(extra string) string {
		return `listen: 127.0.0.1:0
master_key: ` + master + `
providers:
  - {name: fast, type: openai, base_url: "` + fast.URL + `/v1", api_key: k}
  - {name: slow, type: openai, base_url: "` + slow.URL + `/v1", api_key: k}
  - {name: paced, type: openai, base_url: "` + paced.URL + `/v1", api_key: k}
  - {name: trickle, type: openai, base_url: "` + trickle.URL + `/v1", api_key: k}
models:
  - {name: gpt, deployments: [{provider: fast, model: gpt-4o-mini}]}
  - {name: gpt-slow, deployments: [{provider: slow, model: gpt-4o-mini}]}
  - {name: gpt-paced, deployments: [{provider: paced, model: gpt-4o-mini}]}
  - {name: gpt-trickle, deployments: [{provider: trickle, model: gpt-4o-mini}]}
` + extra
	}
	tracing := "tracing: {endpoint: \"" + otlp.URL + "\", sample_rate: 0}\n"
	scenarios := []struct {
		name, what, config string
		virtualKey         bool
		body               func(model string) []byte
		path               string
		stream             bool
	}{
		{"lean", "master key, OpenAI in and out, request log off", "log: {requests: false}\n", false, func(m string) []byte { return chat(m, "0.2") }, "/v1/chat/completions", false},
		{"full", "virtual key with rpm, tpm and budget checks, request log to SQLite, metrics, tracing on (sampling 0)",
			tracing, true, func(m string) []byte { return chat(m, "0.2") }, "/v1/chat/completions", false},
		{"cache-hit", "as full, with the exact cache on and every request a hit",
			tracing + "cache: {enabled: true}\n", true, func(m string) []byte { return chat(m, "0") }, "/v1/chat/completions", false},
		{"full-pg-redis", "as full, on PostgreSQL and Redis (limits, budgets and the log shared by replicas)",
			tracing + "redis: " + *rd + "\n", true, func(m string) []byte { return chat(m, "0.2") }, "/v1/chat/completions", false},
		{"anthropic", "Anthropic-format client to the OpenAI upstream (translation both ways), master key", "", false, messages, "/v1/messages", false},
		{"stream", "as full, streaming: an upstream sending 100 chunks a second", tracing, true, streamChat(chat), "/v1/chat/completions", true},
		{"streams", "as full, with --streams streams held open at once (memory per stream)", tracing, true, streamChat(chat), "/v1/chat/completions", true},
		{"soak", "as full, with the exact cache on; chat, streamed chat, Anthropic messages and cache hits in turn", tracing + "cache: {enabled: true}\n", true, nil, "", false},
	}
	var soakSamples []bench.SoakSample
	var streams []bench.StreamScenario
	var heldResult *bench.Held
	var results []bench.Scenario
	for _, sc := range scenarios {
		if !strings.Contains(","+*only+",", ","+sc.name+",") {
			continue
		}
		cfgPath := filepath.Join(dir, sc.name+".yml")
		db := "sqlite://" + filepath.Join(dir, sc.name+".db")
		if sc.name == "full-pg-redis" {
			db = *pg
		}
		cfg := base(sc.config) + "database: " + db + "\n"
		if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
			return err
		}
		gctx, stop := context.WithCancel(ctx)
		addr, done, err := startServe(gctx, cfgPath, getenv)
		if err != nil && sc.name == "full-pg-redis" {
			stop()
			fmt.Fprintf(stderr, "bench: %s skipped: %v\n", sc.name, err)
			continue
		}
		if err != nil {
			stop()
			return fmt.Errorf("bench: %s: %w", sc.name, err)
		}
		key := master
		if sc.virtualKey {
			if key, err = createKey(addr, master); err != nil {
				stop()
				<-done
				return fmt.Errorf("bench: %s: %w", sc.name, err)
			}
		}
		fmt.Fprintf(stderr, "bench: %s...\n", sc.name)
		gw := "http://" + addr + sc.path
		if sc.name == "soak" {
			base := "http://" + addr
			soakSamples = bench.Soak(ctx, []bench.Target{
				{URL: base + "/v1/chat/completions", Header: auth(key), Body: chat("gpt", "0.2")},
				{URL: base + "/v1/chat/completions", Header: auth(key), Body: streamChat(chat)("gpt")},
				{URL: base + "/v1/messages", Header: auth(key), Body: messages("gpt")},
				{URL: base + "/v1/chat/completions", Header: auth(key), Body: chat("gpt", "0")},
			}, *soakRate, *soak)
			stop()
			<-done
			continue
		}
		if sc.name == "streams" {
			body := sc.body("gpt-4o-mini")
			direct, _, err1 := bench.HeldStreams(ctx, bench.Target{Name: "direct", URL: trickle.URL + "/v1/chat/completions", Header: auth("k"), Body: body}, *held)
			through, _, err2 := bench.HeldStreams(ctx, bench.Target{Name: "switchboard", URL: gw, Header: auth(key), Body: sc.body("gpt-trickle")}, *held)
			if err := errors.Join(err1, err2); err != nil {
				fmt.Fprintf(stderr, "bench: streams: %v\n", err)
			} else {
				heldResult = &bench.Held{Streams: *held, Direct: direct, Gateway: through}
			}
			stop()
			<-done
			continue
		}
		if sc.stream {
			streams = append(streams, bench.StreamScenario{Name: sc.name, What: sc.what,
				Direct:  bench.Streams(ctx, bench.Target{Name: "direct", URL: paced.URL + "/v1/chat/completions", Header: auth("k"), Body: sc.body("gpt-4o-mini")}, *streamClients, *duration),
				Proxy:   bench.Streams(ctx, bench.Target{Name: "reverse proxy", URL: pacedProxy.URL + "/v1/chat/completions", Header: auth("k"), Body: sc.body("gpt-4o-mini")}, *streamClients, *duration),
				Gateway: bench.Streams(ctx, bench.Target{Name: "switchboard", URL: gw, Header: auth(key), Body: sc.body("gpt-paced")}, *streamClients, *duration)})
			stop()
			<-done
			continue
		}
		s := bench.Scenario{Name: sc.name, What: sc.what, Rate: *rate}
		direct := bench.Target{Name: "direct", URL: fast.URL + "/v1/chat/completions", Header: auth("k"), Body: chat("gpt-4o-mini", "0.2")}
		s.Direct = bench.Closed(ctx, direct, *concurrency, *duration)
		s.Proxy = bench.Closed(ctx, bench.Target{Name: "reverse proxy", URL: proxy.URL + "/v1/chat/completions", Header: auth("k"), Body: direct.Body}, *concurrency, *duration)
		s.Gateway = bench.Closed(ctx, bench.Target{Name: "switchboard", URL: gw, Header: auth(key), Body: sc.body("gpt")}, *concurrency, *duration)
		slowDirect := bench.Target{Name: "direct", URL: slow.URL + "/v1/chat/completions", Header: auth("k"), Body: chat("gpt-4o-mini", "0.2")}
		s.DirectOpen = bench.Open(ctx, slowDirect, *rate, *duration)
		s.GatewayOpen = bench.Open(ctx, bench.Target{Name: "switchboard", URL: gw, Header: auth(key), Body: sc.body("gpt-slow")}, *rate, *duration)
		s.Conns, s.Latency = *conns, *latency
		s.DirectConns = bench.Closed(ctx, slowDirect, *conns, *duration)
		s.ProxyConns = bench.Closed(ctx, bench.Target{Name: "reverse proxy", URL: slowProxy.URL + "/v1/chat/completions", Header: auth("k"), Body: slowDirect.Body}, *conns, *duration)
		s.GatewayConns = bench.Closed(ctx, bench.Target{Name: "switchboard", URL: gw, Header: auth(key), Body: sc.body("gpt-slow")}, *conns, *duration)
		results = append(results, s)
		stop()
		<-done
	}
	machine := fmt.Sprintf("%d CPUs (GOMAXPROCS %d), %s/%s, %s", runtime.NumCPU(), runtime.GOMAXPROCS(0), runtime.GOOS, runtime.GOARCH, runtime.Version())
	command := "switchboard bench " + strings.Join(args, " ")
	var buf bytes.Buffer
	bench.Markdown(&buf, results, machine, strings.TrimSpace(command), bench.PeakRSS())
	bench.ConnsMarkdown(&buf, results)
	bench.StreamMarkdown(&buf, streams)
	bench.HeldMarkdown(&buf, heldResult)
	bench.SoakMarkdown(&buf, "the soak scenario's mix through Switchboard", *soakRate, soakSamples)
	stdout.Write(buf.Bytes())
	if *memprofile != "" {
		f, err := os.Create(*memprofile)
		if err != nil {
			return err
		}
		defer f.Close()
		runtime.GC()
		pprof.WriteHeapProfile(f)
	}
	if *out != "" {
		return os.WriteFile(*out, buf.Bytes(), 0o644)
	}
	return nil
}

// streamChat makes a chat body a streaming one that asks for usage, as
// Switchboard always asks its upstream: direct and gateway streams then
// carry the same chunks. (Without it the gateway drops the usage chunk it
// asked for, and its slot shows as one long gap at the end of each stream.)
func streamChat(chat func(model, temperature string) []byte) func(string) []byte {
	return func(m string) []byte {
		return []byte(strings.Replace(string(chat(m, "0.2")), `"max_tokens":64`, `"max_tokens":64,"stream":true,"stream_options":{"include_usage":true}`, 1))
	}
}

// startServe runs `switchboard serve --config path` in this process and
// returns its address once it listens; done closes when it has stopped.
func startServe(ctx context.Context, path string, getenv func(string) string) (string, <-chan struct{}, error) {
	w := &addrWatch{found: make(chan string, 1)}
	done := make(chan struct{})
	failed := make(chan error, 1)
	go func() {
		defer close(done)
		if err := serveCmd(ctx, []string{"--config", path}, io.Discard, w, getenv); err != nil {
			failed <- err
		}
	}()
	select {
	case addr := <-w.found:
		return addr, done, nil
	case err := <-failed:
		return "", done, err
	case <-time.After(30 * time.Second):
		return "", done, fmt.Errorf("serve did not start: %s", w.String())
	}
}

// addrWatch collects serve's log and reports its listen address.
type addrWatch struct {
	mu    sync.Mutex
	buf   bytes.Buffer
	found chan string
	sent  bool
}

var listenAddr = regexp.MustCompile(`"addr":"([^"]+)"`)

func (a *addrWatch) Write(p []byte) (int, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.buf.Write(p)
	if m := listenAddr.FindSubmatch(a.buf.Bytes()); m != nil && !a.sent {
		a.sent = true
		a.found <- string(m[1])
	}
	if a.buf.Len() > 1<<20 {
		a.buf.Reset()
	}
	return len(p), nil
}

func (a *addrWatch) String() string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.buf.String()
}

// createKey issues a virtual key with limits high enough never to refuse,
// so the checks run on every request.
func createKey(addr, master string) (string, error) {
	req, _ := http.NewRequest("POST", "http://"+addr+"/admin/v1/keys",
		strings.NewReader(`{"name":"bench","rpm":2000000000,"tpm":2000000000,"max_budget_usd":1000000000}`))
	req.Header.Set("Authorization", "Bearer "+master)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	var out struct {
		Key string `json:"key"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || out.Key == "" {
		return "", fmt.Errorf("creating the bench key: status %d", resp.StatusCode)
	}
	return out.Key, nil
}
