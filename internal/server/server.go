// Package server is Switchboard's HTTP front: routes, auth, body limits,
// request ids, response headers, and the JSON and SSE writers.
package server

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/switchboard-gw/switchboard/internal/api"
	"github.com/switchboard-gw/switchboard/internal/api/anthropic"
	"github.com/switchboard-gw/switchboard/internal/api/openai"
	"github.com/switchboard-gw/switchboard/internal/auth"
	"github.com/switchboard-gw/switchboard/internal/cache"
	"github.com/switchboard-gw/switchboard/internal/config"
	"github.com/switchboard-gw/switchboard/internal/gateway"
	"github.com/switchboard-gw/switchboard/internal/limits"
	"github.com/switchboard-gw/switchboard/internal/provider"
)

// Options configure a Server.
type Options struct {
	Config  *config.Config
	Gateway *gateway.Gateway
	Log     *slog.Logger
	// OnRecord, if set, receives one record per finished inference
	// request. It runs on the request goroutine and must not block.
	OnRecord func(*Record)
	// Metrics, if set, serves GET /metrics.
	Metrics http.Handler
	// Feedback, if set, stores POST /v1/feedback scores.
	Feedback FeedbackStore
	// Cache, if set, answers repeated requests from stored answers.
	Cache *Responses
	// Tracing makes records carry what traces need (trace context,
	// sampling parameters, response ids); off, none of it is read.
	Tracing bool
	// Auth resolves keys; nil accepts only the config's master key.
	Auth *auth.Authenticator
	// Store, if set, is pinged by /readyz.
	Store interface{ Ping(context.Context) error }
	// Admin, if set, serves /admin/.
	Admin http.Handler
	// Limiter enforces keys' rate limits and budgets; nil enforces none.
	Limiter *limits.Limiter
}

// SetGateway swaps in a gateway built from changed configuration;
// requests already running finish on the one they started with.
func (s *Server) SetGateway(g *gateway.Gateway) { s.gw.Store(g) }

// Record describes one finished inference request.
type Record struct {
	RequestID string
	Endpoint  string
	KeyID     string // the caller's key ("" for the master key or --demo)
	TeamID    string
	UserID    string
	Model     string // as the client asked
	Provider  string // the deployment's provider that answered (or last tried)
	Upstream  string // the upstream model
	Status    int
	Stream    bool
	Attempts  int
	Usage     provider.Usage
	Latency   time.Duration
	TTFT      time.Duration
	Error     string
	// Trace lists every upstream attempt (and skipped deployment).
	Trace []gateway.Attempt
	// Start is when the request arrived.
	Start time.Time
	// CostUSD is what the answer cost at list (or configured) prices;
	// Unpriced marks a model with no known price, whose cost is unknown,
	// not zero.
	CostUSD  float64
	Unpriced bool
	// Group is the model group that served (bounded: from the config),
	// "" when the model was not found.
	Group string
	// ErrorType and ErrorCode classify a failure as the client saw it.
	ErrorType, ErrorCode string
	// Overhead is the time spent in Switchboard itself: the whole
	// request less the wait on the upstream (for a stream, up to the
	// first chunk).
	Overhead time.Duration
	// Cache is the cache result: hit, semantic-hit, miss or bypass. On a
	// hit, CostSavedUSD is what the answer cost when it was made and
	// CacheSource the request that made it.
	Cache        string
	CostSavedUSD float64
	CacheSource  string
	// MaxTokens is the request's max_tokens (0: not set). The rest is
	// kept only when tracing is on: the client's W3C trace context and
	// sampling parameters, and the answer's id and finish reasons.
	MaxTokens               int64
	TraceParent, TraceState string
	Temperature, TopP       *float64
	ResponseID              string
	FinishReasons           []string
	// RequestBody and ResponseBody are the prompt and the answer, kept
	// (capped, not yet redacted) only where payload capture is on.
	RequestBody, ResponseBody []byte
	// Metadata is the client's x-switchboard-metadata (a JSON object) and
	// Tags its x-switchboard-tags, both as sent.
	Metadata, Tags string
	// BudgetAlerts lists the budgets (key:ID, team:ID, ...) whose alert
	// share this request's spend crossed.
	BudgetAlerts []string

	capture    bool                // keep the payloads
	deployment *gateway.Deployment // the one that answered, for pricing
	ticket     *limits.Ticket      // the limits admission to settle
}

