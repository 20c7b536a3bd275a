package e2e

import (
	"context"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/redis/go-redis/v9"
	"github.com/tidwall/gjson"

	"github.com/switchboard-gw/switchboard/internal/config"
	"github.com/switchboard-gw/switchboard/internal/gateway"
	"github.com/switchboard-gw/switchboard/internal/limits"
	"github.com/switchboard-gw/switchboard/internal/mock"
	"github.com/switchboard-gw/switchboard/internal/pricing"
	"github.com/switchboard-gw/switchboard/internal/server"
)

const pricedConfig = `
master_key: ${MASTER}
providers:
  - {name: a, type: openai, base_url: "${A}/v1", api_key: k}
models:
  - {name: gpt, deployments: [{provider: a, model: gpt-4o-mini}]}
  - {name: unpriced, deployments: [{provider: a, model: in-house}]}
`

func newKey(t *testing.T, url, body string) string {
	t.Helper()
	status, k := adminCall(t, url, masterKey, "POST", "/admin/v1/keys", body)
	if status != 201 {
		t.Fatalf("%d %s", status, k.Raw)
	}
	return k.Get("key").String()
}

func chatAs(url, key, model string) (int, http.Header, []byte) {
	req, _ := http.NewRequest("POST", url+"/v1/chat/completions", strings.NewReader(`{"model":"`+model+`","messages":[{"role":"user","content":"hi"}]}`))
	req.Header.Set("Authorization", "Bearer "+key)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, nil, nil
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, b
}

// A key's requests per minute: the limit answers 429 in OpenAI's shape,
// with Retry-After and x-ratelimit-* headers.
func TestKeyRateLimit(t *testing.T) {
	_, up := startMock(t, mock.Options{})
	gw := gatewayOver(t, pricedConfig, map[string]string{"A": up})
	key := newKey(t, gw.URL, `{"name":"rl","rpm":3}`)
	for i := range 3 {
		status, h, _ := chatAs(gw.URL, key, "gpt")
		if status != 200 || h.Get("x-ratelimit-limit-requests") != "3" || h.Get("x-ratelimit-remaining-requests") != itoa(2-i) {
			t.Fatalf("request %d: %d %v", i, status, h)
		}
	}
	status, h, out := chatAs(gw.URL, key, "gpt")
	if status != 429 || h.Get("Retry-After") == "" || gjson.GetBytes(out, "error.code").String() != "rate_limit_exceeded" {
		t.Errorf("4th: %d %v %s", status, h, out)
	}
	// The master key is not limited.
	if resp, _ := chatOK(t, gw.URL, "gpt", "hi"); resp.StatusCode != 200 {
		t.Errorf("master: %d", resp.StatusCode)
	}
}

// 200 concurrent requests against a budget that allows 50 worst-case
// reservations: spend never passes the limit, and the ledger equals the
// sum of the logged costs.
func TestBudgetUnderConcurrency(t *testing.T) {
	_, up := startMock(t, mock.Options{})
	gw := gatewayOver(t, pricedConfig, map[string]string{"A": up})
	p, _ := pricing.Default().Lookup("gpt-4o-mini")
	prompt := promptTokensOf(`{"messages":[{"role":"user","content":"hi"}]}`)
	worst := (float64(prompt)*p.Input + 4096*p.Output) / 1e6
	budget := 50 * worst
	key := newKey(t, gw.URL, `{"name":"budget","max_budget_usd":`+usd(budget)+`,"budget_period":"monthly"}`)
	ok, refused := budgetBurst(t, gw.URL, []string{key}, 200)
	// The ledger of the key's budget (the key id is the only one issued).
	_, list := adminCall(t, gw.URL, masterKey, "GET", "/admin/v1/keys", "")
	spent := checkLedger(t, gw, "key:"+list.Get("data.0.id").String(), "monthly", budget)
	if ok < 50 {
		t.Errorf("%d ok, %d refused", ok, refused)
	}
	t.Logf("budget $%.4f (50 worst cases): %d admitted, %d refused, spent $%.6f", budget, ok, refused, spent)
	// A model without a price cannot be used with a budget (policy: block).
	status, _, out := chatAs(gw.URL, key, "unpriced")
	if status != 403 || gjson.GetBytes(out, "error.code").String() != "unpriced_model" {
		t.Errorf("unpriced: %d %s", status, out)
	}
}

