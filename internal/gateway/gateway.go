// Package gateway runs a request through its group's deployments: it picks
// the order, calls each provider, classifies failures and moves on to the
// next deployment when another attempt can succeed.
package gateway

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"time"

	"github.com/switchboard-gw/switchboard/internal/api"
	"github.com/switchboard-gw/switchboard/internal/api/openai"
	"github.com/switchboard-gw/switchboard/internal/provider"
)

// Gateway executes requests against routed deployments.
type Gateway struct {
	Router *Router
}

// Result is a successful attempt.
type Result struct {
	Response   *provider.Response
	Deployment *Deployment
	Model      string // the upstream model that answered
	Attempts   int
	// Upstream is the time spent waiting on the provider: the whole call
	// for JSON responses, time to the first chunk for streams.
	Upstream time.Duration
	// First is a stream's first chunk, read before answering so a stream
	// that fails at once can still be retried elsewhere.
	First []byte
}

// Failure is the last error of a request that no deployment could serve.
type Failure struct {
	Err      *api.Error
	Attempts int
	Provider string
	Model    string
}

func (f *Failure) Error() string { return f.Err.Error() }
func (f *Failure) Unwrap() error { return f.Err }

// Chat runs a chat completion. ctx should carry the group's deadline (see
// Group.Timeout); the caller closes Result.Response.Stream.
//
// pass, if set, is the client's body in its own format: deployments whose
// provider speaks that format get it as is (the answer comes back Raw);
// the others get the translated chat body.
func (g *Gateway) Chat(ctx context.Context, log *slog.Logger, group *Group, rest string, body []byte, f *openai.ChatFields, pass *provider.PassRequest) (*Result, error) {
	return g.run(ctx, log, group, rest, func(ctx context.Context, d *Deployment, model string) (*provider.Response, error) {
		if pass != nil {
			if pt, ok := d.Provider.(provider.Passthrough); ok && pt.Speaks(pass.Format) {
				p := *pass
				p.Model = model
				resp, err := pt.Pass(ctx, &p)
				if resp != nil {
					resp.Raw = true
				}
				return resp, err
			}
		}
		if pass != nil && len(pass.Untranslated) > 0 {
			if !group.DropParams {
				p := pass.Untranslated[0]
				return nil, api.BadRequest(p, "unsupported_parameter",
					"Unsupported parameter: '%s' is only understood by the %s API itself, and this model is served by %s. Remove it, or set drop_params: true on the model.", p, provider.FormatName(pass.Format), d.ProviderName)
			}
			for _, p := range pass.Untranslated {
				log.LogAttrs(ctx, slog.LevelInfo, "dropped unsupported parameter", slog.String("param", p), slog.String("provider", d.ProviderName))
			}
		}
		req := &provider.ChatRequest{Body: body, Fields: f, Model: model, DropParams: group.DropParams}
		if group.DropParams {
			req.OnDrop = func(p string) {
				log.LogAttrs(ctx, slog.LevelInfo, "dropped unsupported parameter", slog.String("param", p),
					slog.String("provider", d.ProviderName), slog.String("model", model))
			}
		}
		return d.Provider.Chat(ctx, req)
	})
}

// Embed runs an embeddings request.
func (g *Gateway) Embed(ctx context.Context, log *slog.Logger, group *Group, rest string, body []byte, f *openai.EmbedFields) (*Result, error) {
	return g.run(ctx, log, group, rest, func(ctx context.Context, d *Deployment, model string) (*provider.Response, error) {
		return d.Provider.Embed(ctx, &provider.EmbedRequest{Body: body, Fields: f, Model: model})
	})
}

type callFunc func(ctx context.Context, d *Deployment, model string) (*provider.Response, error)

// run tries the group's deployments; log is the request's logger (it
// carries the request id).
func (g *Gateway) run(ctx context.Context, log *slog.Logger, group *Group, rest string, call callFunc) (*Result, error) {
	var orderBuf [8]int
	order := group.order(orderBuf[:0])
	var last *api.Error
	var lastDep *Deployment
	attempts := 0
	for _, i := range order {
		d := &group.Deployments[i]
		model := d.upstreamModel(rest)
		attempts++
		start := time.Now()
		resp, err := call(ctx, d, model)
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
		if err == nil {
			return &Result{Response: resp, Deployment: d, Model: model, Attempts: attempts, Upstream: time.Since(start), First: first}, nil
		}
		last = classify(ctx, d, err)
		lastDep = d
		log.LogAttrs(ctx, slog.LevelWarn, "upstream attempt failed",
			slog.String("provider", d.ProviderName), slog.String("model", model),
			slog.Int("status", last.Status), slog.String("error", last.Error()))
		if !Retryable(last) || ctx.Err() != nil {
			break
		}
	}
	return nil, &Failure{Err: last, Attempts: attempts, Provider: lastDep.ProviderName, Model: lastDep.upstreamModel(rest)}
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

// Retryable reports whether another deployment could succeed where this
// attempt failed: rate limits, server errors, timeouts and unreachable
// upstreams. A 4xx about the request itself never is.
func Retryable(e *api.Error) bool {
	switch e.Status {
	case http.StatusRequestTimeout, http.StatusTooManyRequests,
		http.StatusInternalServerError, http.StatusBadGateway, http.StatusServiceUnavailable,
		http.StatusGatewayTimeout, 529:
		return true
	}
	return false
}
