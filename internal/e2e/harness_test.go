// Package e2e drives Switchboard over HTTP with the official SDKs as
// clients, against fake upstreams that speak each provider's wire format:
// the mock, and recorded traffic from ../shared/fixtures.
package e2e

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"

	"github.com/switchboard-gw/switchboard/internal/admin"
	"github.com/switchboard-gw/switchboard/internal/auth"
	"github.com/switchboard-gw/switchboard/internal/config"
	"github.com/switchboard-gw/switchboard/internal/fixtures"
	"github.com/switchboard-gw/switchboard/internal/gateway"
	"github.com/switchboard-gw/switchboard/internal/limits"
	"github.com/switchboard-gw/switchboard/internal/mock"
	_ "github.com/switchboard-gw/switchboard/internal/provider/all"
	"github.com/switchboard-gw/switchboard/internal/reqlog"
	"github.com/switchboard-gw/switchboard/internal/secret"
	"github.com/switchboard-gw/switchboard/internal/server"
	"github.com/switchboard-gw/switchboard/internal/store"
	"github.com/switchboard-gw/switchboard/internal/telemetry"
)

const masterKey = "sk-test-master-key"

// gatewayUnderTest is a running Switchboard.
type gatewayUnderTest struct {
	URL     string
	gw      *gateway.Gateway
	store   *store.Store
	limiter *limits.Limiter
	logs    *reqlog.Writer
	metrics *telemetry.Metrics
	tracer  *telemetry.Tracer // when cfg.Tracing names an endpoint
	// warnings holds the gateway's log lines at warn and above.
	warnings lockedBuffer
	mu       sync.Mutex
	records  []*server.Record
	done     chan *server.Record
}

// Records returns the records of finished requests.
func (g *gatewayUnderTest) Records() []*server.Record {
	g.mu.Lock()
	defer g.mu.Unlock()
	return append([]*server.Record(nil), g.records...)
}

// nextRecord waits for the next finished request's record.
func (g *gatewayUnderTest) nextRecord(t *testing.T) *server.Record {
	t.Helper()
	select {
	case r := <-g.done:
		return r
	case <-time.After(5 * time.Second):
		t.Fatal("no request record within 5s")
		return nil
	}
}

// startGateway runs Switchboard with a YAML config in which ${UPSTREAM}
// is the fake upstream's URL.
func startGateway(t testing.TB, yaml, upstream string) *gatewayUnderTest {
	t.Helper()
	env := map[string]string{"UPSTREAM": upstream, "MASTER": masterKey}
	cfg, err := config.Parse("test.yaml", []byte(yaml), func(k string) string { return env[k] })
	if err != nil {
		t.Fatalf("config: %v", err)
	}
	return startWithConfig(t, cfg, true)
}

// startWithConfig runs Switchboard; observe collects request records
// (benchmarks leave it off).
func startWithConfig(t testing.TB, cfg *config.Config, observe bool) *gatewayUnderTest {
	t.Helper()
	gw, err := gateway.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Database == config.DefaultDatabase {
		cfg.Database = "sqlite://" + filepath.Join(t.TempDir(), "switchboard.db")
	}
	st, err := store.Open(context.Background(), cfg.Database)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return startWithStore(t, cfg, gw, st, observe)
}