// Server serves the inference and operations endpoints.
type Server struct {
	cfg      *config.Config
	gw       atomic.Pointer[gateway.Gateway] // swapped when models change at run time
	log      *slog.Logger
	auth     *auth.Authenticator
	store    interface{ Ping(context.Context) error }
	limiter  *limits.Limiter
	authOff  bool
	maxBody  int64
	onRecord func(*Record)
	inFlight atomic.Int64
	// feedbackStore keeps POST /v1/feedback scores.
	feedbackStore FeedbackStore
	tracing       bool
	cache         *Responses
	alerted       sync.Map // budget subject|period → alert logged
	ready         atomic.Bool
	mux           *http.ServeMux
}

// New builds a server; it is ready at once.
func New(o Options) *Server {
	s := &Server{
		cfg:           o.Config,
		log:           o.Log,
		auth:          o.Auth,
		store:         o.Store,
		limiter:       o.Limiter,
		authOff:       o.Config.Demo,
		maxBody:       o.Config.MaxBodyBytes,
		onRecord:      o.OnRecord,
		feedbackStore: o.Feedback,
		tracing:       o.Tracing,
		cache:         o.Cache,
		mux:           http.NewServeMux(),
	}
	s.gw.Store(o.Gateway)
	if s.log == nil {
		s.log = slog.New(slog.NewJSONHandler(io.Discard, nil))
	}
	if s.maxBody <= 0 {
		s.maxBody = config.DefaultMaxBodyBytes
	}
	if s.auth == nil {
		s.auth = auth.NewAuthenticator(o.Config.MasterKey, auth.NewHasher(o.Config.MasterKey), nil, 0)
	}
	if o.Admin != nil {
		s.mux.Handle("/admin/", o.Admin)
	}
	for _, prefix := range []string{"/v1", ""} {
		s.mux.HandleFunc("POST "+prefix+"/chat/completions", s.inference("chat", openai.ErrorJSON, s.withBody(s.chat)))
		s.mux.HandleFunc("POST "+prefix+"/embeddings", s.inference("embeddings", openai.ErrorJSON, s.withBody(s.embeddings)))
		s.mux.HandleFunc("GET "+prefix+"/models", s.inference("models", openai.ErrorJSON, s.models))
		s.mux.HandleFunc("POST "+prefix+"/messages", s.inference("messages", anthropic.ErrorJSON, s.withBody(s.messages)))
		s.mux.HandleFunc("POST "+prefix+"/messages/count_tokens", s.inference("count_tokens", anthropic.ErrorJSON, s.withBody(s.countTokens)))
		s.mux.HandleFunc("POST "+prefix+"/responses", s.inference("responses", openai.ErrorJSON, s.withBody(s.responsesAPI)))
		s.mux.HandleFunc("POST "+prefix+"/feedback", s.inference("feedback", openai.ErrorJSON, s.feedback))
	}
	s.mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"status":"ok"}`)
	})
	s.mux.HandleFunc("GET /readyz", s.readyz)
	if o.Metrics != nil {
		s.mux.Handle("GET /metrics", o.Metrics)
	}
	s.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Request-Id", requestID(r))
		writeError(w, openai.ErrorJSON, &api.Error{Status: http.StatusNotFound, Type: api.TypeInvalidRequest, Code: "unknown_url",
			Message: "Unknown request URL: " + r.Method + " " + r.URL.Path + "."})
	})
	s.ready.Store(true)
	return s
}

// Gateway is the gateway serving now.
func (s *Server) Gateway() *gateway.Gateway { return s.gw.Load() }

// InFlight is the number of inference requests being served now.
func (s *Server) InFlight() int64 { return s.inFlight.Load() }

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.mux.ServeHTTP(w, r) }

// SetReady flips /readyz, e.g. to 503 while draining on shutdown.
func (s *Server) SetReady(ok bool) { s.ready.Store(ok) }

func (s *Server) readyz(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	if !s.ready.Load() {
		w.WriteHeader(http.StatusServiceUnavailable)
		io.WriteString(w, `{"status":"not ready"}`)
		return
	}
	if s.store != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		if err := s.store.Ping(ctx); err != nil {
			w.WriteHeader(http.StatusServiceUnavailable)
			io.WriteString(w, `{"status":"database unreachable"}`)
			return
		}
	}
	io.WriteString(w, `{"status":"ready"}`)
}

// reqState is what the inference middleware hands to handlers.
type reqState struct {
	id       string
	endpoint string
	// metadata and tags are the client's, checked on arrival.
	metadata, tags string
	// traceParent and traceState are the client's W3C trace context.
	traceParent, traceState string
	// body is the request body as the client sent it, while the handler
	// runs (pooled: copy what must outlive it).
	body []byte
	// asm rebuilds a streamed answer that will be cached.
	asm    *cache.Assembler
	start  time.Time
	log    *slog.Logger
	logTo  requestHandler
	logger slog.Logger
	// chat and greq are the chat request's fields and its gateway
	// request, kept here rather than allocated on their own.
	chat openai.ChatFields
	greq gateway.Request
	// hv holds the values of the response headers Switchboard sets, so
	// that setting them allocates nothing.
	hv  [12]string
	nhv int
	// render writes errors in the route's inbound format.
	render func(*api.Error) []byte
	// who is the caller (an open principal in --demo).
	who *auth.Principal
}

// setHeader sets a response header (name in canonical form) with its
// value kept in the request's own store.
func (st *reqState) setHeader(h http.Header, name, value string) {
	if st.nhv == len(st.hv) {
		h[name] = []string{value}
		return
	}
	st.hv[st.nhv] = value
	h[name] = st.hv[st.nhv : st.nhv+1 : st.nhv+1]
	st.nhv++
}

// requestHandler adds the request's id (and key) to each line a request
// logs, formatting them only when a line is written: most requests log
// nothing, and slog.Logger.With would encode them up front every time.
type requestHandler struct {
	slog.Handler
	id, keyID string
}

func (h *requestHandler) Handle(ctx context.Context, r slog.Record) error {
	r.AddAttrs(h.attrs()...)
	return h.Handler.Handle(ctx, r)
}

func (h *requestHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return h.Handler.WithAttrs(append(h.attrs(), as...))
}

func (h *requestHandler) WithGroup(name string) slog.Handler {
	return h.Handler.WithAttrs(h.attrs()).WithGroup(name)
}

func (h *requestHandler) attrs() []slog.Attr {
	if h.keyID == "" {
		return []slog.Attr{slog.String("request_id", h.id)}
	}
	return []slog.Attr{slog.String("request_id", h.id), slog.String("key_id", h.keyID)}
}

// inference wraps an inference handler with request ids, auth, the
// in-flight count and the access log. A caller turned away by auth still
// leaves a record (without a key), so refused traffic is visible too.
func (s *Server) inference(endpoint string, render func(*api.Error) []byte, h func(http.ResponseWriter, *http.Request, *reqState)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		s.inFlight.Add(1)
		defer s.inFlight.Add(-1)
		st := &reqState{start: time.Now(), id: requestID(r), render: render, endpoint: endpoint}
		st.setHeader(w.Header(), "X-Request-Id", st.id)
		st.logTo = requestHandler{Handler: s.log.Handler(), id: st.id}
		st.logger = *slog.New(&st.logTo)
		st.log = &st.logger
		if s.tracing {
			st.traceParent, st.traceState = r.Header.Get("Traceparent"), r.Header.Get("Tracestate")
		}
		if s.authOff {
			st.who = &auth.Principal{Master: true, Role: auth.RoleAdmin}
		} else {
			p, aerr := s.auth.Authenticate(r.Context(), r)
			if aerr == nil && !p.HasScope("inference") {
				aerr = &api.Error{Status: http.StatusForbidden, Type: api.TypePermission, Code: "missing_scope",
					Message: "This key lacks the inference scope."}
			}
			if aerr != nil {
				rec := &Record{RequestID: st.id, Endpoint: endpoint}
				s.fail(w, st, rec, aerr)
				s.finish(st, rec)
				return
			}
			st.who = p
			if p.KeyID != "" {
				st.logTo.keyID = p.KeyID
			}
		}
		if aerr := st.clientLabels(r.Header); aerr != nil {
			rec := &Record{RequestID: st.id, Endpoint: endpoint}
			s.fail(w, st, rec, aerr)
			s.finish(st, rec)
			return
		}
		h(w, r, st)
	}
}

// bodyHandler handles a POST whose body has been read; rec is its record.
type bodyHandler func(w http.ResponseWriter, r *http.Request, st *reqState, rec *Record, body []byte)

// withBody reads the request body within the limit and emits the request's
// record when the handler returns.
func (s *Server) withBody(h bodyHandler) func(http.ResponseWriter, *http.Request, *reqState) {
	return func(w http.ResponseWriter, r *http.Request, st *reqState) {
		rec := &Record{RequestID: st.id, Endpoint: st.endpoint}
		defer s.finish(st, rec)
		body, buf, aerr := s.readBody(w, r)
		defer releaseBody(buf)
		if aerr != nil {
			s.fail(w, st, rec, aerr)
			return
		}
		st.body = body
		h(w, r, st, rec, body)
	}
}

// requestID echoes a sane client id or makes a new one.
func requestID(r *http.Request) string {
	if id := r.Header.Get("X-Request-Id"); id != "" && len(id) <= 128 && printable(id) {
		return id
	}
	var b [16]byte
	rand.Read(b[:])
	return "req_" + hex.EncodeToString(b[:])
}

func printable(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x21 || s[i] > 0x7e {
			return false
		}
	}
	return true
}

var bodyPool = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// readBody reads the request body up to the limit into a pooled buffer;
// releaseBody(buf) returns it to the pool once nothing refers to the
// bytes (buf may be nil).
func (s *Server) readBody(w http.ResponseWriter, r *http.Request) (body []byte, buf *bytes.Buffer, err *api.Error) {
	if r.ContentLength > s.maxBody {
		return nil, nil, api.TooLarge(s.maxBody)
	}
	buf = bodyPool.Get().(*bytes.Buffer)
	buf.Reset()
	if r.ContentLength > 0 {
		buf.Grow(int(r.ContentLength))
	}
	_, rerr := buf.ReadFrom(http.MaxBytesReader(w, r.Body, s.maxBody))
	if rerr != nil {
		releaseBody(buf)
		var mbe *http.MaxBytesError
		if asMaxBytes(rerr, &mbe) {
			return nil, nil, api.TooLarge(s.maxBody)
		}
		return nil, nil, api.BadRequest("", "invalid_body", "Could not read the request body.")
	}
	return buf.Bytes(), buf, nil
}

// releaseBody returns a body buffer to the pool, unless it grew large.
func releaseBody(buf *bytes.Buffer) {
	if buf != nil && buf.Cap() <= 1<<20 {
		bodyPool.Put(buf)
	}
}

// withDeadline applies a group's timeout to the request context.
func withDeadline(ctx context.Context, d time.Duration) (context.Context, context.CancelFunc) {
	if d <= 0 {
		return context.WithCancel(ctx)
	}
	return context.WithTimeout(ctx, d)
}

func (s *Server) record(rec *Record) {
	if d := rec.deployment; d != nil && (rec.Status == http.StatusOK || rec.Usage.Output > 0) {
		if p, ok := d.PriceFor(rec.Upstream); ok {
			rec.CostUSD = p.Cost(rec.Usage)
		} else {
			rec.Unpriced = true
		}
	}
	s.settle(rec)
	if s.cfg.Log.Access {
		s.log.LogAttrs(context.Background(), slog.LevelInfo, "request",
			slog.String("request_id", rec.RequestID), slog.String("endpoint", rec.Endpoint),
			slog.String("model", rec.Model), slog.String("provider", rec.Provider),
			slog.Int("status", rec.Status), slog.Bool("stream", rec.Stream), slog.Int("attempts", rec.Attempts),
			slog.Int64("input_tokens", rec.Usage.Input), slog.Int64("output_tokens", rec.Usage.Output), slog.Bool("usage_estimated", rec.Usage.Estimated),
			slog.Float64("cost_usd", rec.CostUSD), slog.Bool("unpriced", rec.Unpriced),
			slog.Duration("latency", rec.Latency), slog.String("error", rec.Error))
	}
	if s.onRecord != nil {
		s.onRecord(rec)
	}
}

// Bounds on what a client may attach to its request's log entry.
const (
	maxMetadataBytes = 4 << 10
	maxTagsBytes     = 1 << 10
)

// clientLabels takes x-switchboard-metadata (a JSON object) and
// x-switchboard-tags (comma-separated) for the log; malformed or
// oversized ones are refused so nothing unreadable is stored.
func (st *reqState) clientLabels(h http.Header) *api.Error {
	if m := h.Get("X-Switchboard-Metadata"); m != "" {
		if len(m) > maxMetadataBytes || !json.Valid([]byte(m)) || strings.TrimSpace(m)[0] != '{' {
			return api.BadRequest("x-switchboard-metadata", "invalid_metadata", "x-switchboard-metadata must be a JSON object of at most %d bytes.", maxMetadataBytes)
		}
		st.metadata = m
	}
	if t := h.Get("X-Switchboard-Tags"); t != "" {
		if len(t) > maxTagsBytes || !printableTags(t) {
			return api.BadRequest("x-switchboard-tags", "invalid_tags", "x-switchboard-tags must be comma-separated printable tags, at most %d bytes.", maxTagsBytes)
		}
		st.tags = t
	}
	return nil
}

func printableTags(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] > 0x7e {
			return false
		}
	}
	return true
}
