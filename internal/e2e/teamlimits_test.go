package e2e

import (
	"context"
	"math"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/tidwall/gjson"

	"github.com/switchboard-gw/switchboard/internal/mock"
	"github.com/switchboard-gw/switchboard/internal/pricing"
)

// A team's budget is shared by all its keys: 200 concurrent requests over
// four keys (each with a roomy budget of its own) against a team budget
// of 40 worst cases never spend past the team's limit, and the team's
// ledger equals the logged costs. The team's rpm and model list hold
// across its keys too; only admins change them.
func TestTeamLimits(t *testing.T) {
	_, up := startMock(t, mock.Options{})
	backends := map[string]string{"memory": ""}
	if redisReachable(t) {
		backends["redis"] = "redis: redis://127.0.0.1:6379/0\n"
	}
	for backend, extra := range backends {
		t.Run(backend, func(t *testing.T) { teamLimits(t, gatewayOver(t, pricedConfig+extra, map[string]string{"A": up})) })
	}
}

// redisReachable reports whether the local Redis answers; in CI it must.
func redisReachable(t *testing.T) bool {
	c := redis.NewClient(&redis.Options{Addr: "127.0.0.1:6379"})
	defer c.Close()
	if err := c.Ping(context.Background()).Err(); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("Redis is required in CI: %v", err)
		}
		t.Logf("Redis not reachable, its backend is not tested: %v", err)
		return false
	}
	return true
}

func teamLimits(t *testing.T, gw *gatewayUnderTest) {
	p, _ := pricing.Default().Lookup("gpt-4o-mini")
	worst := (float64(promptTokensOf(`{"messages":[{"role":"user","content":"hi"}]}`))*p.Input + 4096*p.Output) / 1e6
	budget := usd(40 * worst)

	for _, bad := range []string{`{"name":"x","max_budget_usd":-1}`, `{"name":"x","max_budget_usd":"lots"}`, `{"name":"x","budget_period":"hourly"}`,
		`{"name":"x","rpm":-5}`, `{"name":"x","models":[""]}`, `{"name":"x","colour":"red"}`} {
		if status, out := adminCall(t, gw.URL, masterKey, "POST", "/admin/v1/teams", bad); status != 400 {
			t.Errorf("%s: %d %s", bad, status, out.Raw)
		}
	}
	if _, list := adminCall(t, gw.URL, masterKey, "GET", "/admin/v1/teams", ""); list.Get("data.#").Int() != 0 {
		t.Fatalf("a refused team was written: %s", list.Raw)
	}
	status, team := adminCall(t, gw.URL, masterKey, "POST", "/admin/v1/teams", `{"name":"shared","max_budget_usd":`+budget+`,"budget_period":"daily","models":["gpt"]}`)
	if status != 201 || team.Get("budget_period").String() != "daily" || team.Get("models.0").String() != "gpt" {
		t.Fatalf("%d %s", status, team.Raw)
	}
	tid := team.Get("id").String()
	var keys []string
	for range 4 {
		keys = append(keys, newKey(t, gw.URL, `{"name":"member","team_id":"`+tid+`","max_budget_usd":100}`))
	}

	// The team's model list applies to its keys.
	if status, _, out := chatAs(gw.URL, keys[0], "unpriced"); status != 403 {
		t.Errorf("model outside the team's list: %d %s", status, out)
	}

	ok, refused := budgetBurst(t, gw.URL, keys, 200)
	spent := checkLedger(t, gw, "team:"+tid, "daily", 40*worst)
	if ok < 40 {
		t.Errorf("%d ok, %d refused", ok, refused)
	}
	t.Logf("team budget $%.4f (40 worst cases) over 4 keys: %d admitted, %d refused, spent $%.6f", 40*worst, ok, refused, spent)

	// Team rate limit, shared by its keys; set by an admin and effective at once.
	status, team = adminCall(t, gw.URL, masterKey, "PATCH", "/admin/v1/teams/"+tid, `{"max_budget_usd":null,"rpm":4}`)
	if status != 200 || team.Get("max_budget_usd").Exists() && team.Get("max_budget_usd").Type != gjson.Null || team.Get("rpm").Int() != 4 || team.Get("name").String() != "shared" {
		t.Fatalf("%d %s", status, team.Raw)
	}
	admitted := 0
	for i := range 8 {
		if status, _, _ := chatAs(gw.URL, keys[i%4], "gpt"); status == 200 {
			admitted++
		}
	}
	if admitted != 4 {
		t.Errorf("team rpm 4 over 4 keys admitted %d of 8", admitted)
	}

	// A team admin may rename the team but not raise its limits.
	lead := newKey(t, gw.URL, `{"name":"lead","role":"team_admin","team_id":"`+tid+`","scopes":["admin:read","admin:write"]}`)
	if status, out := adminCall(t, gw.URL, lead, "PATCH", "/admin/v1/teams/"+tid, `{"rpm":1000}`); status != 403 {
		t.Errorf("team admin raising rpm: %d %s", status, out.Raw)
	}
	if status, out := adminCall(t, gw.URL, lead, "PATCH", "/admin/v1/teams/"+tid, `{"name":"shared-2"}`); status != 200 || out.Get("rpm").Int() != 4 {
		t.Errorf("team admin renaming: %d %s", status, out.Raw)
	}
	if status, _ := adminCall(t, gw.URL, masterKey, "PATCH", "/admin/v1/teams/"+tid, `{"tpm":-1}`); status != 400 {
		t.Errorf("negative tpm: %d", status)
	}
	if _, got := adminCall(t, gw.URL, masterKey, "GET", "/admin/v1/teams/"+tid, ""); got.Get("tpm").Int() != 0 || got.Get("rpm").Int() != 4 {
		t.Errorf("a refused change was written: %s", got.Raw)
	}
}

