package server

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/tidwall/gjson"

	"github.com/switchboard-gw/switchboard/internal/api"
	"github.com/switchboard-gw/switchboard/internal/api/openai"
	"github.com/switchboard-gw/switchboard/internal/cache"
	"github.com/switchboard-gw/switchboard/internal/gateway"
	"github.com/switchboard-gw/switchboard/internal/provider"
	"github.com/switchboard-gw/switchboard/internal/sse"
)

func (s *Server) chat(w http.ResponseWriter, r *http.Request, st *reqState, rec *Record, body []byte) {
	s.serveChat(w, r, st, rec, body, openaiResponder{}, nil)
}

// passthrough is an inbound body some providers take as is, and how to
// answer when one did.
type passthrough struct {
	req *provider.PassRequest
	out responder // writes the provider's own-format answer
}

// responder writes a chat answer in the inbound format: the JSON body and
// the stream events, from the internal (OpenAI) shape.
type responder interface {
	// JSON turns a chat completion into the format's response body.
	JSON(body []byte) ([]byte, error)
	// Chunk writes one chunk's events.
	Chunk(w io.Writer, chunk []byte) error
	// Done ends a complete stream.
	Done(w io.Writer) error
	// Fail ends a broken stream with an error event.
	Fail(w io.Writer, e *api.Error) error
}

// openaiResponder passes OpenAI's format through untouched.
type openaiResponder struct{}

func (openaiResponder) JSON(body []byte) ([]byte, error)      { return body, nil }
func (openaiResponder) Chunk(w io.Writer, chunk []byte) error { return sse.WriteData(w, chunk) }
func (openaiResponder) Done(w io.Writer) error                { return sse.WriteData(w, sse.Done) }
func (openaiResponder) Fail(w io.Writer, e *api.Error) error {
	return sse.WriteData(w, openai.ErrorJSON(e))
}

// finish completes and emits a request's record.
func (s *Server) finish(st *reqState, rec *Record) {
	rec.Start, rec.Latency = st.start, time.Since(st.start)
	if rec.Cache == "" && rec.Group != "" {
		rec.Cache = "bypass" // no cache configured for it
	}
	if s.cache != nil {
		s.cache.count(rec.Cache)
	}
	if st.who != nil {
		rec.KeyID, rec.TeamID, rec.UserID = st.who.KeyID, st.who.TeamID, st.who.UserID
	}
	rec.Metadata, rec.Tags = st.metadata, st.tags
	rec.TraceParent, rec.TraceState = st.traceParent, st.traceState
	s.record(rec)
}

// serveChat routes an OpenAI-shaped chat body through the gateway and
// answers with out.
func (s *Server) serveChat(w http.ResponseWriter, r *http.Request, st *reqState, rec *Record, body []byte, out responder, pass *passthrough) {
	var aerr *api.Error
	st.chat, aerr = openai.ScanChat(body)
	f := &st.chat
	rec.Model, rec.Stream, rec.MaxTokens = f.Model, f.Stream, f.MaxTokens
	if aerr != nil {
		s.fail(w, st, rec, aerr)
		return
	}
	if s.tracing {
		rec.Temperature, rec.TopP = number(body, "temperature"), number(body, "top_p")
	}
	group, rest, ok := s.resolve(w, st, rec, f.Model)
	if !ok {
		return
	}
	ctx, cancel := withDeadline(r.Context(), group.Timeout)
	defer cancel()
	served, pending := s.cacheLookup(ctx, w, r, st, rec, group, f, body, out)
	if served {
		return
	}
	if pending != nil {
		defer s.cacheStore(st, rec, pending)
	}
	if _, ok := s.admit(ctx, w, st, rec, group, rest, func() int64 { return admissionTokens(body) }, f.MaxTokens); !ok {
		return
	}
	if rec.capture = s.cfg.Log.Payloads.Enabled || group.LogPayloads || st.who.CapturesPayloads(); rec.capture {
		rec.RequestBody = s.clip(st.body)
	}

	st.greq = gateway.Request{Group: group, Rest: rest, Body: body, Chat: f}
	greq := &st.greq
	if pass != nil {
		greq.Pass = pass.req
		greq.Pass.Stream = f.Stream
	}
	fallbackOverride(r, greq)
	if group.ContextWindow > 0 {
		greq.PromptTokens = func() int64 { return promptTokens(body) }
	}
	res, err := s.gw.Load().Chat(ctx, st.log, greq)
	if err != nil {
		s.failAttempts(w, st, rec, err)
		return
	}
	if res.Response.Raw {
		out = pass.out
	}
	rec.Provider, rec.Upstream, rec.Attempts, rec.Trace, rec.deployment = res.Deployment.ProviderName, res.Model, res.Attempts, res.Trace, res.Deployment
	setRouteHeaders(st, w.Header(), res)
	if rec.Cache != "" {
		w.Header().Set("X-Switchboard-Cache", rec.Cache)
	}
	if pending != nil && !res.Response.Raw {
		if res.Response.Stream != nil {
			st.asm = cache.NewAssembler()
		} else {
			pending.body = res.Response.Body
		}
	}
	if res.Response.Stream == nil {
		b, err := out.JSON(res.Response.Body)
		if err != nil {
			s.fail(w, st, rec, &api.Error{Status: http.StatusBadGateway, Type: api.TypeUpstream, Code: "invalid_upstream_response",
				Message: "The upstream response could not be translated.", Cause: err})
			return
		}
		rec.Status, rec.Usage = http.StatusOK, res.Response.Usage
		if !res.Response.Raw {
			estimateUsage(&rec.Usage, body, func() string { return answerText(res.Response.Body) })
			if s.tracing {
				rec.ResponseID = gjson.GetBytes(res.Response.Body, "id").String()
				for _, r := range gjson.GetBytes(res.Response.Body, "choices.#.finish_reason").Array() {
					rec.FinishReasons = append(rec.FinishReasons, r.String())
				}
			}
		}
		setTiming(st, w.Header(), rec, res.Upstream)
		st.setHeader(w.Header(), "Content-Type", "application/json")
		st.setHeader(w.Header(), "Content-Length", strconv.Itoa(len(b)))
		w.WriteHeader(http.StatusOK)
		w.Write(b)
		if rec.capture {
			rec.ResponseBody = s.clip(b)
		}
		return
	}
	s.streamChat(ctx, w, r, st, rec, res, group.Timeout, out, body)
}

