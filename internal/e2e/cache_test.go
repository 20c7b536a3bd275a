package e2e

import (
	"context"
	"math"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/anthropics/anthropic-sdk-go/v2"
	aoption "github.com/anthropics/anthropic-sdk-go/v2/option"
	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
	"github.com/tidwall/gjson"

	"github.com/switchboard-gw/switchboard/internal/config"
	"github.com/switchboard-gw/switchboard/internal/gateway"
	"github.com/switchboard-gw/switchboard/internal/mock"
	"github.com/switchboard-gw/switchboard/internal/spectest"
	"github.com/switchboard-gw/switchboard/internal/store"
)

const cacheConfig = `
master_key: ${MASTER}
cache: {enabled: true, ttl: 1h}
providers:
  - {name: up, type: openai, base_url: "${UP}/v1", api_key: k}
  - {name: slow, type: openai, base_url: "${SLOW}/v1", api_key: k}
models:
  - {name: gpt, deployments: [{provider: up, model: gpt-4o-mini}]}
  - {name: brief, cache: {enabled: true, ttl: 1s}, deployments: [{provider: up, model: gpt-4o-mini}]}
  - {name: uncached, cache: {enabled: false}, deployments: [{provider: up, model: gpt-4o-mini}]}
  - {name: slowgpt, deployments: [{provider: slow, model: gpt-4o-mini}]}
`

