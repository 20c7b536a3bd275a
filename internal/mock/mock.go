// Package mock is a fake LLM provider for demos, tests and benchmarks. It
// speaks the OpenAI, Azure OpenAI, Anthropic, Gemini (AI Studio and
// Vertex AI), Bedrock (Converse, with real event-stream frames) and Cohere
// (v2) wire formats with
// deterministic content, realistic streams (chunking, usage, tool calls)
// and injectable latency and failures.
package mock

import (
	"bytes"
	"context"
	"io"
	"math"
	"math/rand/v2"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// Options shape the mock's behaviour.
type Options struct {
	Latency         time.Duration // before the first byte
	Jitter          time.Duration // uniform extra latency in [0, Jitter)
	FailRate        float64       // share of requests answered with a 500
	TokensPerSecond float64       // stream pacing; 0 sends chunks at once
	// EmbeddingDims is the default vector size (default 64).
	EmbeddingDims int
	// AWS, if set, makes the Bedrock format check SigV4 signatures.
	AWS AWSCredentials
	// FailStatus is the status of failing requests (default 500); a 429
	// carries Retry-After (RetryAfter, default 1s).
	FailStatus int
	RetryAfter time.Duration
}

// Server is the mock upstream.
type Server struct {
	opts     Options
	failRate atomic.Uint64 // float64 bits; changeable at run time
	latency  atomic.Int64  // ns; changeable at run time
	mux      *http.ServeMux
	requests atomic.Int64
	mu       sync.Mutex
	rng      *rand.Rand
	// OnRequest, if set, sees every request and its body.
	OnRequest func(r *http.Request, body []byte)
}

// New builds a mock upstream.
func New(o Options) *Server {
	if o.EmbeddingDims <= 0 {
		o.EmbeddingDims = 64
	}
	if o.FailStatus < 400 {
		o.FailStatus = http.StatusInternalServerError
	}
	if o.RetryAfter == 0 {
		o.RetryAfter = time.Second
	}
	s := &Server{opts: o, mux: http.NewServeMux(), rng: rand.New(rand.NewPCG(1, 2))}
	s.SetFailRate(o.FailRate)
	s.SetLatency(o.Latency)
	s.mux.HandleFunc("POST /v1/chat/completions", s.openaiChat)
	s.mux.HandleFunc("POST /v1/embeddings", s.openaiEmbeddings)
	s.mux.HandleFunc("GET /v1/models", s.openaiModels)
	s.mux.HandleFunc("POST /v1/responses", s.openaiResponses)
	s.mux.HandleFunc("POST /openai/deployments/{deployment}/chat/completions", s.azure(s.openaiChat))
	s.mux.HandleFunc("POST /openai/deployments/{deployment}/embeddings", s.azure(s.openaiEmbeddings))
	s.mux.HandleFunc("POST /v1/messages", s.anthropicMessages)
	s.mux.HandleFunc("POST /v1/messages/count_tokens", s.anthropicCountTokens)
	s.mux.HandleFunc("POST /v1beta/models/{rest}", s.geminiRoute)
	s.mux.HandleFunc("POST /model/{model}/{op}", s.bedrockRoute)
	s.mux.HandleFunc("POST /v2/chat", s.cohereChat)
	s.mux.HandleFunc("POST /v2/embed", s.cohereEmbed)
	s.mux.HandleFunc("POST /v1/projects/{project}/locations/{location}/publishers/google/models/{rest}", s.geminiRoute)
	return s
}

// SetFailRate changes the share of requests that fail, e.g. to simulate an
// outage and a recovery.
func (s *Server) SetFailRate(f float64) { s.failRate.Store(math.Float64bits(f)) }

// SetLatency changes the delay before each response's first byte.
func (s *Server) SetLatency(d time.Duration) { s.latency.Store(int64(d)) }

// Requests counts the requests served so far.
func (s *Server) Requests() int64 { return s.requests.Load() }

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.requests.Add(1)
	s.mux.ServeHTTP(w, r)
}

// read reads the body and reports it to OnRequest.
func (s *Server) read(r *http.Request) ([]byte, error) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return nil, err
	}
	if s.OnRequest != nil {
		s.OnRequest(r, bytes.Clone(body))
	}
	return body, nil
}

// wait applies latency and jitter; it reports false if the client left.
func (s *Server) wait(ctx context.Context) bool {
	d := time.Duration(s.latency.Load())
	if s.opts.Jitter > 0 {
		s.mu.Lock()
		d += time.Duration(s.rng.Int64N(int64(s.opts.Jitter)))
		s.mu.Unlock()
	}
	return sleep(ctx, d)
}

// failNow decides whether this request is one of the failing share.
func (s *Server) failNow() bool {
	rate := math.Float64frombits(s.failRate.Load())
	if rate <= 0 {
		return false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.rng.Float64() < rate
}

// pace sleeps between stream chunks.
func (s *Server) pace(ctx context.Context) bool {
	if s.opts.TokensPerSecond <= 0 {
		return ctx.Err() == nil
	}
	return sleep(ctx, time.Duration(float64(time.Second)/s.opts.TokensPerSecond))
}

func sleep(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// azure checks Azure's api-version and api-key, then serves as OpenAI
// with the deployment name as the model.
func (s *Server) azure(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("api-version") == "" {
			writeJSONError(w, http.StatusNotFound, `{"error":{"code":"404","message":"Resource not found"}}`)
			return
		}
		if r.Header.Get("api-key") == "" {
			writeJSONError(w, http.StatusUnauthorized, `{"error":{"code":"401","message":"Access denied due to invalid subscription key or wrong API endpoint. Make sure to provide a valid key for an active subscription and use a correct regional API endpoint for your resource."}}`)
			return
		}
		r.Header.Set("x-mock-azure-deployment", r.PathValue("deployment"))
		r.Header.Set("Authorization", "Bearer azure")
		next(w, r)
	}
}

func writeJSONError(w http.ResponseWriter, status int, body string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	io.WriteString(w, body)
}

// cut drops the connection without ending the response, as a failing
// upstream or network would.
func cut() { panic(http.ErrAbortHandler) }

// failStatus decides the status of this request's simulated failure: a
// directive's, or the configured one when the fail rate says so; 0 when
// the request should succeed.
func (s *Server) failStatus(d directives) int {
	if d.status >= 400 {
		return d.status
	}
	if s.failNow() {
		return s.opts.FailStatus
	}
	return 0
}

// retryAfterHeaders sets Retry-After (seconds, rounded up) and OpenAI's
// retry-after-ms on a 429.
func (s *Server) retryAfterHeaders(w http.ResponseWriter) {
	ra := s.opts.RetryAfter
	w.Header().Set("Retry-After", strconv.Itoa(int((ra+time.Second-1)/time.Second)))
	w.Header().Set("retry-after-ms", strconv.FormatInt(ra.Milliseconds(), 10))
}

// preamble applies per-request faults before the answer: a reset
// connection, a hang, or a slow first byte. It reports false when the
// request should not be answered.
func (s *Server) preamble(r *http.Request, d directives) bool {
	switch {
	case d.reset:
		cut()
	case d.hang:
		<-r.Context().Done()
		return false
	}
	if d.slowFirst > 0 && !sleep(r.Context(), d.slowFirst) {
		return false
	}
	return s.wait(r.Context())
}
