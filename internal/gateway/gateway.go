// Package gateway runs a request through its model group and fallbacks:
// it picks deployments by strategy, skips open circuits, retries what can
// succeed on retry (with backoff, Retry-After and a retry budget), falls
// back to other groups, and keeps a trace of every attempt.
package gateway

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"strings"
	"time"

	"github.com/switchboard-gw/switchboard/internal/api"
	"github.com/switchboard-gw/switchboard/internal/api/openai"
	"github.com/switchboard-gw/switchboard/internal/provider"
	"github.com/switchboard-gw/switchboard/internal/route"
)

// Gateway executes requests against routed deployments.
type Gateway struct {
	Router *Router
	// Budget caps retries across all requests; nil allows every retry.
	Budget *route.RetryBudget
	// sleep waits, or returns false if ctx ends first; tests replace it.
	sleep func(ctx context.Context, d time.Duration) bool
}

// Request is one call through the gateway.
type Request struct {
	Group *Group
	Rest  string // pattern remainder for the first group
	// Body is the internal (OpenAI-format) body; Chat or Embed fields.
	Body  []byte
	Chat  *openai.ChatFields
	Embed *openai.EmbedFields
	// Pass, if set, is the client's own-format body for providers that
	// speak it.
	Pass *provider.PassRequest
	// Fallbacks overrides the group's fallbacks for this request (from
	// x-switchboard-fallbacks); NoFallbacks turns them off.
	Fallbacks   []string
	NoFallbacks bool
	// PromptTokens counts the prompt when a context window is configured;
	// nil means unknown.
	PromptTokens func() int64
}

// Attempt is one upstream call (or a deployment skipped), for the request
// log and traces.
type Attempt struct {
	Group    string
	Provider string
	Model    string
	Outcome  string // ok, error, circuit-open, budget-exhausted
	Status   int
	Class    string // error class: rate_limit, server, timeout, connection, client, context_window, content_policy
	Latency  time.Duration
	Error    string
	// Start is when the call began; Deployment the one called (nil when
	// none was).
	Start      time.Time
	Deployment *Deployment
}

// Result is a successful attempt.
type Result struct {
	Response   *provider.Response
	Deployment *Deployment
	Group      *Group
	Model      string // the upstream model that answered
	Attempts   int    // upstream calls made
	Trace      []Attempt
	// Upstream is the time spent waiting on the provider: the whole call
	// for JSON responses, time to the first chunk for streams.
	Upstream time.Duration
	// First is a stream's first chunk, read before answering so a stream
	// that fails at once can still be retried elsewhere.
	First []byte
}

// Failure is the last error of a request that nothing could serve.
type Failure struct {
	Err      *api.Error
	Attempts int
	Provider string
	Model    string
	Trace    []Attempt
}

func (f *Failure) Error() string { return f.Err.Error() }
func (f *Failure) Unwrap() error { return f.Err }

type callFunc func(ctx context.Context, d *Deployment, model string) (*provider.Response, error)

// Chat runs a chat completion. ctx carries the overall deadline; the
// caller closes Result.Response.Stream.
func (g *Gateway) Chat(ctx context.Context, log *slog.Logger, req *Request) (*Result, error) {
	return g.run(ctx, log, req, func(ctx context.Context, d *Deployment, model string) (*provider.Response, error) {
		if p := req.Pass; p != nil {
			if pt, ok := d.Provider.(provider.Passthrough); ok && pt.Speaks(p.Format) {
				pr := *p
				pr.Model = model
				resp, err := pt.Pass(ctx, &pr)
				if resp != nil {
					resp.Raw = true
				}
				return resp, err
			}
			if len(p.Untranslated) > 0 {
				if !req.Group.DropParams {
					name := p.Untranslated[0]
					return nil, api.BadRequest(name, "unsupported_parameter",
						"Unsupported parameter: '%s' is only understood by the %s API itself, and this model is served by %s. Remove it, or set drop_params: true on the model.", name, provider.FormatName(p.Format), d.ProviderName)
				}
				for _, name := range p.Untranslated {
					log.LogAttrs(ctx, slog.LevelInfo, "dropped unsupported parameter", slog.String("param", name), slog.String("provider", d.ProviderName))
				}
			}
		}
		cr := &provider.ChatRequest{Body: req.Body, Fields: req.Chat, Model: model, DropParams: req.Group.DropParams}
		if req.Group.DropParams {
			cr.OnDrop = func(p string) {
				log.LogAttrs(ctx, slog.LevelInfo, "dropped unsupported parameter", slog.String("param", p),
					slog.String("provider", d.ProviderName), slog.String("model", model))
			}
		}
		return d.Provider.Chat(ctx, cr)
	})
}

