package telemetry

import (
	"context"
	"log/slog"
	"net/http"
	"strconv"
	"strings"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"

	"github.com/switchboard-gw/switchboard/internal/config"
	"github.com/switchboard-gw/switchboard/internal/gateway"
	"github.com/switchboard-gw/switchboard/internal/server"
)

// Tracer turns each finished request's record into OpenTelemetry spans —
// a server span for the request and a client span per upstream attempt,
// with the GenAI semantic-convention attributes — and exports them over
// OTLP/HTTP in batches. The spans are built after the answer was sent,
// from the times the record kept, so tracing adds nothing while a request
// is served; with tracing off there is no Tracer at all.
type Tracer struct {
	provider *sdktrace.TracerProvider
	tracer   trace.Tracer
	prop     propagation.TraceContext
	// unsampled: sample_rate is 0, so only requests whose client sent a
	// sampled traceparent are traced; the rest skip the SDK entirely.
	unsampled bool
}

// NewTracer builds the tracer the configuration asks for, or nil when
// neither tracing.endpoint nor OTEL_EXPORTER_OTLP_ENDPOINT is set.
func NewTracer(ctx context.Context, cfg config.Tracing, getenv func(string) string, log *slog.Logger) (*Tracer, error) {
	var opts []otlptracehttp.Option
	switch {
	case cfg.Endpoint != "":
		opts = append(opts, otlptracehttp.WithEndpointURL(strings.TrimSuffix(cfg.Endpoint, "/")+"/v1/traces"))
	case getenv("OTEL_EXPORTER_OTLP_ENDPOINT") == "" && getenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") == "":
		return nil, nil
	} // otherwise the exporter reads the OTEL_EXPORTER_OTLP_* variables
	if len(cfg.Headers) > 0 {
		opts = append(opts, otlptracehttp.WithHeaders(cfg.Headers))
	}
	// Export failures (a collector down, a refused token) are logged, not
	// fatal: traces are best effort, requests are not.
	otel.SetErrorHandler(otel.ErrorHandlerFunc(func(err error) {
		log.Warn("tracing: export failed", "error", err.Error())
	}))
	exp, err := otlptracehttp.New(ctx, opts...)
	if err != nil {
		return nil, err
	}
	rate := 1.0
	if cfg.SampleRate != nil {
		rate = *cfg.SampleRate
	}
	name := cfg.ServiceName
	if name == "" {
		name = "switchboard"
	}
	res := resource.NewSchemaless(attribute.String("service.name", name))
	tp := sdktrace.NewTracerProvider(
		sdktrace.WithBatcher(exp),
		sdktrace.WithResource(res),
		sdktrace.WithSampler(sdktrace.ParentBased(sdktrace.TraceIDRatioBased(rate))),
	)
	return &Tracer{provider: tp, tracer: tp.Tracer("github.com/switchboard-gw/switchboard"), unsampled: rate <= 0}, nil
}

// sampledParent reports a W3C traceparent ("00-<trace id>-<span id>-<flags>")
// whose sampled flag is set.
func sampledParent(tp string) bool {
	if len(tp) < 55 || tp[2] != '-' || tp[35] != '-' || tp[52] != '-' {
		return false
	}
	flags, err := strconv.ParseUint(tp[53:55], 16, 8)
	return err == nil && flags&1 == 1
}

// Shutdown exports what is buffered and stops.
func (t *Tracer) Shutdown(ctx context.Context) error { return t.provider.Shutdown(ctx) }

// operations maps endpoints to gen_ai.operation.name.
var operations = map[string]string{"chat": "chat", "messages": "chat", "responses": "chat", "embeddings": "embeddings", "count_tokens": "count_tokens"}

// providerNames maps provider types to gen_ai.provider.name values.
var providerNames = map[string]string{"anthropic": "anthropic", "azure": "azure.ai.openai", "bedrock": "aws.bedrock", "gemini": "gcp.gemini",
	"vertex": "gcp.vertex_ai", "cohere": "cohere", "mistral": "mistral_ai", "groq": "groq", "deepseek": "deepseek", "perplexity": "perplexity", "xai": "x_ai"}

func providerName(typ string) string {
	if n, ok := providerNames[typ]; ok {
		return n
	}
	if typ == "" {
		return ""
	}
	return "openai" // OpenAI-compatible types speak OpenAI's API
}