// max_parallel bounds a key's (and a team's) requests in flight: with the
// upstream taking a second, 6 simultaneous requests on a key allowing 2 see
// exactly 2 answered and 4 refused with concurrency_limit; once they end,
// the slots are free again.
func TestMaxParallel(t *testing.T) {
	_, up := startMock(t, mock.Options{Latency: time.Second})
	gw := gatewayOver(t, pricedConfig, map[string]string{"A": up})
	if status, _ := adminCall(t, gw.URL, masterKey, "POST", "/admin/v1/keys", `{"name":"x","max_parallel":-1}`); status != 400 {
		t.Errorf("negative max_parallel: %d", status)
	}
	_, team := adminCall(t, gw.URL, masterKey, "POST", "/admin/v1/teams", `{"name":"par","max_parallel":3}`)
	if team.Get("max_parallel").Int() != 3 {
		t.Fatalf("team: %s", team.Raw)
	}
	run := func(keys ...string) (ok, limited int) {
		var mu sync.Mutex
		var wg sync.WaitGroup
		for _, k := range keys {
			wg.Add(1)
			go func() {
				defer wg.Done()
				status, _, out := chatAs(gw.URL, k, "gpt")
				mu.Lock()
				defer mu.Unlock()
				switch {
				case status == 200:
					ok++
				case status == 429 && gjson.GetBytes(out, "error.code").String() == "concurrency_limit":
					limited++
				default:
					t.Errorf("%d %s", status, out)
				}
			}()
		}
		wg.Wait()
		return ok, limited
	}
	key := newKey(t, gw.URL, `{"name":"par","max_parallel":2}`)
	six := []string{key, key, key, key, key, key}
	if ok, limited := run(six...); ok != 2 || limited != 4 {
		t.Errorf("key max_parallel 2: %d ok, %d limited", ok, limited)
	}
	if ok, _ := run(key, key); ok != 2 {
		t.Errorf("slots not released: %d of 2", ok)
	}
	// Two keys of a team allowing 3, each key unlimited on its own.
	a := newKey(t, gw.URL, `{"name":"a","team_id":"`+team.Get("id").String()+`"}`)
	b := newKey(t, gw.URL, `{"name":"b","team_id":"`+team.Get("id").String()+`"}`)
	if ok, limited := run(a, b, a, b, a, b); ok != 3 || limited != 3 {
		t.Errorf("team max_parallel 3: %d ok, %d limited", ok, limited)
	}
}

