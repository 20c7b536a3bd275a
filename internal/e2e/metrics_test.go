package e2e

import (
	"math"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/switchboard-gw/switchboard/internal/mock"
)

const metricsConfig = `
master_key: ${MASTER}
providers:
  - {name: up, type: openai, base_url: "${UP}/v1", api_key: k}
  - {name: down, type: openai, base_url: "${DOWN}/v1", api_key: k}
models:
  - {name: gpt, deployments: [{provider: up, model: gpt-4o-mini}]}
  - {name: inhouse, deployments: [{provider: up, model: in-house}]}
  - {name: flaky, retry: {attempts: 2}, fallbacks: [gpt], deployments: [{provider: down, model: gpt-4o-mini}]}
`

// scrape reads /metrics into families by name.
func scrape(t *testing.T, url string) map[string]*dto.MetricFamily {
	t.Helper()
	resp, err := http.Get(url + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/plain") {
		t.Fatalf("/metrics: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return families
}

// sample sums the family's samples whose labels include want.
func sample(families map[string]*dto.MetricFamily, name string, want map[string]string) float64 {
	total := 0.0
	f := families[name]
	if f == nil {
		return math.NaN()
	}
next:
	for _, m := range f.Metric {
		labels := map[string]string{}
		for _, l := range m.Label {
			labels[l.GetName()] = l.GetValue()
		}
		for k, v := range want {
			if labels[k] != v {
				continue next
			}
		}
		switch {
		case m.Counter != nil:
			total += m.Counter.GetValue()
		case m.Gauge != nil:
			total += m.Gauge.GetValue()
		case m.Histogram != nil:
			total += float64(m.Histogram.GetSampleCount())
		}
	}
	return total
}

// A mix of requests — JSON, streams, an unpriced model, a deployment that
// fails over to a fallback, an unknown model, a bad key, a rate limit —
// and the metrics agree exactly with the requests' records and with the
// upstreams' own counts. Labels stay bounded: a made-up model name never
// becomes one.
func TestMetrics(t *testing.T) {
	up, upURL := startMock(t, mock.Options{})
	down, downURL := startMock(t, mock.Options{FailRate: 1})
	gw := gatewayOver(t, metricsConfig, map[string]string{"UP": upURL, "DOWN": downURL})
	chat := `{"model":"%s","messages":[{"role":"user","content":"hi"}]}`
	send := func(model string, header ...string) int {
		resp, _ := post(t, gw.URL, "/v1/chat/completions", strings.Replace(chat, "%s", model, 1), header...)
		return resp.StatusCode
	}
	limited := newKey(t, gw.URL, `{"name":"slow","rpm":1}`)
	want := map[string]int{}
	expect := func(what string, got, status int) {
		t.Helper()
		if got != status {
			t.Errorf("%s: %d, want %d", what, got, status)
		}
		want[what]++
	}
	for range 3 {
		expect("gpt", send("gpt"), 200)
	}
	for range 2 {
		resp, body := post(t, gw.URL, "/v1/chat/completions", `{"model":"gpt","stream":true,"messages":[{"role":"user","content":"hi"}]}`)
		if !strings.Contains(string(body), "[DONE]") {
			t.Errorf("stream: %s", body)
		}
		expect("stream", resp.StatusCode, 200)
	}
	expect("inhouse", send("inhouse"), 200)
	expect("flaky", send("flaky"), 200)
	expect("unknown", send("no-such-model-xyz"), 404)
	expect("bad key", send("gpt", "Authorization", "Bearer sk-sb-wrong"), 401)
	expect("limited", send("gpt", "Authorization", "Bearer "+limited), 200)
	expect("limited again", send("gpt", "Authorization", "Bearer "+limited), 429)
	n := 0
	for _, c := range want {
		n += c
	}
	deadline := time.Now().Add(5 * time.Second)
	for len(gw.Records()) < n && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	records := gw.Records()
	if len(records) != n {
		t.Fatalf("%d records for %d requests", len(records), n)
	}

	// The request log holds the same n requests.
	logged := waitLogs(t, gw.URL, masterKey, n)
	for status, count := range map[int]int64{200: 8, 404: 1, 401: 1, 429: 1} {
		if got := logged.Get(`data.#(status==` + strconv.Itoa(status) + `)#`).Array(); int64(len(got)) != count {
			t.Errorf("%d log entries with status %d, want %d", len(got), status, count)
		}
	}
	if f := logged.Get(`data.#(model=="flaky")`); f.Get("attempts").Int() != 4 || f.Get("provider").String() != "up" || f.Get("trace.#").Int() != 4 {
		t.Errorf("flaky entry: %s", f.Raw)
	}

	m := scrape(t, gw.URL)
	if got := sample(m, "switchboard_requests_total", nil); got != float64(n) {
		t.Errorf("requests_total = %v, want %d", got, n)
	}
	for labels, count := range map[[3]string]float64{
		{"gpt", "up", "200"}:     6,
		{"inhouse", "up", "200"}: 1,
		{"flaky", "up", "200"}:   1,
		{"", "", "404"}:          1,
		{"", "", "401"}:          1,
		{"gpt", "", "429"}:       1,
	} {
		if got := sample(m, "switchboard_requests_total", map[string]string{"model": labels[0], "provider": labels[1], "status_code": labels[2]}); got != count {
			t.Errorf("requests_total%v = %v, want %v", labels, got, count)
		}
	}
	var input, output, cost float64
	for _, r := range records {
		input += float64(r.Usage.Input)
		output += float64(r.Usage.Output)
		cost += r.CostUSD
	}
	if got := sample(m, "switchboard_tokens_total", map[string]string{"type": "input"}); got != input || input == 0 {
		t.Errorf("input tokens = %v, records say %v", got, input)
	}
	if got := sample(m, "switchboard_tokens_total", map[string]string{"type": "output"}); got != output || output == 0 {
		t.Errorf("output tokens = %v, records say %v", got, output)
	}
	if got := sample(m, "switchboard_cost_usd_total", nil); math.Abs(got-cost) > 1e-12 || cost == 0 {
		t.Errorf("cost = %v, records say %v", got, cost)
	}
	if got := sample(m, "switchboard_unpriced_requests_total", map[string]string{"model": "inhouse"}); got != 1 {
		t.Errorf("unpriced inhouse = %v", got)
	}
	if got := sample(m, "switchboard_upstream_attempts_total", map[string]string{"provider": "down", "outcome": "error"}); got != float64(down.Requests()) || got != 3 {
		t.Errorf("attempts on down = %v, the upstream saw %d", got, down.Requests())
	}
	if got := sample(m, "switchboard_upstream_attempts_total", map[string]string{"provider": "up", "outcome": "ok"}); got != float64(up.Requests()) {
		t.Errorf("ok attempts on up = %v, the upstream saw %d", got, up.Requests())
	}
	if got := sample(m, "switchboard_retries_total", map[string]string{"model": "flaky"}); got != 3 {
		t.Errorf("retries for flaky = %v, want 3 (the first call and two retries on down, then the fallback)", got)
	}
	if got := sample(m, "switchboard_fallbacks_total", map[string]string{"model": "flaky"}); got != 1 {
		t.Errorf("fallbacks = %v", got)
	}
	for reason, count := range map[string]float64{"rate_limit_exceeded": 1, "invalid_api_key": 1, "model_not_found": 1} {
		if got := sample(m, "switchboard_rejections_total", map[string]string{"reason": reason}); got != count {
			t.Errorf("rejections %s = %v", reason, got)
		}
	}
	if got := sample(m, "switchboard_time_to_first_token_seconds", map[string]string{"model": "gpt"}); got != 2 {
		t.Errorf("ttft observations = %v, want the 2 streams", got)
	}
	if got := sample(m, "switchboard_request_duration_seconds", nil); got != float64(n) {
		t.Errorf("duration observations = %v", got)
	}
	if got := sample(m, "switchboard_gateway_overhead_seconds", nil); got < 8 {
		t.Errorf("overhead observations = %v, want one per answered request", got)
	}
	if got := sample(m, "switchboard_cache_requests_total", map[string]string{"result": "bypass"}); got != 9 {
		t.Errorf("cache bypass = %v, want every routed request", got)
	}
	for _, name := range []string{"switchboard_in_flight_requests", "switchboard_log_queue_dropped_total", "switchboard_log_write_failures_total"} {
		if got := sample(m, name, nil); got != 0 {
			t.Errorf("%s = %v", name, got)
		}
	}
	if got := sample(m, "switchboard_circuit_breaker_state", map[string]string{"provider": "down", "model": "gpt-4o-mini"}); math.IsNaN(got) || got != 0 {
		t.Errorf("breaker state for down = %v, want 0 (closed: 2 failures < 5)", got)
	}
	for name, f := range m {
		for _, s := range f.Metric {
			for _, l := range s.Label {
				if strings.Contains(l.GetValue(), "no-such-model") || strings.Contains(l.GetValue(), "sk-") {
					t.Errorf("%s has an unbounded label %s=%q", name, l.GetName(), l.GetValue())
				}
			}
		}
	}
}
