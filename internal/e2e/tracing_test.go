package e2e

import (
	"context"
	"encoding/hex"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"

	collector "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	common "go.opentelemetry.io/proto/otlp/common/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/proto"

	"github.com/switchboard-gw/switchboard/internal/mock"
)

// otlpReceiver is an OTLP/HTTP trace endpoint that keeps what it gets.
type otlpReceiver struct {
	mu    sync.Mutex
	spans []*tracepb.Span
	auth  []string
}

func startReceiver(t *testing.T) (*otlpReceiver, string) {
	rc := &otlpReceiver{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/v1/traces" || r.Header.Get("Content-Type") != "application/x-protobuf" {
			http.Error(w, "unexpected "+r.URL.Path, http.StatusNotFound)
			return
		}
		body, _ := io.ReadAll(r.Body)
		var req collector.ExportTraceServiceRequest
		if err := proto.Unmarshal(body, &req); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		rc.mu.Lock()
		rc.auth = append(rc.auth, r.Header.Get("Authorization"))
		for _, rs := range req.ResourceSpans {
			for _, ss := range rs.ScopeSpans {
				rc.spans = append(rc.spans, ss.Spans...)
			}
		}
		rc.mu.Unlock()
		w.Header().Set("Content-Type", "application/x-protobuf")
		b, _ := proto.Marshal(&collector.ExportTraceServiceResponse{})
		w.Write(b)
	}))
	t.Cleanup(srv.Close)
	return rc, srv.URL
}

func (rc *otlpReceiver) all() []*tracepb.Span {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]*tracepb.Span(nil), rc.spans...)
}

func attrs(s *tracepb.Span) map[string]*common.AnyValue {
	out := map[string]*common.AnyValue{}
	for _, kv := range s.Attributes {
		out[kv.Key] = kv.Value
	}
	return out
}