// Embed runs an embeddings request.
func (g *Gateway) Embed(ctx context.Context, log *slog.Logger, req *Request) (*Result, error) {
	return g.run(ctx, log, req, func(ctx context.Context, d *Deployment, model string) (*provider.Response, error) {
		return d.Provider.Embed(ctx, &provider.EmbedRequest{Body: req.Body, Fields: req.Embed, Model: model})
	})
}

// maxCircuitWaits bounds how often a request waits for an open circuit.
const maxCircuitWaits = 3

func (g *Gateway) run(ctx context.Context, log *slog.Logger, req *Request, call callFunc) (*Result, error) {
	if g.Budget != nil {
		g.Budget.Request()
	}
	chain := g.chain(req)
	st := &runState{log: log, req: req, call: call}
	st.trace = st.traceBuf[:0]
	for wait := 0; ; wait++ {
		for gi := 0; gi < len(chain); gi++ {
			grp := chain[gi]
			rest := ""
			if gi == 0 {
				rest = req.Rest
			}
			if next := g.tooLong(grp, req); next != nil {
				chain = insertAfter(chain, gi, next)
				st.trace = append(st.trace, Attempt{Group: grp.Name, Outcome: "skipped", Class: "context_window"})
				continue
			}
			res, jump, stop := g.tryGroup(ctx, st, grp, rest)
			if res != nil {
				return res, nil
			}
			if stop {
				return nil, st.failure()
			}
			if jump != nil {
				chain = insertAfter(chain, gi, jump)
			}
		}
		// Nothing answered. If circuits were all that stood in the way,
		// wait for the soonest to let a probe through, within the deadline.
		if st.attempts > 0 || st.soonest.IsZero() || wait >= maxCircuitWaits {
			break
		}
		d := time.Until(st.soonest)
		if dl, ok := ctx.Deadline(); ok && time.Now().Add(d).After(dl) {
			break
		}
		if !g.wait(ctx, d) {
			break
		}
		st.soonest = time.Time{}
	}
	if st.attempts == 0 && !st.soonest.IsZero() && st.last == nil {
		st.last = &api.Error{Status: http.StatusServiceUnavailable, Type: api.TypeOverloaded, Code: "circuit_open",
			Message: "Every deployment of this model and its fallbacks is failing; try again shortly.", RetryAfter: time.Until(st.soonest)}
	}
	return nil, st.failure()
}

// runState is what the attempt loop carries across groups.
type runState struct {
	log      *slog.Logger
	req      *Request
	call     callFunc
	trace    []Attempt
	attempts int
	last     *api.Error
	lastDep  *Deployment
	lastRest string
	soonest  time.Time // earliest moment an open circuit lets a probe in
	// result and traceBuf hold the answer and the first attempts, made
	// with the state rather than each on its own.
	result   Result
	traceBuf [2]Attempt
}

func (st *runState) failure() *Failure {
	f := &Failure{Err: st.last, Attempts: st.attempts, Trace: st.trace}
	if f.Err == nil {
		f.Err = &api.Error{Status: http.StatusServiceUnavailable, Type: api.TypeOverloaded, Code: "no_deployment",
			Message: "No deployment could take this request."}
	}
	if st.lastDep != nil {
		f.Provider, f.Model = st.lastDep.ProviderName, st.lastDep.UpstreamModel(st.lastRest)
	}
	return f
}

