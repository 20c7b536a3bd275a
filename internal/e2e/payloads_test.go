package e2e

import (
	"strings"
	"testing"

	"github.com/switchboard-gw/switchboard/internal/mock"
)

const payloadConfig = `
master_key: ${MASTER}
log:
  payloads:
    max_bytes: 400
    redact: [{pattern: 'ACME-\d{6}', replace: '[account]'}]
providers:
  - {name: up, type: openai, base_url: "${UP}/v1", api_key: k}
models:
  - {name: gpt, deployments: [{provider: up, model: gpt-4o-mini}]}
  - {name: gpt-logged, log_payloads: true, deployments: [{provider: up, model: gpt-4o-mini}]}
`

// Prompts and completions are stored only where asked — a model group, a
// key, a team — always redacted (built-in rules and the configured ones)
// before they reach the database, and capped.
func TestPayloadCapture(t *testing.T) {
	_, up := startMock(t, mock.Options{})
	gw := gatewayOver(t, payloadConfig, map[string]string{"UP": up})
	const secretText = "mail ann@example.com card 4111 1111 1111 1111 acct ACME-123456"
	chat := func(key, id, model string, stream bool, content string) {
		t.Helper()
		body := `{"model":"` + model + `","stream":` + map[bool]string{true: "true", false: "false"}[stream] + `,"messages":[{"role":"user","content":"` + content + `"}]}`
		resp, out := post(t, gw.URL, "/v1/chat/completions", body, "Authorization", "Bearer "+key, "x-request-id", id)
		if resp.StatusCode != 200 {
			t.Fatalf("%s: %d %s", id, resp.StatusCode, out)
		}
	}
	logging := newKey(t, gw.URL, `{"name":"logging","log_payloads":true}`)
	_, team := adminCall(t, gw.URL, masterKey, "POST", "/admin/v1/teams", `{"name":"audited","log_payloads":true}`)
	member := newKey(t, gw.URL, `{"name":"member","team_id":"`+team.Get("id").String()+`"}`)
	plain := newKey(t, gw.URL, `{"name":"plain"}`)

	chat(plain, "req-p-off", "gpt", false, secretText)
	chat(plain, "req-p-model", "gpt-logged", false, secretText)
	chat(plain, "req-p-stream", "gpt-logged", true, secretText)
	chat(logging, "req-p-key", "gpt", false, "hello from a logging key")
	chat(member, "req-p-team", "gpt", false, "hello from an audited team")
	chat(plain, "req-p-long", "gpt-logged", false, strings.Repeat("long ", 200))
	waitLogs(t, gw.URL, masterKey, 6)

	detail := func(id string) (req, resp string) {
		t.Helper()
		status, e := adminCall(t, gw.URL, masterKey, "GET", "/admin/v1/logs/"+id, "")
		if status != 200 {
			t.Fatalf("%s: %d", id, status)
		}
		return e.Get("request_body").String(), e.Get("response_body").String()
	}
	if req, resp := detail("req-p-off"); req != "" || resp != "" {
		t.Errorf("captured without being asked: %q %q", req, resp)
	}
	req, resp := detail("req-p-model")
	for _, want := range []string{"[REDACTED:email]", "[REDACTED:card]", "[account]", `"model":"gpt-logged"`} {
		if !strings.Contains(req, want) {
			t.Errorf("request body lacks %q: %s", want, req)
		}
	}
	if !strings.Contains(resp, "simulated reply") || !strings.Contains(resp, "[REDACTED:email]") || !strings.Contains(resp, `"choices"`) {
		t.Errorf("response body: %s", resp)
	}
	if _, resp := detail("req-p-stream"); !strings.HasPrefix(resp, "Hello from gpt-4o-mini!") || strings.Contains(resp, "ann@example.com") {
		t.Errorf("streamed answer: %q", resp)
	}
	if req, _ := detail("req-p-key"); !strings.Contains(req, "logging key") {
		t.Errorf("key capture: %q", req)
	}
	if req, _ := detail("req-p-team"); !strings.Contains(req, "audited team") {
		t.Errorf("team capture: %q", req)
	}
	if req, _ := detail("req-p-long"); !strings.HasSuffix(req, "…[truncated]") || len(req) > 400+len("…[truncated]") {
		t.Errorf("cap: %d bytes, ends %q", len(req), req[max(0, len(req)-20):])
	}
	// Lists leave payloads out; the database never held them in clear.
	if _, list := adminCall(t, gw.URL, masterKey, "GET", "/admin/v1/logs", ""); strings.Contains(list.Raw, "request_body") {
		t.Error("the list carries payloads")
	}
	var raw string
	if err := gw.store.DB().QueryRow(`SELECT group_concat(request_body || response_body, '|') FROM request_logs`).Scan(&raw); err != nil {
		t.Fatal(err)
	}
	for _, secret := range []string{"ann@example.com", "4111 1111", "ACME-123456"} {
		if strings.Contains(raw, secret) {
			t.Errorf("the database holds %q", secret)
		}
	}
	if status, _ := adminCall(t, gw.URL, newKey(t, gw.URL, `{"name":"lead","role":"team_admin","team_id":"`+team.Get("id").String()+`","scopes":["admin:read","admin:write"]}`),
		"PATCH", "/admin/v1/teams/"+team.Get("id").String(), `{"log_payloads":false}`); status != 403 {
		t.Errorf("a team admin turned payload logging off: %d", status)
	}
}