// streamChat relays a stream whose first chunk is already in hand. Each
// chunk is flushed as it arrives. A stream that breaks ends with an error
// event and no [DONE], so clients cannot mistake it for a full answer.
func (s *Server) streamChat(ctx context.Context, w http.ResponseWriter, r *http.Request, st *reqState, rec *Record, res *gateway.Result, timeout time.Duration, out responder, body []byte) {
	stream := res.Response.Stream
	defer stream.Close()
	rec.TTFT = time.Since(st.start)
	h := w.Header()
	setTiming(st, h, rec, res.Upstream)
	st.setHeader(h, "Content-Type", "text/event-stream")
	st.setHeader(h, "Cache-Control", "no-cache")
	st.setHeader(h, "X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	rc := http.NewResponseController(w)
	rec.Status = http.StatusOK

	chunk := res.First
	var said streamText
	for {
		if !res.Response.Raw {
			said.add(chunk)
			if st.asm != nil {
				st.asm.Add(chunk)
			}
			if s.tracing {
				traceChunk(rec, chunk)
			}
		}
		if out.Chunk(w, chunk) != nil || rc.Flush() != nil {
			rec.Status, rec.Error = provider.StatusClientClosed, "client went away mid-stream"
			return
		}
		var err error
		chunk, err = stream.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			rec.Usage = stream.Usage()
			if r.Context().Err() != nil {
				rec.Status, rec.Error = provider.StatusClientClosed, "client went away mid-stream"
				return
			}
			e := api.As(err)
			if ctx.Err() != nil {
				e = &api.Error{Status: http.StatusGatewayTimeout, Type: api.TypeTimeout, Code: "upstream_timeout",
					Message: "The response took longer than the model's timeout of " + timeout.String() + ".", Cause: err}
			}
			rec.Status, rec.Error, rec.ErrorType, rec.ErrorCode = e.Status, e.Error(), e.Type, e.Code
			st.log.LogAttrs(ctx, slog.LevelWarn, "stream broke after it started",
				slog.String("provider", rec.Provider), slog.String("error", e.Error()))
			out.Fail(w, e)
			rc.Flush()
			return
		}
	}
	rec.Usage = stream.Usage()
	if !res.Response.Raw {
		estimateUsage(&rec.Usage, body, said.b.String)
		if rec.capture {
			rec.ResponseBody = s.clip([]byte(said.b.String()))
		}
	}
	out.Done(w)
	rc.Flush()
}