// The exact cache: equal requests (in any JSON form) hit, different ones
// miss; tenants are isolated; streams are replayed as proper streams and
// streamed answers are cached once complete; cache-control is honoured;
// TTLs expire; concurrent identical misses make one upstream call; hits
// cost nothing, say what they saved, and count against rate limits.
func TestExactCache(t *testing.T) {
	up, upURL := startMock(t, mock.Options{})
	slow, slowURL := startMock(t, mock.Options{Latency: 300 * time.Millisecond})
	gw := gatewayOver(t, cacheConfig, map[string]string{"UP": upURL, "SLOW": slowURL})
	k1 := newKey(t, gw.URL, `{"name":"one"}`)
	k2 := newKey(t, gw.URL, `{"name":"two"}`)
	send := func(key, body string, header ...string) (*http.Response, []byte) {
		t.Helper()
		return post(t, gw.URL, "/v1/chat/completions", body, append([]string{"Authorization", "Bearer " + key}, header...)...)
	}
	calls := func() int64 { return up.Requests() }
	const q = `{"model":"gpt","temperature":0,"messages":[{"role":"user","content":"What is a cache?"}],"max_tokens":64}`
	const qAgain = `{ "max_tokens": 64.0, "messages": [ {"content": "What is a cache?", "role": "user"} ], "temperature": 0, "model": "gpt", "user": "someone" }`
	expect := func(what string, resp *http.Response, result string, upstream int64) {
		t.Helper()
		if resp.StatusCode != 200 || resp.Header.Get("x-switchboard-cache") != result || calls() != upstream {
			t.Errorf("%s: status %d, cache %q (want %q), upstream calls %d (want %d)", what, resp.StatusCode, resp.Header.Get("x-switchboard-cache"), result, calls(), upstream)
		}
	}

	resp, first := send(k1, q, "x-request-id", "req-cache-first")
	expect("first", resp, "miss", 1)
	resp, again := send(k1, qAgain)
	expect("the same request written differently", resp, "hit", 1)
	spectest.Validate(t, spectest.ChatResponse, again)
	if gjson.GetBytes(again, "choices.0.message.content").String() != gjson.GetBytes(first, "choices.0.message.content").String() ||
		gjson.GetBytes(again, "usage.completion_tokens").Int() == 0 || resp.Header.Get("age") == "" || resp.Header.Get("x-switchboard-provider") != "up" {
		t.Errorf("hit body or headers: %s %v", again, resp.Header)
	}
	resp, _ = send(k2, q)
	expect("another key", resp, "miss", 2)
	resp, _ = send(k1, strings.Replace(q, "a cache", "a CACHE", 1))
	expect("another question", resp, "miss", 3)
	resp, _ = send(k1, strings.Replace(q, `"temperature":0,`, "", 1))
	expect("no temperature (answers may vary)", resp, "bypass", 4)
	resp, _ = send(k1, strings.Replace(q, `"gpt"`, `"uncached"`, 1))
	expect("a group with the cache off", resp, "bypass", 5)

	// A key that opted out is never served from the cache.
	optedOut := newKey(t, gw.URL, `{"name":"no cache","cache":false}`)
	for range 2 {
		resp, _ = send(optedOut, q)
		expect("a key that opted out", resp, "bypass", calls())
	}
	base := calls() - 5 // upstream calls so far beyond the five counted below

	// A stream served from the cache, read by the OpenAI SDK.
	client := openai.NewClient(option.WithBaseURL(gw.URL+"/v1"), option.WithAPIKey(k1), option.WithMaxRetries(0))
	params := openai.ChatCompletionNewParams{Model: "gpt", Temperature: openai.Float(0), MaxTokens: openai.Int(64),
		Messages:      []openai.ChatCompletionMessageParamUnion{openai.UserMessage("What is a cache?")},
		StreamOptions: openai.ChatCompletionStreamOptionsParam{IncludeUsage: openai.Bool(true)}}
	var httpResp *http.Response
	stream := client.Chat.Completions.NewStreaming(context.Background(), params, option.WithResponseInto(&httpResp))
	var text strings.Builder
	chunks, usage := 0, int64(0)
	for stream.Next() {
		c := stream.Current()
		spectest.Validate(t, spectest.ChatChunk, []byte(c.RawJSON()))
		chunks++
		if len(c.Choices) > 0 {
			text.WriteString(c.Choices[0].Delta.Content)
		}
		usage += c.Usage.CompletionTokens
	}
	if err := stream.Err(); err != nil {
		t.Fatal(err)
	}
	if httpResp.Header.Get("x-switchboard-cache") != "hit" || calls() != base+5 || text.String() != gjson.GetBytes(first, "choices.0.message.content").String() || usage == 0 || chunks < 3 {
		t.Errorf("stream replay: cache %q, calls %d, %d chunks, usage %d, text %q", httpResp.Header.Get("x-switchboard-cache"), calls(), chunks, usage, text.String())
	}

	// A streamed answer is cached once complete and serves JSON.
	streamed := strings.Replace(q, "a cache", "streaming", 1)
	resp, body := send(k1, strings.Replace(streamed, `"temperature":0`, `"temperature":0,"stream":true`, 1))
	if !strings.Contains(string(body), "[DONE]") {
		t.Fatalf("stream: %s", body)
	}
	expect("streamed miss", resp, "miss", base+6)
	resp, body = send(k1, streamed)
	expect("JSON after a streamed miss", resp, "hit", base+6)
	if !strings.Contains(gjson.GetBytes(body, "choices.0.message.content").String(), "streaming") || gjson.GetBytes(body, "choices.0.finish_reason").String() != "stop" {
		t.Errorf("assembled answer: %s", body)
	}

	// cache-control.
	resp, _ = send(k1, q, "cache-control", "no-cache")
	expect("no-cache", resp, "miss", base+7)
	noStore := strings.Replace(q, "a cache", "not kept", 1)
	resp, _ = send(k1, noStore, "cache-control", "no-store")
	expect("no-store", resp, "miss", base+8)
	resp, _ = send(k1, noStore)
	expect("after no-store", resp, "miss", base+9)
	time.Sleep(1100 * time.Millisecond)
	resp, _ = send(k1, q, "cache-control", "max-age=1")
	expect("older than max-age", resp, "miss", base+10)
	resp, _ = send(k1, q, "cache-control", "max-age=60")
	expect("within max-age", resp, "hit", base+10)

	// TTL.
	brief := strings.Replace(q, `"gpt"`, `"brief"`, 1)
	send(k1, brief)
	resp, _ = send(k1, brief)
	expect("brief, at once", resp, "hit", base+11)
	time.Sleep(1200 * time.Millisecond)
	resp, _ = send(k1, brief)
	expect("brief, after its TTL", resp, "miss", base+12)

	// Single flight: 100 identical concurrent misses, one upstream call.
	var wg sync.WaitGroup
	results := make(chan string, 100)
	for range 100 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp, _ := send(k1, strings.Replace(q, `"gpt"`, `"slowgpt"`, 1))
			results <- resp.Header.Get("x-switchboard-cache")
		}()
	}
	wg.Wait()
	close(results)
	count := map[string]int{}
	for r := range results {
		count[r]++
	}
	if slow.Requests() != 1 || count["miss"] != 1 || count["hit"] != 99 {
		t.Errorf("100 concurrent identical requests: %d upstream calls, results %v", slow.Requests(), count)
	}

	// The log: a hit costs nothing and names what it saved and its source.
	logs := waitLogs(t, gw.URL, masterKey, 20)
	hit := logs.Get(`data.#(cache=="hit")`)
	if hit.Get("cost_usd").Float() != 0 || hit.Get("cost_saved_usd").Float() <= 0 || hit.Get("cache_source").String() == "" || hit.Get("attempts").Int() != 0 {
		t.Errorf("hit entry: %s", hit.Raw)
	}
	if _, e := adminCall(t, gw.URL, masterKey, "GET", "/admin/v1/logs?cache=hit&limit=1000", ""); e.Get(`data.#(cache_source=="req-cache-first")`).Raw == "" {
		t.Error("no hit names the first request as its source")
	}

	// Stats and purges through the admin API (admins only).
	status, stats := adminCall(t, gw.URL, masterKey, "GET", "/admin/v1/cache/stats", "")
	if status != 200 || stats.Get("backend").String() != "memory" || stats.Get("entries").Int() < 5 || stats.Get("bytes").Int() <= 0 ||
		stats.Get("hits").Int() < 100 || stats.Get("misses").Int() < 10 || stats.Get("scope").String() != "key" {
		t.Errorf("stats: %d %s", status, stats.Raw)
	}
	if status, _ := adminCall(t, gw.URL, k1, "GET", "/admin/v1/cache/stats", ""); status != 403 {
		t.Errorf("a developer read the cache stats: %d", status)
	}
	if status, _ := adminCall(t, gw.URL, masterKey, "DELETE", "/admin/v1/cache?older_than=soon", ""); status != 400 {
		t.Errorf("bad older_than: %d", status)
	}
	if status, out := adminCall(t, gw.URL, masterKey, "DELETE", "/admin/v1/cache?model=slowgpt", ""); status != 200 || out.Get("purged").Int() != 1 {
		t.Errorf("purge slowgpt: %d %s", status, out.Raw)
	}
	resp, _ = send(k1, qAgain)
	expect("after purging another group", resp, "hit", base+12)
	if status, out := adminCall(t, gw.URL, masterKey, "DELETE", "/admin/v1/cache?scope=key:nobody", ""); status != 200 || out.Get("purged").Int() != 0 {
		t.Errorf("purge of an empty scope: %d %s", status, out.Raw)
	}
	if status, out := adminCall(t, gw.URL, masterKey, "DELETE", "/admin/v1/cache", ""); status != 200 || out.Get("purged").Int() < 4 {
		t.Errorf("purge all: %d %s", status, out.Raw)
	}
	resp, _ = send(k1, qAgain)
	expect("after purging everything", resp, "miss", base+13)
	if _, audit := adminCall(t, gw.URL, masterKey, "GET", "/admin/v1/audit", ""); !audit.Get(`data.#(action=="cache.purge")`).Exists() {
		t.Error("purges are not audited")
	}

	// Hits count against rate limits, not budgets.
	_, limitedKey := adminCall(t, gw.URL, masterKey, "POST", "/admin/v1/keys", `{"name":"limited","rpm":2,"max_budget_usd":1}`)
	limited, limitedID := limitedKey.Get("key").String(), limitedKey.Get("id").String()
	mine := strings.Replace(q, "a cache", "a limit", 1)
	for i, want := range []int{200, 200, 429} {
		resp, body := send(limited, mine)
		if resp.StatusCode != want {
			t.Errorf("limited key, request %d: %d %s", i+1, resp.StatusCode, body)
		}
	}
	_, standing := adminCall(t, gw.URL, masterKey, "GET", "/admin/v1/budgets/key:"+limitedID, "")
	cost := 0.0
	for _, r := range gw.Records() {
		if r.KeyID == limitedID {
			cost += r.CostUSD
		}
	}
	if spent := standing.Get("spent_usd").Float(); cost <= 0 || math.Abs(spent-cost) > 1e-12 || standing.Get("reserved_usd").Float() != 0 {
		t.Errorf("budget spent %v, the one miss cost %v: %s", spent, cost, standing.Raw)
	}
}