// A budget's soft alert: one warning when spend reaches the alert share,
// not one per request after it.
func TestBudgetAlert(t *testing.T) {
	_, up := startMock(t, mock.Options{})
	gw := gatewayOver(t, pricedConfig+"budgets: {alert_at: 0.5}\n", map[string]string{"A": up})
	// A budget of $0.0001: gpt-4o-mini's "hi" answers cost about $0.000009
	// each, so about 6 requests reach half of it; 10 are sent.
	key := newKey(t, gw.URL, `{"name":"alerting","max_budget_usd":0.0001,"budget_period":"weekly"}`)
	for range 10 {
		req := `{"model":"gpt","max_tokens":16,"messages":[{"role":"user","content":"hi"}]}`
		resp, out := post(t, gw.URL, "/v1/chat/completions", req, "Authorization", "Bearer "+key)
		if resp.StatusCode != 200 && resp.StatusCode != 429 {
			t.Fatalf("%d %s", resp.StatusCode, out)
		}
	}
	logs := gw.warnings.String()
	if n := strings.Count(logs, "budget alert"); n != 1 {
		t.Fatalf("%d budget alerts, want 1:\n%s", n, logs)
	}
	line := logs[strings.Index(logs, "budget alert"):]
	line = line[:strings.Index(line, "\n")]
	if !strings.Contains(line, `"subject":"key:`) || !strings.Contains(line, `"period":"weekly"`) || !strings.Contains(line, `"budget_usd":0.0001`) {
		t.Errorf("alert line: %s", line)
	}
	if strings.Contains(logs, key) {
		t.Error("a key secret in the logs")
	}
	if got := sample(scrape(t, gw.URL), "switchboard_budget_alerts_total", map[string]string{"kind": "key"}); got != 1 {
		t.Errorf("switchboard_budget_alerts_total{kind=key} = %v, want 1", got)
	}
}