// budgetBurst sends n chats at once, spread over keys, and counts the
// answers and the budget refusals; anything else fails the test.
func budgetBurst(t *testing.T, url string, keys []string, n int) (ok, refused int64) {
	t.Helper()
	var okN, refusedN atomic.Int64
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			status, _, out := chatAs(url, keys[i%len(keys)], "gpt")
			switch {
			case status == 200:
				okN.Add(1)
			case status == 429 && gjson.GetBytes(out, "error.code").String() == "budget_exceeded":
				refusedN.Add(1)
			default:
				t.Errorf("%d %s", status, out)
			}
		}()
	}
	wg.Wait()
	if okN.Load()+refusedN.Load() != int64(n) {
		t.Errorf("%d ok + %d refused of %d", okN.Load(), refusedN.Load(), n)
	}
	return okN.Load(), refusedN.Load()
}

// checkLedger asserts a budget's ledger: no reservation left, spend
// within the limit, and equal to the sum of the logged costs (every
// request of the gateway counted against it). It returns the spend.
func checkLedger(t *testing.T, gw *gatewayUnderTest, subject, period string, limit float64) float64 {
	t.Helper()
	spent, reserved, err := gw.limiter.Spent(context.Background(), limits.Policy{Subject: subject, HasBudget: true, Period: period})
	if err != nil || reserved > 1e-9 || spent > limit+1e-9 {
		t.Errorf("%s: spent $%v, reserved $%v, of $%v (%v)", subject, spent, reserved, limit, err)
	}
	logged := 0.0
	for _, rec := range gw.Records() {
		logged += rec.CostUSD
	}
	if d := spent - logged; d > 1e-6 || d < -1e-6 {
		t.Errorf("%s: ledger $%v != logged $%v", subject, spent, logged)
	}
	return spent
}

// usd prints a budget for a JSON body.
func usd(v float64) string { return strings.TrimRight(strings.TrimRight(ftoa(v), "0"), ".") }

func promptTokensOf(body string) int64 { return server.AdmissionTokens([]byte(body)) }

func ftoa(f float64) string { return strconv.FormatFloat(f, 'f', 9, 64) }

// Two gateways sharing Redis enforce one global limit.
func TestRateLimitAcrossReplicas(t *testing.T) {
	c := redis.NewClient(&redis.Options{Addr: "127.0.0.1:6379"})
	if err := c.Ping(context.Background()).Err(); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("Redis is required in CI: %v", err)
		}
		t.Skipf("Redis not reachable: %v", err)
	}
	c.Close()
	_, up := startMock(t, mock.Options{})
	env := map[string]string{"A": up, "MASTER": masterKey}
	cfg, err := config.Parse("r.yaml", []byte(pricedConfig+"redis: redis://127.0.0.1:6379/0\n"), func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	one := startWithConfig(t, cfg, false)
	gw2, err := gateway.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	two := startWithStore(t, cfg, gw2, one.store, false) // same keys, its own limiter and Redis connection
	key := newKey(t, one.URL, `{"name":"global","rpm":10}`)
	var ok atomic.Int64
	var wg sync.WaitGroup
	for i := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			url := one.URL
			if i%2 == 1 {
				url = two.URL
			}
			if status, _, _ := chatAs(url, key, "gpt"); status == 200 {
				ok.Add(1)
			}
		}()
	}
	wg.Wait()
	if ok.Load() != 10 {
		t.Errorf("%d of 16 admitted across two replicas; the limit is 10", ok.Load())
	}
}