// Requests — answered, streamed, failed over, refused — become a server
// span each, with a client span per upstream attempt, carrying the GenAI
// semantic-convention attributes and the cost; the client's traceparent
// is the parent; sampling at 0 drops new traces but follows a sampled
// parent; export headers reach the collector.
func TestTracing(t *testing.T) {
	_, up := startMock(t, mock.Options{})
	_, down := startMock(t, mock.Options{FailRate: 1})
	rc, endpoint := startReceiver(t)
	cfg := metricsConfig + "tracing: {endpoint: \"" + endpoint + "\", headers: {Authorization: \"Bearer otlp-token\"}, service_name: sb-test}\n"
	gw := gatewayOver(t, cfg, map[string]string{"UP": up, "DOWN": down})

	const parentTrace, parentSpan = "0af7651916cd43dd8448eb211c80319c", "b7ad6b7169203331"
	post(t, gw.URL, "/v1/chat/completions", `{"model":"gpt","temperature":0.2,"top_p":0.9,"max_tokens":50,"messages":[{"role":"user","content":"hi"}]}`,
		"x-request-id", "req-trace-json", "traceparent", "00-"+parentTrace+"-"+parentSpan+"-01")
	post(t, gw.URL, "/v1/chat/completions", `{"model":"gpt","stream":true,"messages":[{"role":"user","content":"hi"}]}`, "x-request-id", "req-trace-stream")
	post(t, gw.URL, "/v1/chat/completions", `{"model":"flaky","messages":[{"role":"user","content":"hi"}]}`, "x-request-id", "req-trace-flaky")
	post(t, gw.URL, "/v1/chat/completions", `{"model":"nope","messages":[{"role":"user","content":"hi"}]}`, "x-request-id", "req-trace-404")
	if err := gw.tracer.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	spans := rc.all()
	byRequest := map[string]*tracepb.Span{}
	children := map[string][]*tracepb.Span{}
	for _, s := range spans {
		a := attrs(s)
		if s.Kind == tracepb.Span_SPAN_KIND_SERVER {
			byRequest[a["switchboard.request_id"].GetStringValue()] = s
		} else {
			children[hex.EncodeToString(s.ParentSpanId)] = append(children[hex.EncodeToString(s.ParentSpanId)], s)
		}
	}
	if len(byRequest) != 4 {
		t.Fatalf("%d server spans for 4 requests (%d spans in all)", len(byRequest), len(spans))
	}
	check := func(s *tracepb.Span, want map[string]string) {
		t.Helper()
		a := attrs(s)
		for k, v := range want {
			got := ""
			if val := a[k]; val != nil {
				switch x := val.Value.(type) {
				case *common.AnyValue_StringValue:
					got = x.StringValue
				case *common.AnyValue_IntValue:
					got = strconv.FormatInt(x.IntValue, 10)
				case *common.AnyValue_DoubleValue:
					got = strconv.FormatFloat(x.DoubleValue, 'f', -1, 64)
				case *common.AnyValue_BoolValue:
					got = map[bool]string{true: "true", false: "false"}[x.BoolValue]
				case *common.AnyValue_ArrayValue:
					var parts []string
					for _, e := range x.ArrayValue.Values {
						parts = append(parts, e.GetStringValue())
					}
					got = strings.Join(parts, ",")
				}
			}
			if got != v {
				t.Errorf("%s: %s = %q, want %q", s.Name, k, got, v)
			}
		}
	}
	host := strings.TrimPrefix(up, "http://")
	js := byRequest["req-trace-json"]
	if hex.EncodeToString(js.TraceId) != parentTrace || hex.EncodeToString(js.ParentSpanId) != parentSpan {
		t.Errorf("traceparent not honoured: trace %x parent %x", js.TraceId, js.ParentSpanId)
	}
	check(js, map[string]string{"gen_ai.operation.name": "chat", "gen_ai.provider.name": "openai", "gen_ai.request.model": "gpt",
		"gen_ai.request.max_tokens": "50", "gen_ai.request.temperature": "0.2", "gen_ai.request.top_p": "0.9",
		"gen_ai.response.model": "gpt-4o-mini", "gen_ai.response.finish_reasons": "stop", "server.address": host, "http.response.status_code": "200"})
	a := attrs(js)
	if a["gen_ai.response.id"].GetStringValue() == "" || a["gen_ai.usage.input_tokens"].GetIntValue() == 0 || a["gen_ai.usage.output_tokens"].GetIntValue() == 0 || a["switchboard.cost_usd"].GetDoubleValue() <= 0 {
		t.Errorf("json span lacks id, usage or cost: %v", a)
	}
	if js.EndTimeUnixNano <= js.StartTimeUnixNano {
		t.Errorf("server span has no duration")
	}
	if kids := children[hex.EncodeToString(js.SpanId)]; len(kids) != 1 || kids[0].Kind != tracepb.Span_SPAN_KIND_CLIENT {
		t.Errorf("json: %d client spans", len(kids))
	}
	st := byRequest["req-trace-stream"]
	check(st, map[string]string{"gen_ai.request.stream": "true", "gen_ai.response.finish_reasons": "stop"})
	if attrs(st)["gen_ai.response.id"].GetStringValue() == "" {
		t.Errorf("stream span lacks the response id")
	}
	fl := byRequest["req-trace-flaky"]
	kids := children[hex.EncodeToString(fl.SpanId)]
	if len(kids) != 4 {
		t.Fatalf("flaky: %d client spans, want 3 failures on down and the fallback", len(kids))
	}
	failed := 0
	for _, k := range kids {
		if k.Status.GetCode() == tracepb.Status_STATUS_CODE_ERROR {
			failed++
			check(k, map[string]string{"switchboard.provider": "down", "http.response.status_code": "500", "error.type": "server"})
		}
		if k.StartTimeUnixNano < fl.StartTimeUnixNano || k.EndTimeUnixNano > fl.EndTimeUnixNano {
			t.Errorf("attempt span outside its request")
		}
	}
	if failed != 3 {
		t.Errorf("%d failed attempt spans", failed)
	}
	nf := byRequest["req-trace-404"]
	check(nf, map[string]string{"error.type": "invalid_request_error", "http.response.status_code": "404"})
	if nf.Status.GetCode() != tracepb.Status_STATUS_CODE_ERROR {
		t.Errorf("404 span status %v", nf.Status)
	}
	rc.mu.Lock()
	if len(rc.auth) == 0 || rc.auth[0] != "Bearer otlp-token" {
		t.Errorf("export headers: %v", rc.auth)
	}
	rc.mu.Unlock()

	// Sampling 0: new traces are dropped, a sampled parent is followed, an
	// unsampled or malformed one is not.
	rc2, endpoint2 := startReceiver(t)
	gw2 := gatewayOver(t, metricsConfig+"tracing: {endpoint: \""+endpoint2+"\", sample_rate: 0}\n", map[string]string{"UP": up, "DOWN": down})
	post(t, gw2.URL, "/v1/chat/completions", `{"model":"gpt","messages":[{"role":"user","content":"hi"}]}`, "x-request-id", "req-unsampled")
	post(t, gw2.URL, "/v1/chat/completions", `{"model":"gpt","messages":[{"role":"user","content":"hi"}]}`, "x-request-id", "req-parent-sampled",
		"traceparent", "00-"+parentTrace+"-"+parentSpan+"-01")
	post(t, gw2.URL, "/v1/chat/completions", `{"model":"gpt","messages":[{"role":"user","content":"hi"}]}`, "x-request-id", "req-parent-unsampled",
		"traceparent", "00-"+parentTrace+"-"+parentSpan+"-00")
	post(t, gw2.URL, "/v1/chat/completions", `{"model":"gpt","messages":[{"role":"user","content":"hi"}]}`, "x-request-id", "req-parent-malformed",
		"traceparent", "00-"+parentTrace+"-"+parentSpan)
	gw2.tracer.Shutdown(context.Background())
	var ids []string
	for _, s := range rc2.all() {
		if s.Kind == tracepb.Span_SPAN_KIND_SERVER {
			ids = append(ids, attrs(s)["switchboard.request_id"].GetStringValue())
		}
	}
	if len(ids) != 1 || ids[0] != "req-parent-sampled" {
		t.Errorf("with sample_rate 0, server spans for %v", ids)
	}
}
