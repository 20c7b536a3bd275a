package e2e

import (
	"context"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
	"github.com/tidwall/gjson"

	"github.com/switchboard-gw/switchboard/internal/mock"
)

// waitLogs polls the admin API until the log holds want entries.
func waitLogs(t *testing.T, url, key string, want int) gjson.Result {
	t.Helper()
	var out gjson.Result
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		var status int
		status, out = adminCall(t, url, key, "GET", "/admin/v1/logs?limit=1000", "")
		if status != 200 {
			t.Fatalf("logs: %d %s", status, out.Raw)
		}
		if int(out.Get("data.#").Int()) >= want {
			return out
		}
	}
	t.Fatalf("log holds %d entries, want %d", out.Get("data.#").Int(), want)
	return out
}

// Every request, by every kind of caller, lands in the request log with
// its key, team, model, provider, status, tokens, cost and trace; usage
// rollups sum to the log; each role sees only its scope.
func TestRequestLogAndUsage(t *testing.T) {
	_, up := startMock(t, mock.Options{})
	for engine, gw := range governedGateways(t, up) {
		t.Run(engine, func(t *testing.T) {
			ctx := context.Background()
			_, teamA := adminCall(t, gw.URL, masterKey, "POST", "/admin/v1/teams", `{"name":"logs-a"}`)
			_, teamB := adminCall(t, gw.URL, masterKey, "POST", "/admin/v1/teams", `{"name":"logs-b"}`)
			_, bea := adminCall(t, gw.URL, masterKey, "POST", "/admin/v1/users", `{"email":"bea-`+engine+`@example.com","team_id":"`+teamB.Get("id").String()+`"}`)
			mk := func(role, team string, user ...string) (secret, id string) {
				owner := ""
				if len(user) > 0 {
					owner = `,"user_id":"` + user[0] + `"`
				}
				status, k := adminCall(t, gw.URL, masterKey, "POST", "/admin/v1/keys",
					`{"name":"`+role+`","role":"`+role+`","team_id":"`+team+`","scopes":["inference","admin:read"]`+owner+`}`)
				if status != 201 {
					t.Fatalf("%d %s", status, k.Raw)
				}
				return k.Get("key").String(), k.Get("id").String()
			}
			devA, devAID := mk("developer", teamA.Get("id").String())
			devB, devBID := mk("developer", teamB.Get("id").String(), bea.Get("id").String())
			viewerA, _ := mk("viewer", teamA.Get("id").String())

			// 6 chats (2 streamed) by developer A, 3 by developer B, one
			// unknown model (an error) by developer B.
			call := func(secret, model string, stream bool) error {
				c := openai.NewClient(option.WithBaseURL(gw.URL+"/v1"), option.WithAPIKey(secret), option.WithMaxRetries(0))
				p := openai.ChatCompletionNewParams{Model: model, Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("log me")}}
				if !stream {
					_, err := c.Chat.Completions.New(ctx, p)
					return err
				}
				s := c.Chat.Completions.NewStreaming(ctx, p)
				for s.Next() {
				}
				return s.Err()
			}
			for i := range 6 {
				if err := call(devA, "gpt", i < 2); err != nil {
					t.Fatal(err)
				}
			}
			for range 3 {
				if err := call(devB, "claude", false); err != nil {
					t.Fatal(err)
				}
			}
			if err := call(devB, "no-such-model", false); err == nil {
				t.Fatal("unknown model answered")
			}

			all := waitLogs(t, gw.URL, masterKey, 10)
			if n := all.Get("data.#").Int(); n != 10 {
				t.Fatalf("%d entries, want 10", n)
			}
			var sumCost float64
			var sumIn, sumOut int64
			streamed, failed := 0, 0
			for _, e := range all.Get("data").Array() {
				sumCost += e.Get("cost_usd").Float()
				sumIn += e.Get("input_tokens").Int()
				sumOut += e.Get("output_tokens").Int()
				for _, f := range []string{"request_id", "created_at", "model", "provider", "deployment_model", "status", "latency_ms", "ttft_ms",
					"input_tokens", "output_tokens", "cost_usd", "cache", "attempts", "key_id", "team_id", "error", "trace"} {
					if !e.Get(f).Exists() {
						t.Errorf("entry lacks %s: %s", f, e.Raw)
					}
				}
				switch {
				case e.Get("status").Int() == 404:
					failed++
					if e.Get("model").String() != "no-such-model" || e.Get("error").String() == "" || e.Get("key_id").String() != devBID {
						t.Errorf("error entry: %s", e.Raw)
					}
				case e.Get("status").Int() == 200:
					if e.Get("input_tokens").Int() == 0 || e.Get("output_tokens").Int() == 0 || e.Get("attempts").Int() != 1 ||
						e.Get("trace.0.outcome").String() != "ok" || e.Get("latency_ms").Float() <= 0 {
						t.Errorf("success entry: %s", e.Raw)
					}
					if e.Get("stream").Bool() {
						streamed++
						if e.Get("ttft_ms").Float() <= 0 {
							t.Errorf("stream without ttft: %s", e.Raw)
						}
					}
				default:
					t.Errorf("unexpected entry %s", e.Raw)
				}
			}
			if streamed != 2 || failed != 1 {
				t.Errorf("%d streamed, %d failed", streamed, failed)
			}

			// Filters and pagination.
			if _, gpt := adminCall(t, gw.URL, masterKey, "GET", "/admin/v1/logs?model=gpt&key_id="+devAID, ""); gpt.Get("data.#").Int() != 6 {
				t.Errorf("model+key filter: %d", gpt.Get("data.#").Int())
			}
			if _, e404 := adminCall(t, gw.URL, masterKey, "GET", "/admin/v1/logs?status=404", ""); e404.Get("data.#").Int() != 1 {
				t.Errorf("status filter: %d", e404.Get("data.#").Int())
			}
			seen := map[string]bool{}
			for before := ""; ; {
				_, page := adminCall(t, gw.URL, masterKey, "GET", "/admin/v1/logs?limit=3&before="+before, "")
				for _, e := range page.Get("data").Array() {
					seen[e.Get("id").String()] = true
				}
				if page.Get("next_before").Type == gjson.Null {
					break
				}
				before = page.Get("next_before").String()
			}
			if len(seen) != 10 {
				t.Errorf("pages covered %d entries", len(seen))
			}
			for _, bad := range []string{"limit=0", "limit=x", "status=abc", "from=yesterday"} {
				if status, _ := adminCall(t, gw.URL, masterKey, "GET", "/admin/v1/logs?"+bad, ""); status != 400 {
					t.Errorf("%s: %d", bad, status)
				}
			}

			// Scopes: a developer sees their own key, a viewer their team.
			if _, own := adminCall(t, gw.URL, devA, "GET", "/admin/v1/logs", ""); own.Get("data.#").Int() != 6 || own.Get(`data.#(key_id!="`+devAID+`")`).Exists() {
				t.Errorf("developer A sees %d entries: %s", own.Get("data.#").Int(), own.Raw)
			}
			if status, _ := adminCall(t, gw.URL, devA, "GET", "/admin/v1/logs?key_id="+devBID, ""); status != 404 {
				t.Errorf("developer A reading B's key: %d", status)
			}
			if _, team := adminCall(t, gw.URL, viewerA, "GET", "/admin/v1/logs?team_id="+teamB.Get("id").String(), ""); team.Get("data.#").Int() != 6 {
				t.Errorf("viewer of team A sees %d entries", team.Get("data.#").Int())
			}
			_ = devB

			// Usage rollups agree with the log.
			status, usage := adminCall(t, gw.URL, masterKey, "GET", "/admin/v1/usage?group_by=model", "")
			if status != 200 {
				t.Fatalf("%d %s", status, usage.Raw)
			}
			tot := usage.Get("total")
			if tot.Get("requests").Int() != 10 || tot.Get("errors").Int() != 1 || tot.Get("input_tokens").Int() != sumIn ||
				tot.Get("output_tokens").Int() != sumOut || math.Abs(tot.Get("cost_usd").Float()-sumCost) > 1e-9 {
				t.Errorf("usage total %s; log sums in %d out %d cost %v", tot.Raw, sumIn, sumOut, sumCost)
			}
			if g := usage.Get(`data.#(group=="gpt").requests`).Int(); g != 6 {
				t.Errorf("gpt requests %d: %s", g, usage.Raw)
			}
			_, byTeam := adminCall(t, gw.URL, masterKey, "GET", "/admin/v1/usage?group_by=team", "")
			if g := byTeam.Get(`data.#(group=="` + teamB.Get("id").String() + `").requests`).Int(); g != 4 {
				t.Errorf("team B requests %d: %s", g, byTeam.Raw)
			}
			_, byUser := adminCall(t, gw.URL, masterKey, "GET", "/admin/v1/usage?group_by=user", "")
			if g := byUser.Get(`data.#(group=="` + bea.Get("id").String() + `").requests`).Int(); g != 4 || byUser.Get(`data.#(group=="").requests`).Int() != 6 {
				t.Errorf("usage by user: %s", byUser.Raw)
			}
			if _, mine := adminCall(t, gw.URL, devA, "GET", "/admin/v1/usage?group_by=key", ""); mine.Get("data.#").Int() != 1 || mine.Get("total.requests").Int() != 6 {
				t.Errorf("developer A usage: %s", mine.Raw)
			}
			if status, _ := adminCall(t, gw.URL, masterKey, "GET", "/admin/v1/usage?group_by=colour", ""); status != 400 {
				t.Errorf("bad group_by: %d", status)
			}
			if status, _ := adminCall(t, gw.URL, "", "GET", "/admin/v1/usage", ""); status != 401 {
				t.Errorf("no key: %d", status)
			}
			if strings.Contains(all.Raw, devA) || strings.Contains(all.Raw, "log me") {
				t.Error("the log holds a key secret or the prompt")
			}
		})
	}
}