// chain is the request's group followed by its fallbacks (or the
// per-request override).
func (g *Gateway) chain(req *Request) []*Group {
	chain := []*Group{req.Group}
	if req.NoFallbacks {
		return chain
	}
	names := req.Group.Fallbacks
	if req.Fallbacks != nil {
		names = req.Fallbacks
	}
	for _, n := range names {
		if fg := g.Router.Group(n); fg != nil && fg != req.Group {
			chain = append(chain, fg)
		}
	}
	return chain
}

// tooLong reports the context-window fallbacks to use when a group's
// configured window cannot hold the prompt and the requested output.
func (g *Gateway) tooLong(grp *Group, req *Request) []*Group {
	if grp.ContextWindow <= 0 || req.PromptTokens == nil || len(grp.ContextWindowFallbacks) == 0 {
		return nil
	}
	need := req.PromptTokens()
	if req.Chat != nil {
		need += req.Chat.MaxTokens
	}
	if need <= grp.ContextWindow {
		return nil
	}
	return g.groups(grp.ContextWindowFallbacks)
}

func (g *Gateway) groups(names []string) []*Group {
	var out []*Group
	for _, n := range names {
		if fg := g.Router.Group(n); fg != nil {
			out = append(out, fg)
		}
	}
	return out
}

func insertAfter(chain []*Group, i int, add []*Group) []*Group {
	out := make([]*Group, 0, len(chain)+len(add))
	out = append(out, chain[:i+1]...)
	out = append(out, add...)
	return append(out, chain[i+1:]...)
}

// tryGroup tries a group's deployments: each healthy one once by strategy,
// then up to Retry.Attempts retries with backoff. It returns a result, or
// groups to jump to (context-window or content-policy fallbacks), or stop
// when the error is final.
func (g *Gateway) tryGroup(ctx context.Context, st *runState, grp *Group, rest string) (res *Result, jump []*Group, stop bool) {
	var skip, open, tried uint64
	maxTries := len(grp.Deployments) + max(grp.Retry.Attempts, 0)
	tries, retries := 0, 0
	for tries < maxTries {
		i := grp.balancer.Pick(skip)
		if i < 0 {
			// Every deployment was tried once: retries go round again,
			// leaving out open circuits, after a backoff.
			if st.last == nil || !Retryable(st.last) || retries >= grp.Retry.Attempts || skip == open {
				return nil, nil, false
			}
			skip = open
			continue
		}
		d := &grp.Deployments[i]
		model := d.UpstreamModel(rest)
		if ok, at := d.Target.Breaker.Allow(); !ok {
			skip |= 1 << i
			open |= 1 << i
			if st.soonest.IsZero() || at.Before(st.soonest) {
				st.soonest = at
			}
			st.trace = append(st.trace, Attempt{Group: grp.Name, Provider: d.ProviderName, Model: model, Outcome: "circuit-open"})
			continue
		}
		if tried&(1<<i) != 0 {
			// A real retry of a deployment already tried: it must fit the
			// retry budget (failing over to another deployment or group
			// adds no load to the failing one, so it needs none), and it
			// backs off first, at least as long as Retry-After asked.
			if g.Budget != nil && !g.Budget.TryRetry() {
				st.trace = append(st.trace, Attempt{Group: grp.Name, Provider: d.ProviderName, Model: model, Outcome: "budget-exhausted"})
				return nil, nil, true
			}
			retries++
			if !g.backoff(ctx, grp, retries, st.last.RetryAfter) {
				return nil, nil, true
			}
		}
		tries++
		tried |= 1 << i
		st.attempts++
		r, err := g.attempt(ctx, st, grp, d, model)
		if err == nil {
			r.Attempts, r.Trace, r.Group = st.attempts, st.trace, grp
			return r, nil, false
		}
		st.last, st.lastDep, st.lastRest = err, d, rest
		skip |= 1 << i
		switch {
		case isContextWindow(err) && len(grp.ContextWindowFallbacks) > 0:
			return nil, g.groups(grp.ContextWindowFallbacks), false
		case isContentPolicy(err) && len(grp.ContentPolicyFallbacks) > 0:
			return nil, g.groups(grp.ContentPolicyFallbacks), false
		case !Retryable(err) || ctx.Err() != nil:
			return nil, nil, true
		}
	}
	return nil, nil, false
}