// A user's budget is shared by every key they own; only admins set it.
func TestUserBudget(t *testing.T) {
	_, up := startMock(t, mock.Options{})
	gw := gatewayOver(t, pricedConfig, map[string]string{"A": up})
	p, _ := pricing.Default().Lookup("gpt-4o-mini")
	worst := (float64(promptTokensOf(`{"messages":[{"role":"user","content":"hi"}]}`))*p.Input + 4096*p.Output) / 1e6
	for _, bad := range []string{`{"email":"a@b.c","max_budget_usd":-1}`, `{"email":"a@b.c","budget_period":"fortnightly"}`} {
		if status, out := adminCall(t, gw.URL, masterKey, "POST", "/admin/v1/users", bad); status != 400 {
			t.Errorf("%s: %d %s", bad, status, out.Raw)
		}
	}
	_, team := adminCall(t, gw.URL, masterKey, "POST", "/admin/v1/teams", `{"name":"ana's"}`)
	tid := team.Get("id").String()
	status, user := adminCall(t, gw.URL, masterKey, "POST", "/admin/v1/users", `{"email":"ana@example.com","team_id":"`+tid+`","max_budget_usd":`+usd(20*worst)+`,"budget_period":"weekly"}`)
	if status != 201 || user.Get("budget_period").String() != "weekly" {
		t.Fatalf("%d %s", status, user.Raw)
	}
	uid := user.Get("id").String()
	keys := []string{newKey(t, gw.URL, `{"name":"a","team_id":"`+tid+`","user_id":"`+uid+`"}`), newKey(t, gw.URL, `{"name":"b","team_id":"`+tid+`","user_id":"`+uid+`"}`)}
	if ok, refused := budgetBurst(t, gw.URL, keys, 80); ok < 20 {
		t.Errorf("%d ok, %d refused", ok, refused)
	}
	spent := checkLedger(t, gw, "user:"+uid, "weekly", 20*worst)

	// The budget's standing, through the admin API, within the caller's scope.
	status, b := adminCall(t, gw.URL, masterKey, "GET", "/admin/v1/budgets/user:"+uid, "")
	if status != 200 || b.Get("budget_period").String() != "weekly" || b.Get("reserved_usd").Float() != 0 ||
		math.Abs(b.Get("spent_usd").Float()-spent) > 1e-9 || math.Abs(b.Get("remaining_usd").Float()-(20*worst-spent)) > 1e-9 || !strings.Contains(b.Get("window").String(), "W") {
		t.Errorf("budget standing: %d %s (spent $%v)", status, b.Raw, spent)
	}
	stranger := newKey(t, gw.URL, `{"name":"stranger","scopes":["admin:read"]}`)
	for path, want := range map[string]int{"user:" + uid: 404, "team:" + tid: 404, "key:none": 404} {
		if status, _ := adminCall(t, gw.URL, stranger, "GET", "/admin/v1/budgets/"+path, ""); status != want {
			t.Errorf("developer outside the team reading %s: %d", path, status)
		}
	}
	for path, want := range map[string]int{"planet:x": 400, "team:" + tid: 404, "user:nobody": 404} {
		if status, _ := adminCall(t, gw.URL, masterKey, "GET", "/admin/v1/budgets/"+path, ""); status != want {
			t.Errorf("%s: %d, want %d", path, status, want)
		}
	}

	lead := newKey(t, gw.URL, `{"name":"lead","role":"team_admin","team_id":"`+tid+`","scopes":["admin:read","admin:write"]}`)
	if status, _ := adminCall(t, gw.URL, lead, "GET", "/admin/v1/budgets/user:"+uid, ""); status != 200 {
		t.Errorf("team admin reading a member's budget: %d", status)
	}
	if status, out := adminCall(t, gw.URL, lead, "PATCH", "/admin/v1/users/"+uid, `{"max_budget_usd":1000}`); status != 403 {
		t.Errorf("team admin raising a budget: %d %s", status, out.Raw)
	}
	if status, out := adminCall(t, gw.URL, lead, "PATCH", "/admin/v1/users/"+uid, `{"name":"Ana"}`); status != 200 || out.Get("max_budget_usd").Float() != 20*worst && usd(out.Get("max_budget_usd").Float()) != usd(20*worst) {
		t.Errorf("team admin renaming: %d %s", status, out.Raw)
	}
	// Lifting the budget applies at once.
	if status, out := adminCall(t, gw.URL, masterKey, "PATCH", "/admin/v1/users/"+uid, `{"max_budget_usd":null}`); status != 200 || out.Get("max_budget_usd").Type != gjson.Null {
		t.Fatalf("%d %s", status, out.Raw)
	}
	if status, _, out := chatAs(gw.URL, keys[0], "gpt"); status != 200 {
		t.Errorf("after lifting: %d %s", status, out)
	}
}

