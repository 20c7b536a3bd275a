package main

import (
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-gw/switchboard/internal/mock"
)

// Model groups defined through the admin API: served at once by the
// replica that took the change, picked up by another replica on the same
// database, kept across restarts; invalid ones are refused and change
// nothing.
func TestRuntimeModelGroups(t *testing.T) {
	up := httptest.NewServer(mock.New(mock.Options{}))
	defer up.Close()
	dir := t.TempDir()
	cfg := filepath.Join(dir, "cfg.yml")
	os.WriteFile(cfg, []byte(`listen: 127.0.0.1:0
master_key: sk-master-models-test
database: sqlite://`+filepath.Join(dir, "sb.db")+`
providers:
  - {name: up, type: openai, base_url: "`+up.URL+`/v1", api_key: k}
models:
  - {name: gpt, deployments: [{provider: up, model: mock-gpt}]}
`), 0o644)
	call := func(addr, method, path, body string) (int, string) {
		return request(t, addr, "sk-master-models-test", method, path, body)
	}
	chat := func(addr, model string) int {
		status, _ := call(addr, "POST", "/v1/chat/completions", `{"model":"`+model+`","messages":[{"role":"user","content":"hi"}]}`)
		return status
	}
	one, _, _ := serveIn(t, cfg)
	two, _, _ := serveIn(t, cfg)
	if chat(one, "fast") != 404 {
		t.Fatal("fast exists before it is defined")
	}
	for body, want := range map[string]string{
		`{"deployments":[{"provider":"nope","model":"m"}]}`: "unknown provider",
		`{"deployments":[]}`: "at least one deployment",
		`{"deployments":[{"provider":"up","model":"m"}],"colour":"red"}`: "colour",
		`[1]`: "JSON object",
	} {
		if status, out := call(one, "PUT", "/admin/v1/models/fast", body); status != 400 || !strings.Contains(out, want) {
			t.Errorf("%s: %d %s", body, status, out)
		}
	}
	if status, out := call(one, "PUT", "/admin/v1/models/gpt", `{"deployments":[{"provider":"up","model":"other"}]}`); status != 400 || !strings.Contains(out, "config file") {
		t.Errorf("redefining a file model: %d %s", status, out)
	}
	if _, out := call(one, "GET", "/admin/v1/models", ""); strings.Contains(out, `"name"`) {
		t.Errorf("a refused group was stored: %s", out)
	}
	if status, out := call(one, "PUT", "/admin/v1/models/fast", `{"deployments":[{"provider":"up","model":"mock-gpt"}],"fallbacks":["gpt"]}`); status != 200 {
		t.Fatalf("put: %d %s", status, out)
	}
	if status := chat(one, "fast"); status != 200 {
		t.Errorf("new group on the replica that took it: %d", status)
	}
	// The other replica polls every 5 seconds.
	deadline := time.Now().Add(15 * time.Second)
	for chat(two, "fast") != 200 && time.Now().Before(deadline) {
		time.Sleep(200 * time.Millisecond)
	}
	if status := chat(two, "fast"); status != 200 {
		t.Errorf("other replica: %d", status)
	}
	// A restart keeps it.
	three, _, _ := serveIn(t, cfg)
	if status := chat(three, "fast"); status != 200 {
		t.Errorf("after restart: %d", status)
	}
	if status, _ := call(one, "DELETE", "/admin/v1/models/fast", ""); status != 204 {
		t.Errorf("delete: %d", status)
	}
	if status := chat(one, "fast"); status != 404 {
		t.Errorf("deleted group still served: %d", status)
	}
	if status, _ := call(one, "DELETE", "/admin/v1/models/fast", ""); status != 404 {
		t.Errorf("delete again: %d", status)
	}
	if status := chat(one, "gpt"); status != 200 {
		t.Errorf("file group after changes: %d", status)
	}
}
