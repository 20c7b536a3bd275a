package e2e

import (
	"testing"

	"github.com/switchboard-gw/switchboard/internal/config"
	"github.com/switchboard-gw/switchboard/internal/mock"
)

// A deployment that fails with a 5xx hands the request to the next one;
// a 400 is the client's problem and is never tried again elsewhere.
func TestFailoverAcrossDeployments(t *testing.T) {
	bad, badURL := startMock(t, mock.Options{FailRate: 1})
	good, goodURL := startMock(t, mock.Options{})
	env := map[string]string{"BAD": badURL, "GOOD": goodURL, "MASTER": masterKey}
	cfg, err := config.Parse("failover.yaml", []byte(`
master_key: ${MASTER}
providers:
  - {name: bad, type: openai, base_url: "${BAD}/v1", api_key: k}
  - {name: good, type: anthropic, base_url: "${GOOD}", api_key: k}
models:
  - name: gpt
    deployments:
      - {provider: bad, model: mock-gpt, weight: 9}
      - {provider: good, model: mock-claude, weight: 1}
`), func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	gw := startWithConfig(t, cfg, false)
	attempts := map[string]int{}
	for range 50 {
		resp, out := post(t, gw.URL, "/v1/chat/completions", `{"model":"gpt","messages":[{"role":"user","content":"hi"}]}`)
		if resp.StatusCode != 200 || resp.Header.Get("x-switchboard-provider") != "good" {
			t.Fatalf("%d %s %s", resp.StatusCode, resp.Header, out)
		}
		attempts[resp.Header.Get("x-switchboard-attempts")]++
	}
	if attempts["2"] == 0 || attempts["1"]+attempts["2"] != 50 {
		t.Errorf("attempts = %v", attempts)
	}
	if bad.Requests() != int64(attempts["2"]) || good.Requests() != 50 {
		t.Errorf("bad saw %d, good saw %d", bad.Requests(), good.Requests())
	}

	before := good.Requests() + bad.Requests()
	resp, _ := post(t, gw.URL, "/v1/chat/completions", `{"model":"gpt","messages":[{"role":"user","content":"[[mock:status=400]]"}]}`)
	if resp.StatusCode != 400 || resp.Header.Get("x-switchboard-attempts") != "1" {
		t.Errorf("a 400 was retried: status %d, attempts %s", resp.StatusCode, resp.Header.Get("x-switchboard-attempts"))
	}
	if got := good.Requests() + bad.Requests() - before; got != 1 {
		t.Errorf("upstream calls = %d, want 1", got)
	}
}