// Limits per model within a key and within a team: only that model's
// requests count against them.
func TestModelLimits(t *testing.T) {
	_, up := startMock(t, mock.Options{})
	gw := gatewayOver(t, pricedConfig, map[string]string{"A": up})
	for _, bad := range []string{`{"name":"x","model_limits":{"gpt":{"rpm":-1}}}`, `{"name":"x","model_limits":{"":{"rpm":1}}}`, `{"name":"x","model_limits":{"gpt":{"rpn":1}}}`, `{"name":"x","model_limits":["gpt"]}`} {
		if status, out := adminCall(t, gw.URL, masterKey, "POST", "/admin/v1/keys", bad); status != 400 {
			t.Errorf("%s: %d %s", bad, status, out.Raw)
		}
	}
	key := newKey(t, gw.URL, `{"name":"per-model","model_limits":{"gpt":{"rpm":2}}}`)
	statuses := func(key, model string, n int) (out []int) {
		for range n {
			status, _, _ := chatAs(gw.URL, key, model)
			out = append(out, status)
		}
		return out
	}
	if got := statuses(key, "gpt", 3); got[0] != 200 || got[1] != 200 || got[2] != 429 {
		t.Errorf("gpt with rpm 2: %v", got)
	}
	if got := statuses(key, "unpriced", 4); got[3] != 200 {
		t.Errorf("another model counted against gpt's limit: %v", got)
	}

	_, team := adminCall(t, gw.URL, masterKey, "POST", "/admin/v1/teams", `{"name":"pm","model_limits":{"unpriced":{"rpm":3}}}`)
	if team.Get("model_limits.unpriced.rpm").Int() != 3 {
		t.Fatalf("team: %s", team.Raw)
	}
	a := newKey(t, gw.URL, `{"name":"a","team_id":"`+team.Get("id").String()+`"}`)
	b := newKey(t, gw.URL, `{"name":"b","team_id":"`+team.Get("id").String()+`"}`)
	got := append(statuses(a, "unpriced", 2), statuses(b, "unpriced", 2)...)
	if got[0] != 200 || got[1] != 200 || got[2] != 200 || got[3] != 429 {
		t.Errorf("team's unpriced rpm 3 over two keys: %v", got)
	}
	if got := statuses(b, "gpt", 2); got[0] != 200 || got[1] != 200 {
		t.Errorf("gpt limited by the team's unpriced limit: %v", got)
	}
	if status, _ := adminCall(t, gw.URL, masterKey, "PATCH", "/admin/v1/teams/"+team.Get("id").String(), `{"model_limits":{"gpt":{"tpm":-1}}}`); status != 400 {
		t.Errorf("negative team model limit: %d", status)
	}

	// A user's limits are shared by every key they own: rpm 3 overall,
	// and 1 for gpt within it.
	_, own := adminCall(t, gw.URL, masterKey, "POST", "/admin/v1/teams", `{"name":"rae's"}`)
	tid := own.Get("id").String()
	status, user := adminCall(t, gw.URL, masterKey, "POST", "/admin/v1/users", `{"email":"rae@example.com","team_id":"`+tid+`","rpm":3,"model_limits":{"gpt":{"rpm":1}}}`)
	if status != 201 || user.Get("rpm").Int() != 3 || user.Get("model_limits.gpt.rpm").Int() != 1 {
		t.Fatalf("user: %d %s", status, user.Raw)
	}
	uid := user.Get("id").String()
	c := newKey(t, gw.URL, `{"name":"c","team_id":"`+tid+`","user_id":"`+uid+`"}`)
	d := newKey(t, gw.URL, `{"name":"d","team_id":"`+tid+`","user_id":"`+uid+`"}`)
	if got := append(statuses(c, "gpt", 1), statuses(d, "gpt", 1)...); got[0] != 200 || got[1] != 429 {
		t.Errorf("user's gpt rpm 1 over two keys: %v", got)
	}
	// Limits are admitted all or nothing: the refused gpt request took
	// nothing from the overall 3, of which gpt used one.
	if got := append(statuses(d, "unpriced", 1), statuses(c, "unpriced", 2)...); got[0] != 200 || got[1] != 200 || got[2] != 429 {
		t.Errorf("user's rpm 3 over two keys: %v", got)
	}
	lead := newKey(t, gw.URL, `{"name":"lead","role":"team_admin","team_id":"`+tid+`","scopes":["admin:read","admin:write"]}`)
	if status, _ := adminCall(t, gw.URL, lead, "PATCH", "/admin/v1/users/"+uid, `{"rpm":100}`); status != 403 {
		t.Errorf("team admin raising a user's rpm: %d", status)
	}
	for _, bad := range []string{`{"rpm":-1}`, `{"model_limits":{"gpt":{"max_parallel":-2}}}`, `{"tpm":"many"}`} {
		if status, out := adminCall(t, gw.URL, masterKey, "PATCH", "/admin/v1/users/"+uid, bad); status != 400 {
			t.Errorf("%s: %d %s", bad, status, out.Raw)
		}
	}
	if status, out := adminCall(t, gw.URL, masterKey, "PATCH", "/admin/v1/users/"+uid, `{"rpm":0,"model_limits":{}}`); status != 200 || out.Get("rpm").Int() != 0 {
		t.Errorf("lifting: %d %s", status, out.Raw)
	}
	if got := statuses(c, "gpt", 2); got[0] != 200 || got[1] != 200 {
		t.Errorf("after lifting the user's limits: %v", got)
	}
}
