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
	"math/rand/v2"
	"net/http"
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
}

// Server is the mock upstream.
type Server struct {
	opts     Options
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
	s := &Server{opts: o, mux: http.NewServeMux(), rng: rand.New(rand.NewPCG(1, 2))}
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
	d := s.opts.Latency
	if s.opts.Jitter > 0 {
		s.mu.Lock()
		d += time.Duration(s.rng.Int64N(int64(s.opts.Jitter)))
		s.mu.Unlock()
	}
	return sleep(ctx, d)
}

// failNow decides whether this request is one of the failing share.
func (s *Server) failNow() bool {
	if s.opts.FailRate <= 0 {
		return false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.rng.Float64() < s.opts.FailRate
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