// With Redis configured, replicas share the cache: a miss on one is a hit
// on the other, JSON or stream. A team scope shares entries between the
// team's keys, never with another team's.
func TestSharedCache(t *testing.T) {
	if !redisReachable(t) {
		t.Skip("Redis not reachable: the shared cache is tested only with it")
	}
	up, upURL := startMock(t, mock.Options{})
	cfg := strings.Replace(cacheConfig, "cache: {enabled: true, ttl: 1h}", "cache: {enabled: true, ttl: 1h, scope: team}\nredis: redis://127.0.0.1:6379/0\n"+
		"database: sqlite://"+filepath.Join(t.TempDir(), "shared.db"), 1)
	one := gatewayOver(t, cfg, map[string]string{"UP": upURL, "SLOW": upURL})
	two := gatewayOver(t, cfg, map[string]string{"UP": upURL, "SLOW": upURL})
	_, teamA := adminCall(t, one.URL, masterKey, "POST", "/admin/v1/teams", `{"name":"cache-a"}`)
	_, teamB := adminCall(t, one.URL, masterKey, "POST", "/admin/v1/teams", `{"name":"cache-b"}`)
	a1 := newKey(t, one.URL, `{"name":"a1","team_id":"`+teamA.Get("id").String()+`"}`)
	a2 := newKey(t, one.URL, `{"name":"a2","team_id":"`+teamA.Get("id").String()+`"}`)
	b1 := newKey(t, one.URL, `{"name":"b1","team_id":"`+teamB.Get("id").String()+`"}`)
	// Both replicas use one database and one Redis; a unique question keeps
	// runs apart.
	q := `{"model":"gpt","temperature":0,"messages":[{"role":"user","content":"shared ` + time.Now().Format(time.RFC3339Nano) + `"}]}`
	ask := func(gw *gatewayUnderTest, key, body string) (string, []byte) {
		t.Helper()
		resp, out := post(t, gw.URL, "/v1/chat/completions", body, "Authorization", "Bearer "+key)
		if resp.StatusCode != 200 {
			t.Fatalf("%d %s", resp.StatusCode, out)
		}
		return resp.Header.Get("x-switchboard-cache"), out
	}
	if got, _ := ask(one, a1, q); got != "miss" {
		t.Errorf("first on one: %s", got)
	}
	got, body := ask(two, a1, q)
	if got != "hit" || up.Requests() != 1 || !strings.Contains(string(body), "shared") {
		t.Errorf("same key on the other replica: %s, %d upstream calls", got, up.Requests())
	}
	if got, _ := ask(two, a2, q); got != "hit" {
		t.Errorf("a team-mate's key on the other replica: %s", got)
	}
	if got, body := ask(two, a2, strings.Replace(q, `"temperature":0`, `"temperature":0,"stream":true`, 1)); got != "hit" || !strings.Contains(string(body), "data: [DONE]") {
		t.Errorf("stream from the shared entry: %s %s", got, body)
	}
	if got, _ := ask(one, b1, q); got != "miss" || up.Requests() != 2 {
		t.Errorf("another team: %s, %d upstream calls", got, up.Requests())
	}
	_, stats := adminCall(t, two.URL, masterKey, "GET", "/admin/v1/cache/stats", "")
	if stats.Get("backend").String() != "redis" || stats.Get("entries").Int() < 2 {
		t.Errorf("redis stats: %s", stats.Raw)
	}
	if _, out := adminCall(t, one.URL, masterKey, "DELETE", "/admin/v1/cache?scope=team:"+teamA.Get("id").String(), ""); out.Get("purged").Int() != 1 {
		t.Errorf("purge team A: %s", out.Raw)
	}
	if got, _ := ask(two, a1, q); got != "miss" {
		t.Errorf("after the purge: %s", got)
	}
}

