package e2e

import (
	"strings"
	"testing"

	"github.com/switchboard-gw/switchboard/internal/mock"
)

// One request's log entry in full — user, error class, overhead, cache
// result, the client's metadata and tags, every attempt — read back by
// request id with the feedback given for it; feedback and client labels
// are validated; another developer cannot read it.
func TestLogDetailAndFeedback(t *testing.T) {
	_, up := startMock(t, mock.Options{})
	down, downURL := startMock(t, mock.Options{FailRate: 1})
	gw := gatewayOver(t, metricsConfig, map[string]string{"UP": up, "DOWN": downURL})
	_, team := adminCall(t, gw.URL, masterKey, "POST", "/admin/v1/teams", `{"name":"detail"}`)
	tid := team.Get("id").String()
	_, user := adminCall(t, gw.URL, masterKey, "POST", "/admin/v1/users", `{"email":"dee@example.com","team_id":"`+tid+`"}`)
	uid := user.Get("id").String()
	dee := newKey(t, gw.URL, `{"name":"dee","team_id":"`+tid+`","user_id":"`+uid+`","scopes":["inference","admin:read"]}`)
	other := newKey(t, gw.URL, `{"name":"other","team_id":"`+tid+`","scopes":["inference","admin:read"]}`)

	chat := `{"model":"flaky","messages":[{"role":"user","content":"hi"}]}`
	resp, body := post(t, gw.URL, "/v1/chat/completions", chat, "Authorization", "Bearer "+dee,
		"x-request-id", "req-detail-1", "x-switchboard-metadata", `{"app":"billing","run":7}`, "x-switchboard-tags", "nightly, eu")
	if resp.StatusCode != 200 {
		t.Fatalf("%d %s", resp.StatusCode, body)
	}
	if down.Requests() != 3 {
		t.Fatalf("down saw %d calls", down.Requests())
	}
	resp, _ = post(t, gw.URL, "/v1/chat/completions", strings.Replace(chat, "flaky", "nope", 1), "Authorization", "Bearer "+dee, "x-request-id", "req-detail-2")
	if resp.StatusCode != 404 {
		t.Fatalf("unknown model: %d", resp.StatusCode)
	}
	for header, value := range map[string]string{"x-switchboard-metadata": `["not","an","object"]`, "x-switchboard-tags": "tab\there"} {
		resp, body := post(t, gw.URL, "/v1/chat/completions", chat, "Authorization", "Bearer "+dee, header, value)
		if resp.StatusCode != 400 || !strings.Contains(string(body), header) {
			t.Errorf("%s %q: %d %s", header, value, resp.StatusCode, body)
		}
	}
	if resp, _ := post(t, gw.URL, "/v1/chat/completions", chat, "Authorization", "Bearer "+dee, "x-switchboard-metadata", `{"big":"`+strings.Repeat("x", 5000)+`"}`); resp.StatusCode != 400 {
		t.Errorf("oversized metadata: %d", resp.StatusCode)
	}

	// Feedback: validated, stored, shown with the request.
	for _, bad := range []string{`{"score":1}`, `{"request_id":"req-detail-1"}`, `{"request_id":"req-detail-1","score":"good"}`,
		`{"request_id":"req-detail-1","score":1,"stars":5}`, `{"request_id":"` + strings.Repeat("r", 200) + `","score":1}`, `{`} {
		if resp, body := post(t, gw.URL, "/v1/feedback", bad, "Authorization", "Bearer "+dee); resp.StatusCode != 400 {
			t.Errorf("feedback %s: %d %s", bad, resp.StatusCode, body)
		}
	}
	if resp, _ := post(t, gw.URL, "/v1/feedback", `{"request_id":"req-detail-1","score":1}`, "Authorization", "Bearer sk-sb-nope"); resp.StatusCode != 401 {
		t.Errorf("feedback with a bad key: %d", resp.StatusCode)
	}
	resp, body = post(t, gw.URL, "/v1/feedback", `{"request_id":"req-detail-1","score":0.5,"label":"helpful","comment":"fine"}`, "Authorization", "Bearer "+dee)
	if resp.StatusCode != 201 || !strings.Contains(string(body), `"score":0.5`) {
		t.Fatalf("feedback: %d %s", resp.StatusCode, body)
	}

	waitLogs(t, gw.URL, masterKey, 5)
	status, e := adminCall(t, gw.URL, dee, "GET", "/admin/v1/logs/req-detail-1", "")
	if status != 200 {
		t.Fatalf("detail: %d %s", status, e.Raw)
	}
	for path, want := range map[string]string{
		"user_id": uid, "team_id": tid, "model": "flaky", "provider": "up", "status": "200", "cache": "bypass", "endpoint": "chat",
		"metadata.app": "billing", "metadata.run": "7", "tags.0": "nightly", "tags.1": "eu", "attempts": "4",
		"trace.0.provider": "down", "trace.0.outcome": "error", "trace.3.provider": "up", "trace.3.outcome": "ok",
		"feedback.0.score": "0.5", "feedback.0.label": "helpful", "feedback.0.comment": "fine", "error_code": "",
	} {
		if got := e.Get(path).String(); got != want {
			t.Errorf("%s = %q, want %q", path, got, want)
		}
	}
	if e.Get("overhead_ms").Float() <= 0 || e.Get("latency_ms").Float() < e.Get("overhead_ms").Float() || e.Get("input_tokens").Int() == 0 {
		t.Errorf("timings or tokens: %s", e.Raw)
	}
	_, failed := adminCall(t, gw.URL, dee, "GET", "/admin/v1/logs/req-detail-2", "")
	if failed.Get("status").Int() != 404 || failed.Get("error_code").String() != "model_not_found" || failed.Get("error_type").String() == "" || failed.Get("cache").String() != "" {
		t.Errorf("failed entry: %s", failed.Raw)
	}
	if status, _ := adminCall(t, gw.URL, other, "GET", "/admin/v1/logs/req-detail-1", ""); status != 404 {
		t.Errorf("another developer reading it: %d", status)
	}
	if status, _ := adminCall(t, gw.URL, masterKey, "GET", "/admin/v1/logs/req-none", ""); status != 404 {
		t.Errorf("unknown request id: %d", status)
	}
	if _, bypass := adminCall(t, gw.URL, masterKey, "GET", "/admin/v1/logs?cache=bypass", ""); bypass.Get("data.#").Int() != 1 {
		t.Errorf("cache filter: %s", bypass.Raw)
	}
	if _, mine := adminCall(t, gw.URL, masterKey, "GET", "/admin/v1/logs?user_id="+uid, ""); mine.Get("data.#").Int() != 5 {
		t.Errorf("user filter: %d entries", mine.Get("data.#").Int())
	}
}
