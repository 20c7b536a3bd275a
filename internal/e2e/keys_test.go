package e2e

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
	"github.com/tidwall/gjson"

	"github.com/switchboard-gw/switchboard/internal/config"
	"github.com/switchboard-gw/switchboard/internal/gateway"
	"github.com/switchboard-gw/switchboard/internal/mock"
	"github.com/switchboard-gw/switchboard/internal/store"
)

// adminCall sends an admin API request with a key.
func adminCall(t *testing.T, url, key, method, path, body string) (int, gjson.Result) {
	t.Helper()
	req, _ := http.NewRequest(method, url+path, strings.NewReader(body))
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, gjson.ParseBytes(b)
}

// governedGateways starts the gateway on SQLite and on the real PostgreSQL.
func governedGateways(t *testing.T, up string) map[string]*gatewayUnderTest {
	t.Helper()
	out := map[string]*gatewayUnderTest{}
	env := map[string]string{"UPSTREAM": up, "MASTER": masterKey}
	parse := func() *config.Config {
		cfg, err := config.Parse("gov.yaml", []byte(mockConfig), func(k string) string { return env[k] })
		if err != nil {
			t.Fatal(err)
		}
		return cfg
	}
	out["sqlite"] = startWithConfig(t, parse(), true)
	if pg := store.PostgresForTest(t); pg != nil {
		cfg := parse()
		gw, err := gateway.New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		out["postgres"] = startWithStore(t, cfg, gw, pg, true)
	}
	return out
}

// Virtual keys end to end: created once with the secret shown once, used
// with the OpenAI SDK within their model list, refused outside it,
// revoked and expired keys refused, listed with keyset pagination.
func TestVirtualKeys(t *testing.T) {
	_, up := startMock(t, mock.Options{})
	for engine, gw := range governedGateways(t, up) {
		t.Run(engine, func(t *testing.T) {
			status, k := adminCall(t, gw.URL, masterKey, "POST", "/admin/v1/keys", `{"name":"ci","models":["gpt","embed"],"metadata":{"owner":"ci"}}`)
			secret := k.Get("key").String()
			if status != 201 || !strings.HasPrefix(secret, "sk-sb-") || k.Get("id").String() == "" || !strings.HasPrefix(secret, k.Get("prefix").String()) {
				t.Fatalf("%d %s", status, k.Raw)
			}
			client := openai.NewClient(option.WithBaseURL(gw.URL+"/v1"), option.WithAPIKey(secret), option.WithMaxRetries(0))
			ctx := context.Background()
			if _, err := client.Chat.Completions.New(ctx, openai.ChatCompletionNewParams{Model: "gpt", Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("hi")}}); err != nil {
				t.Fatalf("allowed model: %v", err)
			}
			_, err := client.Chat.Completions.New(ctx, openai.ChatCompletionNewParams{Model: "claude", Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("hi")}})
			var apiErr *openai.Error
			if !errors.As(err, &apiErr) || apiErr.StatusCode != 403 || apiErr.Code != "model_not_allowed" {
				t.Errorf("model outside the list: %v", err)
			}
			page, err := client.Models.List(ctx)
			if err != nil || len(page.Data) != 2 {
				t.Errorf("models visible to the key: %+v %v", page, err)
			}
			// The key may not use the admin API (no admin scope).
			if status, _ := adminCall(t, gw.URL, secret, "GET", "/admin/v1/keys", ""); status != 403 {
				t.Errorf("inference key on the admin API: %d", status)
			}
			// Revoked: refused at once on this replica.
			if status, _ := adminCall(t, gw.URL, masterKey, "DELETE", "/admin/v1/keys/"+k.Get("id").String(), ""); status != 200 {
				t.Fatal(status)
			}
			_, err = client.Chat.Completions.New(ctx, openai.ChatCompletionNewParams{Model: "gpt", Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("hi")}})
			if !errors.As(err, &apiErr) || apiErr.StatusCode != 401 || apiErr.Code != "key_revoked" {
				t.Errorf("revoked key: %v", err)
			}
			// Expired.
			exp := time.Now().Add(1200 * time.Millisecond).UTC().Format(time.RFC3339Nano)
			_, k2 := adminCall(t, gw.URL, masterKey, "POST", "/admin/v1/keys", `{"name":"short","expires_at":"`+exp+`"}`)
			time.Sleep(1300 * time.Millisecond)
			resp, out := post(t, gw.URL, "/v1/chat/completions", `{"model":"gpt","messages":[{"role":"user","content":"hi"}]}`, "Authorization", "Bearer "+k2.Get("key").String())
			if resp.StatusCode != 401 || gjson.GetBytes(out, "error.code").String() != "key_expired" {
				t.Errorf("expired key: %d %s", resp.StatusCode, out)
			}
			// A made-up key of the right shape.
			resp, _ = post(t, gw.URL, "/v1/chat/completions", `{"model":"gpt","messages":[{"role":"user","content":"hi"}]}`, "Authorization", "Bearer sk-sb-doesnotexist")
			if resp.StatusCode != 401 {
				t.Errorf("unknown key: %d", resp.StatusCode)
			}
			// Keyset pagination over HTTP.
			for range 5 {
				adminCall(t, gw.URL, masterKey, "POST", "/admin/v1/keys", `{"name":"bulk"}`)
			}
			seen, after := 0, ""
			for {
				status, page := adminCall(t, gw.URL, masterKey, "GET", "/admin/v1/keys?limit=3&after="+after, "")
				if status != 200 {
					t.Fatal(status)
				}
				seen += len(page.Get("data").Array())
				if strings.Contains(page.Raw, secret) || page.Get("data.#.key").String() != "[]" {
					t.Error("a listing shows a secret")
				}
				if page.Get("next_after").Type == gjson.Null {
					break
				}
				after = page.Get("next_after").String()
			}
			if seen != 7 {
				t.Errorf("paged through %d keys, want 7", seen)
			}
			status, audit := adminCall(t, gw.URL, masterKey, "GET", "/admin/v1/audit", "")
			if status != 200 || len(audit.Get("data").Array()) != 8 || strings.Contains(audit.Raw, secret) || strings.Contains(audit.Raw, "key_hash") {
				t.Errorf("audit: %d %d entries", status, len(audit.Get("data").Array()))
			}
		})
	}
}