// resolve finds the model's group, answering 404 for an unknown model and
// 403 for one the caller's key may not use.
func (s *Server) resolve(w http.ResponseWriter, st *reqState, rec *Record, model string) (*gateway.Group, string, bool) {
	if st.who != nil && !st.who.AllowsModel(model) {
		s.fail(w, st, rec, &api.Error{Status: http.StatusForbidden, Type: api.TypePermission, Code: "model_not_allowed", Param: "model",
			Message: "This API key may not use the model " + strconv.Quote(model) + "."})
		return nil, "", false
	}
	group, rest, ok := s.gw.Load().Router.Resolve(model)
	if !ok {
		s.fail(w, st, rec, api.ModelNotFound(model))
		return nil, "", false
	}
	rec.Group = group.Name
	return group, rest, true
}

// fail answers with an error before anything was sent.
func (s *Server) fail(w http.ResponseWriter, st *reqState, rec *Record, e *api.Error) {
	rec.Status, rec.Error, rec.ErrorType, rec.ErrorCode = e.Status, e.Error(), e.Type, e.Code
	if e.Status >= 500 || e.Cause != nil {
		st.log.LogAttrs(context.Background(), slog.LevelWarn, "request failed", slog.Int("status", e.Status), slog.String("error", e.Error()))
	}
	if e.Status == provider.StatusClientClosed {
		return // nobody is listening
	}
	writeError(w, st.render, e)
}

// failAttempts answers for a request that no deployment could serve.
func (s *Server) failAttempts(w http.ResponseWriter, st *reqState, rec *Record, err error) {
	var f *gateway.Failure
	if errors.As(err, &f) {
		rec.Attempts, rec.Provider, rec.Upstream, rec.Trace = f.Attempts, f.Provider, f.Model, f.Trace
		w.Header().Set("X-Switchboard-Attempts", strconv.Itoa(f.Attempts))
	}
	s.fail(w, st, rec, api.As(err))
}

func setRouteHeaders(st *reqState, h http.Header, res *gateway.Result) {
	st.setHeader(h, "X-Switchboard-Provider", res.Deployment.ProviderName)
	st.setHeader(h, "X-Switchboard-Model", res.Model)
	st.setHeader(h, "X-Switchboard-Attempts", strconv.Itoa(res.Attempts))
	st.setHeader(h, "X-Switchboard-Cache", "bypass")
	// Upstream rate-limit headers pass on, unless the caller's own key
	// limits already set them: those are the limits the caller is under.
	for k, v := range res.Response.Header {
		if _, set := h[k]; !set && provider.IsRateLimitHeader(k) {
			h[k] = v
		}
	}
}

// setTiming writes server-timing (time inside Switchboard and upstream)
// and keeps Switchboard's own share as the record's overhead.
func setTiming(st *reqState, h http.Header, rec *Record, upstream time.Duration) {
	total := time.Since(st.start)
	gw := total - upstream
	if gw < 0 {
		gw = 0
	}
	rec.Overhead = gw
	b := make([]byte, 0, 48)
	b = append(b, "gateway;dur="...)
	b = strconv.AppendFloat(b, float64(gw.Microseconds())/1000, 'f', 3, 64)
	b = append(b, ", upstream;dur="...)
	b = strconv.AppendFloat(b, float64(upstream.Microseconds())/1000, 'f', 3, 64)
	st.setHeader(h, "Server-Timing", string(b))
}

// writeError writes e with render, the inbound format's error body.
func writeError(w http.ResponseWriter, render func(*api.Error) []byte, e *api.Error) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	if e.RetryAfter > 0 {
		secs := int(e.RetryAfter.Seconds() + 0.999)
		h.Set("Retry-After", strconv.Itoa(secs))
	}
	w.WriteHeader(e.Status)
	w.Write(render(e))
}

func asMaxBytes(err error, target **http.MaxBytesError) bool { return errors.As(err, target) }

// number reads a top-level JSON number, or nil.
func number(body []byte, field string) *float64 {
	v := gjson.GetBytes(body, field)
	if v.Type != gjson.Number {
		return nil
	}
	f := v.Float()
	return &f
}

// traceChunk keeps a stream's response id and finish reasons for its
// trace.
func traceChunk(rec *Record, chunk []byte) {
	if rec.ResponseID == "" {
		rec.ResponseID = gjson.GetBytes(chunk, "id").String()
	}
	for _, r := range gjson.GetBytes(chunk, "choices.#.finish_reason").Array() {
		if r.Type == gjson.String {
			rec.FinishReasons = append(rec.FinishReasons, r.String())
		}
	}
}

// clip copies at most log.payloads.max_bytes of b for the log.
func (s *Server) clip(b []byte) []byte {
	if n := s.cfg.Log.Payloads.MaxBytes; n > 0 && len(b) > n {
		return append(append(make([]byte, 0, n+16), b[:n]...), "…[truncated]"...)
	}
	return append([]byte(nil), b...)
}