// Export records one request's spans. The client's traceparent, if any,
// is the parent: its trace id is kept and its sampling decision followed.
func (t *Tracer) Export(rec *server.Record) {
	if t.unsampled && !sampledParent(rec.TraceParent) {
		return // what the parent-based sampler would decide, without building a span
	}
	op := operations[rec.Endpoint]
	if op == "" {
		op = rec.Endpoint
	}
	ctx := context.Background()
	if rec.TraceParent != "" {
		h := http.Header{}
		h.Set("Traceparent", rec.TraceParent)
		if rec.TraceState != "" {
			h.Set("Tracestate", rec.TraceState)
		}
		ctx = t.prop.Extract(ctx, propagation.HeaderCarrier(h))
	}
	end := rec.Start.Add(rec.Latency)
	ctx, span := t.tracer.Start(ctx, op+" "+rec.Model, trace.WithSpanKind(trace.SpanKindServer), trace.WithTimestamp(rec.Start))
	if !span.IsRecording() {
		return
	}
	attrs := make([]attribute.KeyValue, 0, 32)
	attrs = append(attrs,
		attribute.String("gen_ai.operation.name", op),
		attribute.String("gen_ai.request.model", rec.Model),
		attribute.String("switchboard.request_id", rec.RequestID),
		attribute.Int("http.response.status_code", rec.Status),
		attribute.Int("switchboard.attempts", rec.Attempts),
		attribute.Bool("gen_ai.request.stream", rec.Stream),
	)
	if rec.Group != "" {
		attrs = append(attrs, attribute.String("switchboard.model_group", rec.Group))
	}
	if rec.KeyID != "" {
		attrs = append(attrs, attribute.String("switchboard.key_id", rec.KeyID))
	}
	if rec.TeamID != "" {
		attrs = append(attrs, attribute.String("switchboard.team_id", rec.TeamID))
	}
	if rec.MaxTokens > 0 {
		attrs = append(attrs, attribute.Int64("gen_ai.request.max_tokens", rec.MaxTokens))
	}
	if rec.Temperature != nil {
		attrs = append(attrs, attribute.Float64("gen_ai.request.temperature", *rec.Temperature))
	}
	if rec.TopP != nil {
		attrs = append(attrs, attribute.Float64("gen_ai.request.top_p", *rec.TopP))
	}
	if rec.Upstream != "" {
		attrs = append(attrs, attribute.String("gen_ai.response.model", rec.Upstream))
	}
	if rec.ResponseID != "" {
		attrs = append(attrs, attribute.String("gen_ai.response.id", rec.ResponseID))
	}
	if len(rec.FinishReasons) > 0 {
		attrs = append(attrs, attribute.StringSlice("gen_ai.response.finish_reasons", rec.FinishReasons))
	}
	if rec.Status == http.StatusOK || rec.Usage.Input+rec.Usage.Output > 0 {
		attrs = append(attrs, attribute.Int64("gen_ai.usage.input_tokens", rec.Usage.Input), attribute.Int64("gen_ai.usage.output_tokens", rec.Usage.Output))
	}
	if rec.Unpriced {
		attrs = append(attrs, attribute.Bool("switchboard.unpriced", true))
	} else if rec.CostUSD > 0 {
		attrs = append(attrs, attribute.Float64("switchboard.cost_usd", rec.CostUSD))
	}
	if rec.Cache != "" {
		attrs = append(attrs, attribute.String("switchboard.cache", rec.Cache))
	}
	if rec.Stream && rec.TTFT > 0 {
		attrs = append(attrs, attribute.Float64("switchboard.time_to_first_token_seconds", rec.TTFT.Seconds()))
	}
	if last := lastAttempt(rec.Trace); last != nil && last.Deployment != nil {
		attrs = append(attrs, attribute.String("gen_ai.provider.name", providerName(last.Deployment.ProviderType)), attribute.String("switchboard.provider", last.Provider))
		if last.Deployment.Host != "" {
			attrs = append(attrs, attribute.String("server.address", last.Deployment.Host))
		}
	}
	if rec.Status >= 400 {
		kind := rec.ErrorType
		if kind == "" {
			kind = strconv.Itoa(rec.Status)
		}
		attrs = append(attrs, attribute.String("error.type", kind))
		span.SetStatus(codes.Error, rec.Error)
	}
	span.SetAttributes(attrs...)
	for i := range rec.Trace {
		t.attempt(ctx, op, &rec.Trace[i])
	}
	span.End(trace.WithTimestamp(end))
}

// attempt records one upstream call as a client span.
func (t *Tracer) attempt(ctx context.Context, op string, a *gateway.Attempt) {
	if a.Deployment == nil { // skipped: no call was made
		return
	}
	_, span := t.tracer.Start(ctx, op+" "+a.Model, trace.WithSpanKind(trace.SpanKindClient), trace.WithTimestamp(a.Start))
	attrs := []attribute.KeyValue{
		attribute.String("gen_ai.operation.name", op),
		attribute.String("gen_ai.provider.name", providerName(a.Deployment.ProviderType)),
		attribute.String("gen_ai.request.model", a.Model),
		attribute.String("switchboard.provider", a.Provider),
		attribute.String("switchboard.model_group", a.Group),
		attribute.String("switchboard.outcome", a.Outcome),
	}
	if a.Deployment.Host != "" {
		attrs = append(attrs, attribute.String("server.address", a.Deployment.Host))
	}
	if a.Status != 0 {
		attrs = append(attrs, attribute.Int("http.response.status_code", a.Status))
	}
	if a.Outcome != "ok" {
		kind := a.Class
		if kind == "" {
			kind = a.Outcome
		}
		attrs = append(attrs, attribute.String("error.type", kind))
		span.SetStatus(codes.Error, a.Error)
	}
	span.SetAttributes(attrs...)
	span.End(trace.WithTimestamp(a.Start.Add(a.Latency)))
}

func lastAttempt(steps []gateway.Attempt) *gateway.Attempt {
	for i := len(steps) - 1; i >= 0; i-- {
		if steps[i].Deployment != nil {
			return &steps[i]
		}
	}
	return nil
}