// An Anthropic client gets its hits in Anthropic's format — JSON and a
// replayed event stream, tool calls included — read by the Anthropic SDK;
// an OpenAI client asking the same never gets the Anthropic entry.
func TestCacheForAnthropicClients(t *testing.T) {
	up, upURL := startMock(t, mock.Options{})
	gw := gatewayOver(t, cacheConfig, map[string]string{"UP": upURL, "SLOW": upURL})
	client := anthropicSDK(gw.URL)
	ctx := context.Background()
	for _, tools := range []bool{false, true} {
		params := anthropic.MessageNewParams{Model: "gpt", MaxTokens: 200,
			Messages: []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock("Weather in Oslo?"))}}
		if tools {
			params.Tools = []anthropic.ToolUnionParam{cityTool}
		}
		before := up.Requests()
		var first *http.Response
		zero := aoption.WithJSONSet("temperature", 0) // this SDK version has no field for it
		miss, err := client.Messages.New(ctx, params, zero, aoption.WithResponseInto(&first))
		if err != nil {
			t.Fatal(err)
		}
		var second *http.Response
		hit, err := client.Messages.New(ctx, params, zero, aoption.WithResponseInto(&second))
		if err != nil {
			t.Fatal(err)
		}
		if first.Header.Get("x-switchboard-cache") != "miss" || second.Header.Get("x-switchboard-cache") != "hit" || up.Requests() != before+1 {
			t.Errorf("tools %v: %s then %s, %d upstream calls", tools, first.Header.Get("x-switchboard-cache"), second.Header.Get("x-switchboard-cache"), up.Requests()-before)
		}
		if len(hit.Content) != len(miss.Content) || hit.StopReason != miss.StopReason || hit.Usage.OutputTokens != miss.Usage.OutputTokens ||
			(tools && (hit.Content[0].Type != "tool_use" || hit.Content[0].Name != "get_weather" || string(hit.Content[0].Input) != string(miss.Content[0].Input))) {
			t.Errorf("tools %v: hit %+v, miss %+v", tools, hit, miss)
		}
		var streamed *http.Response
		stream := client.Messages.NewStreaming(ctx, params, zero, aoption.WithResponseInto(&streamed))
		acc := anthropic.Message{}
		for stream.Next() {
			if err := acc.Accumulate(stream.Current()); err != nil {
				t.Fatal(err)
			}
		}
		if err := stream.Err(); err != nil {
			t.Fatal(err)
		}
		if streamed.Header.Get("x-switchboard-cache") != "hit" || len(acc.Content) != len(miss.Content) || acc.StopReason != miss.StopReason ||
			(tools && string(acc.Content[0].Input) != string(miss.Content[0].Input)) || (!tools && acc.Content[0].Text != miss.Content[0].Text) {
			t.Errorf("tools %v: replayed stream %+v", tools, acc)
		}
	}
	// The same question in OpenAI's format is another entry.
	resp, _ := post(t, gw.URL, "/v1/chat/completions", `{"model":"gpt","temperature":0,"max_tokens":200,"messages":[{"role":"user","content":"Weather in Oslo?"}]}`)
	if resp.Header.Get("x-switchboard-cache") != "miss" {
		t.Errorf("OpenAI client after Anthropic ones: %s", resp.Header.Get("x-switchboard-cache"))
	}
}