// The permission matrix, route × role, deny by default: each role's key
// gets exactly what the matrix grants.
func TestAdminRBAC(t *testing.T) {
	_, up := startMock(t, mock.Options{})
	gw := governedGateways(t, up)["sqlite"]
	db := gw.store.DB()
	for _, team := range []string{"team_a", "team_b"} {
		if _, err := db.Exec(`INSERT INTO teams (id, name, created_at) VALUES (?, ?, 0)`, team, team); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := db.Exec(`INSERT INTO users (id, email, role, team_id, created_at) VALUES ('user_dev', 'dev@example.com', 'developer', 'team_a', 0)`); err != nil {
		t.Fatal(err)
	}
	keyFor := func(role, team, user string) (secret, id string) {
		body := `{"name":"` + role + `","role":"` + role + `","scopes":["inference","admin:read","admin:write"]`
		if team != "" {
			body += `,"team_id":"` + team + `"`
		}
		if user != "" {
			body += `,"user_id":"` + user + `"`
		}
		status, k := adminCall(t, gw.URL, masterKey, "POST", "/admin/v1/keys", body+"}")
		if status != 201 {
			t.Fatalf("%s: %d %s", role, status, k.Raw)
		}
		return k.Get("key").String(), k.Get("id").String()
	}
	adminKey, _ := keyFor("admin", "", "")
	teamAdminKey, _ := keyFor("team_admin", "team_a", "")
	devKey, _ := keyFor("developer", "team_a", "user_dev")
	viewerKey, _ := keyFor("viewer", "team_a", "")
	_, teamBKeyID := keyFor("developer", "team_b", "")
	_, teamAKeyID := keyFor("developer", "team_a", "")
	status, noScope := adminCall(t, gw.URL, masterKey, "POST", "/admin/v1/keys", `{"name":"plain","role":"admin"}`)
	if status != 201 {
		t.Fatal(status)
	}
	type call struct{ method, path, body string }
	calls := map[string]call{
		"create own team": {"POST", "/admin/v1/keys", `{"name":"x","team_id":"team_a"}`},
		"create team b":   {"POST", "/admin/v1/keys", `{"name":"x","team_id":"team_b"}`},
		"create admin":    {"POST", "/admin/v1/keys", `{"name":"x","role":"admin","team_id":"team_a"}`},
		"list":            {"GET", "/admin/v1/keys", ""},
		"read team a key": {"GET", "/admin/v1/keys/" + teamAKeyID, ""},
		"read team b key": {"GET", "/admin/v1/keys/" + teamBKeyID, ""},
		"revoke team b":   {"DELETE", "/admin/v1/keys/" + teamBKeyID, ""},
		"audit":           {"GET", "/admin/v1/audit", ""},
	}
	// Expected status per (role, call); revoking team b's key is checked
	// last for the admin, who may.
	want := map[string]map[string]int{
		"admin":      {"create own team": 201, "create team b": 201, "create admin": 201, "list": 200, "read team a key": 200, "read team b key": 200, "audit": 200},
		"team_admin": {"create own team": 201, "create team b": 403, "create admin": 403, "list": 200, "read team a key": 200, "read team b key": 404, "revoke team b": 404, "audit": 403},
		"developer":  {"create own team": 201, "create team b": 201, "create admin": 403, "list": 200, "read team a key": 404, "read team b key": 404, "revoke team b": 404, "audit": 403},
		"viewer":     {"create own team": 403, "create team b": 403, "create admin": 403, "list": 200, "read team a key": 200, "read team b key": 404, "revoke team b": 403, "audit": 403},
		"no scope":   {"create own team": 403, "list": 403, "audit": 403, "revoke team b": 403},
		"no key":     {"create own team": 401, "list": 401, "audit": 401, "revoke team b": 401},
	}
	keys := map[string]string{"admin": adminKey, "team_admin": teamAdminKey, "developer": devKey, "viewer": viewerKey, "no scope": noScope.Get("key").String(), "no key": ""}
	for role, cases := range want {
		for name, code := range cases {
			c := calls[name]
			if status, out := adminCall(t, gw.URL, keys[role], c.method, c.path, c.body); status != code {
				t.Errorf("%s / %s: %d, want %d (%s)", role, name, status, code, out.Get("error.message").String())
			}
		}
	}
	// Developers' created keys are bound to themselves, whatever they ask.
	_, k := adminCall(t, gw.URL, devKey, "POST", "/admin/v1/keys", `{"name":"mine","team_id":"team_b"}`)
	if k.Get("team_id").String() != "team_a" || k.Get("user_id").String() != "user_dev" {
		t.Errorf("developer key = %s", k.Raw)
	}
	if status, _ := adminCall(t, gw.URL, adminKey, "DELETE", "/admin/v1/keys/"+teamBKeyID, ""); status != 200 {
		t.Errorf("admin revoke: %d", status)
	}
}

// Bad input is refused with a clear 4xx and writes nothing.
func TestAdminBadInput(t *testing.T) {
	_, up := startMock(t, mock.Options{})
	gw := governedGateways(t, up)["sqlite"]
	for _, body := range []string{
		`{"name":""}`,
		`{"name":"x","role":"superuser"}`,
		`{"name":"x","max_budget_usd":-1}`,
		`{"name":"x","budget_period":"hourly"}`,
		`{"name":"x","rpm":-5}`,
		`{"name":"x","tpm":1000000000000}`,
		`{"name":"x","model_limits":{"gpt":{"rpm":3000000000}}}`,
		`{"name":"x","expires_at":"2001-01-01T00:00:00Z"}`,
		`{"name":"x","team_id":"no_such_team"}`,
		`{"name":"x","scopes":["root"]}`,
		`{"name":"x","surprise":true}`,
		`{"name":`,
	} {
		status, out := adminCall(t, gw.URL, masterKey, "POST", "/admin/v1/keys", body)
		if status != 400 || out.Get("error.message").String() == "" {
			t.Errorf("%s: %d %s", body, status, out.Raw)
		}
	}
	if status, out := adminCall(t, gw.URL, masterKey, "GET", "/admin/v1/audit", ""); status != 200 || len(out.Get("data").Array()) != 0 {
		t.Errorf("bad input was written: %s", out.Raw)
	}
	if status, _ := adminCall(t, gw.URL, masterKey, "GET", "/admin/v1/keys?limit=0", ""); status != 400 {
		t.Errorf("limit=0: %d", status)
	}
	if status, _ := adminCall(t, gw.URL, masterKey, "DELETE", "/admin/v1/keys/key_nope", ""); status != 404 {
		t.Errorf("unknown key: %d", status)
	}
}

// At rest, the database holds no secret: scan every file of the SQLite
// database for the keys that were issued and used.
func TestNoSecretsAtRest(t *testing.T) {
	_, up := startMock(t, mock.Options{})
	dir := t.TempDir()
	env := map[string]string{"UPSTREAM": up, "MASTER": masterKey}
	cfg, _ := config.Parse("rest.yaml", []byte(mockConfig+"database: sqlite://"+filepath.Join(dir, "sb.db")+"\n"), func(k string) string { return env[k] })
	gw := startWithConfig(t, cfg, false)
	var secrets []string
	for range 3 {
		status, k := adminCall(t, gw.URL, masterKey, "POST", "/admin/v1/keys", `{"name":"k"}`)
		if status != 201 {
			t.Fatalf("%d %s", status, k.Raw)
		}
		secrets = append(secrets, k.Get("key").String())
		post(t, gw.URL, "/v1/chat/completions", `{"model":"gpt","messages":[{"role":"user","content":"hi"}]}`, "Authorization", "Bearer "+k.Get("key").String())
	}
	files, _ := filepath.Glob(filepath.Join(dir, "*"))
	if len(files) == 0 {
		t.Fatal("no database files")
	}
	for _, f := range files {
		b, _ := os.ReadFile(f)
		for _, s := range append(secrets, masterKey) {
			if bytes.Contains(b, []byte(s)) || bytes.Contains(b, []byte(s[max(0, len(s)-20):])) {
				t.Errorf("%s contains a secret", filepath.Base(f))
			}
		}
	}
}

// The OpenAPI document describes exactly the admin routes served.
func TestAdminOpenAPI(t *testing.T) {
	_, up := startMock(t, mock.Options{})
	gw := governedGateways(t, up)["sqlite"]
	resp, err := http.Get(gw.URL + "/admin/v1/openapi.json")
	if err != nil || resp.StatusCode != 200 {
		t.Fatal(err)
	}
	doc, _ := io.ReadAll(resp.Body)
	// A valid OpenAPI 3 document, every $ref resolving.
	spec, err := openapi3.NewLoader().LoadFromData(doc)
	if err != nil {
		t.Fatal(err)
	}
	if err := spec.Validate(context.Background()); err != nil {
		t.Errorf("invalid OpenAPI document: %v", err)
	}
	paths := gjson.GetBytes(doc, "paths")
	documented := map[string]bool{}
	paths.ForEach(func(p, ops gjson.Result) bool {
		ops.ForEach(func(m, _ gjson.Result) bool {
			if m.String() != "parameters" {
				documented[strings.ToUpper(m.String())+" "+p.String()] = true
			}
			return true
		})
		return true
	})
	served := []string{"POST /admin/v1/keys", "GET /admin/v1/keys", "GET /admin/v1/keys/{id}", "DELETE /admin/v1/keys/{id}", "GET /admin/v1/audit", "GET /admin/v1/openapi.json",
		"POST /admin/v1/teams", "GET /admin/v1/teams", "GET /admin/v1/teams/{id}", "PATCH /admin/v1/teams/{id}", "DELETE /admin/v1/teams/{id}",
		"POST /admin/v1/users", "GET /admin/v1/users", "GET /admin/v1/users/{id}", "PATCH /admin/v1/users/{id}", "DELETE /admin/v1/users/{id}",
		"GET /admin/v1/logs", "GET /admin/v1/logs/{request_id}", "GET /admin/v1/usage",
		"POST /admin/v1/organizations", "GET /admin/v1/organizations", "GET /admin/v1/organizations/{id}", "PATCH /admin/v1/organizations/{id}", "DELETE /admin/v1/organizations/{id}",
		"GET /admin/v1/credentials", "PUT /admin/v1/credentials/{name}", "DELETE /admin/v1/credentials/{name}",
		"GET /admin/v1/budgets/{subject}",
		"GET /admin/v1/models", "PUT /admin/v1/models/{name}", "DELETE /admin/v1/models/{name}",
		"GET /admin/v1/providers", "PUT /admin/v1/providers/{name}", "DELETE /admin/v1/providers/{name}",
		"GET /admin/v1/cache/stats", "DELETE /admin/v1/cache"}
	for _, s := range served {
		if !documented[s] {
			t.Errorf("%s is served but not documented", s)
		}
		delete(documented, s)
	}
	for d := range documented {
		t.Errorf("%s is documented but not served", d)
	}
	// Every served route answers (not the catch-all 404).
	for _, s := range served {
		method, path, _ := strings.Cut(s, " ")
		named := strings.Contains(path, "{")
		path = strings.NewReplacer("{id}", "key_none", "{name}", "none", "{subject}", "key:none").Replace(path)
		status, _ := adminCall(t, gw.URL, masterKey, method, path, `{"name":"x"}`)
		if status == 404 && !named {
			t.Errorf("%s: 404", s)
		}
	}
}

// Teams and users: create, read, rename, delete; duplicates and in-use
// deletes refused; team admins confined to their team.
func TestTeamsAndUsers(t *testing.T) {
	_, up := startMock(t, mock.Options{})
	for engine, gw := range governedGateways(t, up) {
		t.Run(engine, func(t *testing.T) {
			status, team := adminCall(t, gw.URL, masterKey, "POST", "/admin/v1/teams", `{"name":"search"}`)
			if status != 201 {
				t.Fatalf("%d %s", status, team.Raw)
			}
			tid := team.Get("id").String()
			if status, _ := adminCall(t, gw.URL, masterKey, "POST", "/admin/v1/teams", `{"name":"search"}`); status != 409 {
				t.Errorf("duplicate team: %d", status)
			}
			status, other := adminCall(t, gw.URL, masterKey, "POST", "/admin/v1/teams", `{"name":"ads"}`)
			if status != 201 {
				t.Fatal(status)
			}
			status, u := adminCall(t, gw.URL, masterKey, "POST", "/admin/v1/users", `{"email":"Lead@Example.com","name":"Lead","role":"team_admin","team_id":"`+tid+`"}`)
			if status != 201 || u.Get("email").String() != "lead@example.com" {
				t.Fatalf("%d %s", status, u.Raw)
			}
			for _, bad := range []string{`{"email":"not-an-email"}`, `{"email":"x@y.z","role":"god"}`, `{"email":"x@y.z","team_id":"team_none"}`} {
				if status, out := adminCall(t, gw.URL, masterKey, "POST", "/admin/v1/users", bad); status != 400 {
					t.Errorf("%s: %d %s", bad, status, out.Raw)
				}
			}
			if status, _ := adminCall(t, gw.URL, masterKey, "POST", "/admin/v1/users", `{"email":"lead@example.com"}`); status != 409 {
				t.Errorf("duplicate email: %d", status)
			}
			// A team admin's key manages their team only.
			_, k := adminCall(t, gw.URL, masterKey, "POST", "/admin/v1/keys", `{"name":"lead","role":"team_admin","team_id":"`+tid+`","user_id":"`+u.Get("id").String()+`","scopes":["admin:write"]}`)
			lead := k.Get("key").String()
			if status, out := adminCall(t, gw.URL, lead, "POST", "/admin/v1/users", `{"email":"dev@example.com"}`); status != 201 || out.Get("team_id").String() != tid {
				t.Errorf("team admin adds a member: %d %s", status, out.Raw)
			}
			if status, _ := adminCall(t, gw.URL, lead, "POST", "/admin/v1/users", `{"email":"x@example.com","team_id":"`+other.Get("id").String()+`"}`); status != 403 {
				t.Errorf("team admin adds to another team: %d", status)
			}
			if status, _ := adminCall(t, gw.URL, lead, "POST", "/admin/v1/users", `{"email":"boss@example.com","role":"admin"}`); status != 403 {
				t.Errorf("team admin makes an admin: %d", status)
			}
			if status, out := adminCall(t, gw.URL, lead, "GET", "/admin/v1/teams", ""); status != 200 || len(out.Get("data").Array()) != 1 {
				t.Errorf("team admin lists teams: %d %s", status, out.Raw)
			}
			if status, _ := adminCall(t, gw.URL, lead, "GET", "/admin/v1/teams/"+other.Get("id").String(), ""); status != 404 {
				t.Errorf("team admin reads another team: %d", status)
			}
			if status, _ := adminCall(t, gw.URL, lead, "POST", "/admin/v1/teams", `{"name":"mine"}`); status != 403 {
				t.Errorf("team admin creates a team: %d", status)
			}
			if status, out := adminCall(t, gw.URL, masterKey, "PATCH", "/admin/v1/teams/"+tid, `{"name":"search-infra"}`); status != 200 || out.Get("name").String() != "search-infra" {
				t.Errorf("rename: %d %s", status, out.Raw)
			}
			if status, _ := adminCall(t, gw.URL, masterKey, "DELETE", "/admin/v1/teams/"+tid, ""); status != 409 {
				t.Errorf("deleting a team in use: %d", status)
			}
			if status, _ := adminCall(t, gw.URL, masterKey, "DELETE", "/admin/v1/teams/"+other.Get("id").String(), ""); status != 204 {
				t.Errorf("deleting an empty team: %d", status)
			}
			if status, out := adminCall(t, gw.URL, masterKey, "GET", "/admin/v1/audit", ""); status != 200 || !strings.Contains(out.Raw, "team.delete") || !strings.Contains(out.Raw, "user.create") {
				t.Errorf("audit: %s", out.Raw)
			}
		})
	}
}