// startWithStore runs Switchboard on an open store (the tests' PostgreSQL
// schema, say).
func startWithStore(t testing.TB, cfg *config.Config, gw *gateway.Gateway, st *store.Store, observe bool) *gatewayUnderTest {
	t.Helper()
	g := &gatewayUnderTest{done: make(chan *server.Record, 1024), gw: gw, store: st}
	// Warnings and errors are kept for the test to read; everything goes
	// to stderr with -v.
	log := slog.New(slog.NewJSONHandler(&g.warnings, &slog.HandlerOptions{Level: slog.LevelWarn}))
	if testing.Verbose() {
		log = slog.New(slog.NewJSONHandler(io.MultiWriter(os.Stderr, &g.warnings), &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	authn := auth.NewAuthenticator(cfg.MasterKey, auth.NewHasher(auth.DeriveSecret(cfg.MasterKey)), st, time.Second)

	limiter, _, err := limits.Open(context.Background(), cfg.Redis)
	if err != nil {
		t.Fatal(err)
	}
	adm := admin.New(st, authn, log)
	if adm.Secrets, err = secret.ForConfig(cfg); err != nil {
		t.Fatal(err)
	}
	adm.Limiter = limiter
	opts := server.Options{Config: cfg, Gateway: gw, Log: log, Auth: authn, Store: st, Admin: adm, Limiter: limiter, Feedback: st}
	g.limiter = limiter
	// The request log, as serve wires it, flushing often so tests see rows soon.
	logOpts, err := reqlog.OptionsFor(cfg)
	if err != nil {
		t.Fatal(err)
	}
	logOpts.Interval, logOpts.Spill = 10*time.Millisecond, ""
	g.logs = reqlog.New(st, log, logOpts)
	t.Cleanup(g.logs.Close)
	g.metrics = telemetry.NewMetrics()
	opts.Metrics = g.metrics.Handler()
	if g.tracer, err = telemetry.NewTracer(context.Background(), cfg.Tracing, func(string) string { return "" }, log); err != nil {
		t.Fatal(err)
	}
	opts.Tracing = g.tracer != nil
	if opts.Cache, err = server.OpenResponses(context.Background(), cfg, st, log); err != nil {
		t.Fatal(err)
	}
	adm.Cache = opts.Cache
	if opts.Cache.Semantic != nil {
		ctx, stop := context.WithCancel(context.Background())
		t.Cleanup(stop)
		go opts.Cache.Semantic.Follow(ctx, 100*time.Millisecond)
	}
	export := g.metrics.Recorder(g.tracer, g.logs)
	opts.OnRecord = export
	if observe {
		opts.OnRecord = func(r *server.Record) {
			export(r)
			g.mu.Lock()
			g.records = append(g.records, r)
			g.mu.Unlock()
			g.done <- r
		}
	}
	srv := server.New(opts)
	g.metrics.Watch(srv, g.logs, st, limiter, opts.Cache.Backend)
	hs := httptest.NewServer(srv)
	t.Cleanup(hs.Close)
	g.URL = hs.URL
	return g
}

// startMock runs the mock upstream.
func startMock(t testing.TB, o mock.Options) (*mock.Server, string) {
	t.Helper()
	m := mock.New(o)
	hs := httptest.NewServer(m)
	t.Cleanup(hs.Close)
	return m, hs.URL
}

// mockConfig puts OpenAI, Azure and Anthropic providers on the mock.
const mockConfig = `
master_key: ${MASTER}
providers:
  - name: oai
    type: openai
    base_url: ${UPSTREAM}/v1
    api_key: sk-upstream
  - name: az
    type: azure
    base_url: ${UPSTREAM}
    api_key: az-key
    api_version: 2024-10-21
  - name: claude
    type: anthropic
    base_url: ${UPSTREAM}
    api_key: ant-key
  - name: gem
    type: gemini
    base_url: ${UPSTREAM}
    api_key: gem-key
  - name: aws
    type: bedrock
    base_url: ${UPSTREAM}
    region: us-east-1
    access_key_id: AKIDTEST
    secret_access_key: secret-test
  - name: co
    type: cohere
    base_url: ${UPSTREAM}
    api_key: co-key
models:
  - name: gpt
    deployments: [{provider: oai, model: mock-gpt}]
  - name: azure-gpt
    deployments: [{provider: az, model: my-deployment}]
  - name: claude
    deployments: [{provider: claude, model: mock-claude}]
  - name: claude-lenient
    drop_params: true
    deployments: [{provider: claude, model: mock-claude}]
  - name: embed
    deployments: [{provider: oai, model: mock-embedding}]
  - name: azure-embed
    deployments: [{provider: az, model: my-embedding-deployment}]
  - name: claude-embed
    deployments: [{provider: claude, model: mock-claude}]
  - name: gemini
    deployments: [{provider: gem, model: mock-gemini}]
  - name: gemini-embed
    deployments: [{provider: gem, model: mock-gemini-embedding}]
  - name: bedrock
    deployments: [{provider: aws, model: "anthropic.claude-3-5-haiku-20241022-v1:0"}]
  - name: titan-embed
    deployments: [{provider: aws, model: "amazon.titan-embed-text-v2:0"}]
  - name: bedrock-cohere-embed
    deployments: [{provider: aws, model: "cohere.embed-english-v3"}]
  - name: cohere
    deployments: [{provider: co, model: command-a}]
  - name: cohere-embed
    deployments: [{provider: co, model: embed-v4.0}]
  - name: slow
    timeout: 300ms
    deployments: [{provider: oai, model: mock-gpt}]
`

func sdk(url string, opts ...option.RequestOption) openai.Client {
	base := []option.RequestOption{option.WithBaseURL(url + "/v1"), option.WithAPIKey(masterKey), option.WithMaxRetries(0)}
	return openai.NewClient(append(base, opts...)...)
}

// post sends a raw JSON request to the gateway.
func post(t *testing.T, url, path, body string, header ...string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+masterKey)
	for i := 0; i+1 < len(header); i += 2 {
		if header[i+1] == "" {
			req.Header.Del(header[i])
			continue
		}
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("reading body: %v", err)
	}
	return resp, b
}

// sseData splits an SSE body into its data payloads.
func sseData(body []byte) []string {
	var out []string
	sc := bufio.NewScanner(bytes.NewReader(body))
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		if d, ok := strings.CutPrefix(sc.Text(), "data: "); ok {
			out = append(out, d)
		}
	}
	return out
}

// newServer starts an HTTP server for the test and returns its URL.
func newServer(t testing.TB, h http.Handler) string {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv.URL
}

// openAIGateway routes the model "gpt" (and "embed") to a fake
// OpenAI-compatible upstream answering with reply.
func openAIGateway(t *testing.T, reply fixtures.Reply, upstreamModel string) *gatewayUnderTest {
	t.Helper()
	gw, _ := openAIGatewayWithUpstream(t, reply, upstreamModel)
	return gw
}

// openAIGatewayWithUpstream is openAIGateway that also returns the fake
// upstream, to inspect what it received.
func openAIGatewayWithUpstream(t *testing.T, reply fixtures.Reply, upstreamModel string) (*gatewayUnderTest, *fixtures.Upstream) {
	t.Helper()
	up := fixtures.Serve(t, reply)
	return startGateway(t, `
master_key: ${MASTER}
providers:
  - name: up
    type: openai
    base_url: ${UPSTREAM}
    api_key: k
models:
  - name: gpt
    deployments: [{provider: up, model: `+upstreamModel+`}]
  - name: embed
    deployments: [{provider: up, model: `+upstreamModel+`}]
`, up.URL), up
}

func jsonMarshal(v any) (string, error) {
	b, err := json.Marshal(v)
	return string(b), err
}