// attempt makes one upstream call. For streams it reads the first chunk
// (within the first-token timeout) before declaring success.
func (g *Gateway) attempt(ctx context.Context, st *runState, grp *Group, d *Deployment, model string) (*Result, *api.Error) {
	t := d.Target
	// A context of its own only when something may cancel this attempt
	// alone: the first-token timeout, or a stream's idle timeout and end.
	// A plain answer is read whole within the request's context.
	actx, cancel := ctx, context.CancelFunc(noop)
	if grp.FirstTokenTimeout > 0 || st.req.streams() {
		actx, cancel = context.WithCancel(ctx)
	}
	t.Start()
	start := time.Now()
	var ttft *time.Timer
	if grp.FirstTokenTimeout > 0 {
		ttft = time.AfterFunc(grp.FirstTokenTimeout, cancel)
	}
	resp, err := st.call(actx, d, model)
	var first []byte
	if err == nil && resp.Stream != nil {
		first, err = resp.Stream.Next()
		if err != nil {
			resp.Stream.Close()
			if err == io.EOF {
				err = &api.Error{Status: http.StatusBadGateway, Type: api.TypeUpstream, Code: "upstream_empty_stream",
					Message: "The upstream provider " + d.ProviderName + " sent an empty stream."}
			}
		}
	}
	timedOut := ttft != nil && !ttft.Stop()
	latency := time.Since(start)
	if err != nil {
		cancel()
		t.Done()
		e := classify(ctx, d, err)
		if timedOut && ctx.Err() == nil {
			e = &api.Error{Status: http.StatusGatewayTimeout, Type: api.TypeTimeout, Code: "first_token_timeout",
				Message: "The upstream provider " + d.ProviderName + " sent nothing within " + grp.FirstTokenTimeout.String() + ".", Cause: err}
		}
		if countsAgainst(e) {
			t.Breaker.Failure()
		}
		st.trace = append(st.trace, Attempt{Group: grp.Name, Provider: d.ProviderName, Model: model, Outcome: "error",
			Status: e.Status, Class: errorClass(e), Latency: latency, Error: e.Message, Start: start, Deployment: d})
		st.log.LogAttrs(ctx, slog.LevelWarn, "upstream attempt failed",
			slog.String("provider", d.ProviderName), slog.String("model", model),
			slog.Int("status", e.Status), slog.String("class", errorClass(e)), slog.String("error", e.Error()))
		return nil, e
	}
	t.Breaker.Success()
	t.Observe(latency)
	t.ObserveHeaders(resp.Header)
	st.trace = append(st.trace, Attempt{Group: grp.Name, Provider: d.ProviderName, Model: model, Outcome: "ok", Status: http.StatusOK, Latency: latency,
		Start: start, Deployment: d})
	r := &st.result
	*r = Result{Response: resp, Deployment: d, Model: model, Upstream: latency, First: first}
	if resp.Stream != nil {
		release := func() { cancel(); t.Done() }
		resp.Stream = &trackedStream{Stream: resp.Stream, release: release, idle: grp.IdleTimeout, cancel: cancel, name: d.ProviderName}
	} else {
		cancel()
		t.Done()
	}
	return r, nil
}

func noop() {}

// streams reports whether the request asks for a stream.
func (r *Request) streams() bool {
	return (r.Chat != nil && r.Chat.Stream) || (r.Pass != nil && r.Pass.Stream)
}

// backoff waits before retry n: exponential with full jitter, or the
// upstream's Retry-After when longer; false if the deadline would pass.
func (g *Gateway) backoff(ctx context.Context, grp *Group, n int, retryAfter time.Duration) bool {
	base, ceiling := grp.Retry.Backoff.D(), grp.Retry.MaxBackoff.D()
	if base <= 0 {
		base = 200 * time.Millisecond
	}
	if ceiling <= 0 {
		ceiling = 10 * time.Second
	}
	exp := base << min(n-1, 16)
	if exp > ceiling || exp <= 0 {
		exp = ceiling
	}
	d := time.Duration(rand.Int64N(int64(exp) + 1))
	if retryAfter > d {
		d = retryAfter
	}
	if dl, ok := ctx.Deadline(); ok && time.Now().Add(d).After(dl) {
		return false
	}
	return g.wait(ctx, d)
}