const semanticConfig = `
master_key: ${MASTER}
cache:
  enabled: true
  semantic: {enabled: true, threshold: ${THRESHOLD}, embedding_model: embed}
providers:
  - {name: up, type: openai, base_url: "${UP}/v1", api_key: k}
models:
  - {name: gpt, deployments: [{provider: up, model: gpt-4o-mini}]}
  - {name: embed, deployments: [{provider: up, model: text-embedding-3-small}]}
`

// semanticStore is the store replicas share: the real PostgreSQL when
// reachable (the semantic index is persisted and followed there), else a
// SQLite file.
func semanticStore(t *testing.T) *store.Store {
	t.Helper()
	if st := store.PostgresForTest(t); st != nil {
		return st
	}
	st, err := store.Open(context.Background(), "sqlite://"+filepath.Join(t.TempDir(), "sem.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// semanticGateway starts a gateway with the semantic cache on st.
func semanticGateway(t *testing.T, st *store.Store, up, threshold string) *gatewayUnderTest {
	t.Helper()
	env := map[string]string{"UP": up, "MASTER": masterKey}
	text := strings.Replace(semanticConfig, "${THRESHOLD}", threshold, 1)
	cfg, err := config.Parse("semantic.yaml", []byte(text), func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	gw, err := gateway.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return startWithStore(t, cfg, gw, st, true)
}

// The semantic cache: a near-duplicate question is a semantic hit (with
// its similarity, and the source request in the log); a different one, a
// different system prompt, a longer conversation or another tenant miss;
// the threshold decides; an entry written through one replica is a hit on
// another, and on one started later.
func TestSemanticCache(t *testing.T) {
	up, upURL := startMock(t, mock.Options{})
	st := semanticStore(t)
	one, two := semanticGateway(t, st, upURL, "0.9"), semanticGateway(t, st, upURL, "0.9")
	_, created := adminCall(t, one.URL, masterKey, "POST", "/admin/v1/keys", `{"name":"sem1"}`)
	k1, k1ID := created.Get("key").String(), created.Get("id").String()
	k2 := newKey(t, one.URL, `{"name":"sem2"}`)
	ask := func(gw *gatewayUnderTest, key, id string, messages string) (*http.Response, []byte) {
		t.Helper()
		resp, body := post(t, gw.URL, "/v1/chat/completions", `{"model":"gpt","temperature":0,"messages":`+messages+`}`, "Authorization", "Bearer "+key, "x-request-id", id)
		if resp.StatusCode != 200 {
			t.Fatalf("%s: %d %s", id, resp.StatusCode, body)
		}
		return resp, body
	}
	user := func(q string) string { return `[{"role":"user","content":"` + q + `"}]` }
	chats := func() int64 { return up.Requests() } // embeddings count too: compare answers instead
	resp, first := ask(one, k1, "req-sem-first", user("What is the capital of France?"))
	if resp.Header.Get("x-switchboard-cache") != "miss" {
		t.Fatalf("first: %s", resp.Header.Get("x-switchboard-cache"))
	}
	before := chats()
	resp, near := ask(one, k1, "req-sem-near", user("What is the capital city of France?"))
	sim, _ := strconv.ParseFloat(resp.Header.Get("x-switchboard-cache-similarity"), 64)
	if resp.Header.Get("x-switchboard-cache") != "semantic-hit" || sim < 0.9 || sim >= 1 ||
		gjson.GetBytes(near, "choices.0.message.content").String() != gjson.GetBytes(first, "choices.0.message.content").String() || chats() != before+1 {
		t.Errorf("near duplicate: %s (similarity %v), %d upstream calls (the embedding only)", resp.Header.Get("x-switchboard-cache"), sim, chats()-before)
	}
	for name, c := range map[string]struct{ key, messages string }{
		"another question": {k1, user("How do I bake sourdough bread at home?")},
		"another system":   {k1, `[{"role":"system","content":"Answer in French."},{"role":"user","content":"What is the capital city of France?"}]`},
		"two user turns":   {k1, `[{"role":"user","content":"Hi"},{"role":"assistant","content":"Hello"},{"role":"user","content":"What is the capital city of France?"}]`},
		"another key":      {k2, user("What is the capital city of France?")},
	} {
		if resp, _ := ask(one, c.key, "req-sem-"+strings.ReplaceAll(name, " ", "-"), c.messages); resp.Header.Get("x-switchboard-cache") != "miss" {
			t.Errorf("%s: %s", name, resp.Header.Get("x-switchboard-cache"))
		}
	}
	// The other replica follows through the database.
	// It polls every 100 ms here (every 2 s in serve); no-store keeps the
	// misses while it catches up out of its exact cache.
	got := ""
	for deadline := time.Now().Add(10 * time.Second); got != "semantic-hit" && time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		resp, body := post(t, two.URL, "/v1/chat/completions", `{"model":"gpt","temperature":0,"messages":`+user("What is the capital city of France?")+`}`,
			"Authorization", "Bearer "+k1, "cache-control", "no-store")
		if resp.StatusCode != 200 {
			t.Fatalf("other replica: %d %s", resp.StatusCode, body)
		}
		got = resp.Header.Get("x-switchboard-cache")
	}
	if got != "semantic-hit" {
		t.Errorf("other replica: %s", got)
	}
	// A replica started later loads the index; a stricter threshold misses.
	later := semanticGateway(t, st, upURL, "0.99")
	if resp, _ := ask(later, k1, "req-sem-strict", user("What is the capital city of France?")); resp.Header.Get("x-switchboard-cache") != "miss" {
		t.Errorf("threshold 0.99: %s", resp.Header.Get("x-switchboard-cache"))
	}
	restarted := semanticGateway(t, st, upURL, "0.9")
	if resp, _ := ask(restarted, k1, "req-sem-restart", user("What is the capital city of France?")); resp.Header.Get("x-switchboard-cache") != "semantic-hit" {
		t.Errorf("after a restart: %s", resp.Header.Get("x-switchboard-cache"))
	}
	logs := waitLogs(t, one.URL, masterKey, 8)
	if e := logs.Get(`data.#(request_id=="req-sem-near")`); e.Get("cache").String() != "semantic-hit" || e.Get("cache_source").String() != "req-sem-first" || e.Get("cost_usd").Float() != 0 {
		t.Errorf("semantic hit in the log: %s", e.Raw)
	}
	if _, stats := adminCall(t, one.URL, masterKey, "GET", "/admin/v1/cache/stats", ""); stats.Get("semantic_entries").Int() < 4 {
		t.Errorf("stats: %s", stats.Raw)
	}
	if _, out := adminCall(t, one.URL, masterKey, "DELETE", "/admin/v1/cache?scope=key:"+k1ID, ""); out.Get("purged").Int() < 2 {
		t.Errorf("purge: %s", out.Raw)
	}
	if resp, _ := ask(one, k1, "req-sem-purged", user("What is the capital city of France?")); resp.Header.Get("x-switchboard-cache") != "miss" {
		t.Errorf("after the purge: %s", resp.Header.Get("x-switchboard-cache"))
	}
}