func (g *Gateway) wait(ctx context.Context, d time.Duration) bool {
	if g.sleep != nil {
		return g.sleep(ctx, d)
	}
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

// trackedStream ends the attempt when the stream is closed and enforces
// the idle timeout between chunks.
type trackedStream struct {
	provider.Stream
	release func()
	cancel  context.CancelFunc
	idle    time.Duration
	timer   *time.Timer
	name    string
	closed  bool
}

func (s *trackedStream) Next() ([]byte, error) {
	if s.idle <= 0 {
		return s.Stream.Next()
	}
	if s.timer == nil {
		s.timer = time.AfterFunc(s.idle, s.cancel)
	} else {
		s.timer.Reset(s.idle)
	}
	chunk, err := s.Stream.Next()
	if !s.timer.Stop() && err != nil {
		return nil, &api.Error{Status: http.StatusGatewayTimeout, Type: api.TypeTimeout, Code: "idle_timeout",
			Message: "The upstream provider " + s.name + " stalled for more than " + s.idle.String() + " between chunks.", Cause: err}
	}
	return chunk, err
}

func (s *trackedStream) Close() error {
	if s.closed {
		return nil
	}
	s.closed = true
	if s.timer != nil {
		s.timer.Stop()
	}
	err := s.Stream.Close()
	s.release()
	return err
}

func classify(ctx context.Context, d *Deployment, err error) *api.Error {
	var ae *api.Error
	if errors.As(err, &ae) {
		return ae
	}
	if ctx.Err() != nil {
		return provider.TransportError(ctx, d.ProviderName, err)
	}
	return &api.Error{Status: http.StatusBadGateway, Type: api.TypeUpstream, Message: "The upstream provider " + d.ProviderName + " failed.", Cause: err}
}

// Retryable reports whether another attempt could succeed where this one
// failed: rate limits, server errors, timeouts and unreachable upstreams.
// A 4xx about the request itself never is.
func Retryable(e *api.Error) bool {
	switch e.Status {
	case http.StatusRequestTimeout, http.StatusTooManyRequests,
		http.StatusInternalServerError, http.StatusBadGateway, http.StatusServiceUnavailable,
		http.StatusGatewayTimeout, 529:
		return true
	}
	return false
}

// countsAgainst reports failures that say the deployment is unhealthy (as
// opposed to the request being wrong, or the client leaving).
func countsAgainst(e *api.Error) bool { return Retryable(e) }

func errorClass(e *api.Error) string {
	switch {
	case isContextWindow(e):
		return "context_window"
	case isContentPolicy(e):
		return "content_policy"
	case e.Status == http.StatusTooManyRequests:
		return "rate_limit"
	case e.Status == http.StatusGatewayTimeout || e.Status == http.StatusRequestTimeout:
		return "timeout"
	case e.Code == "upstream_unreachable":
		return "connection"
	case e.Status == provider.StatusClientClosed:
		return "client_closed"
	case e.Status >= 500:
		return "server"
	}
	return "client"
}

var contextWindowHints = []string{"context_length_exceeded", "maximum context length", "context window", "prompt is too long",
	"too many tokens", "input is too long", "exceeds the maximum number of tokens", "reduce the length", "too many input tokens"}

var contentPolicyHints = []string{"content_policy_violation", "content_filter", "content management policy", "responsibleaipolicyviolation",
	"safety system", "blocked by our safety", "violat"}

func isContextWindow(e *api.Error) bool {
	if e.Status != http.StatusBadRequest && e.Status != http.StatusRequestEntityTooLarge {
		return false
	}
	return containsAny(strings.ToLower(e.Code+" "+e.Message), contextWindowHints)
}

func isContentPolicy(e *api.Error) bool {
	if e.Status != http.StatusBadRequest && e.Status != http.StatusForbidden {
		return false
	}
	return containsAny(strings.ToLower(e.Code+" "+e.Message), contentPolicyHints)
}

func containsAny(s string, list []string) bool {
	for _, h := range list {
		if strings.Contains(s, h) {
			return true
		}
	}
	return false
}
