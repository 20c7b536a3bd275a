package main

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/switchboard-gw/switchboard/internal/mock"
)

// Providers defined through the admin API: their secrets are sealed as
// credentials and never shown again, they serve at once on the replica
// that took them and within seconds on another, a rotated credential is
// used without a restart, and a provider or credential still in use
// cannot be removed.
func TestRuntimeProviders(t *testing.T) {
	const master = "sk-master-providers-test"
	const secret1, secret2 = "sk-upstream-first-0123456789abcdef", "sk-upstream-second-0123456789abcdef"
	var mu sync.Mutex
	var auths, tenants []string
	m := mock.New(mock.Options{})
	m.OnRequest = func(r *http.Request, _ []byte) {
		mu.Lock()
		auths = append(auths, r.Header.Get("Authorization"))
		tenants = append(tenants, r.Header.Get("X-Tenant"))
		mu.Unlock()
	}
	up := httptest.NewServer(m)
	defer up.Close()
	last := func() (string, string) {
		mu.Lock()
		defer mu.Unlock()
		if len(auths) == 0 {
			return "", ""
		}
		return auths[len(auths)-1], tenants[len(tenants)-1]
	}
	dir := t.TempDir()
	db := filepath.Join(dir, "sb.db")
	cfg := filepath.Join(dir, "cfg.yml")
	os.WriteFile(cfg, []byte(`listen: 127.0.0.1:0
master_key: `+master+`
database: sqlite://`+db+`
providers:
  - {name: up, type: openai, base_url: "`+up.URL+`/v1", api_key: file-key}
models:
  - {name: gpt, deployments: [{provider: up, model: mock-gpt}]}
`), 0o644)
	call := func(addr, method, path, body string) (int, string) {
		return request(t, addr, master, method, path, body)
	}
	chat := func(addr, model string) int {
		status, _ := call(addr, "POST", "/v1/chat/completions", `{"model":"`+model+`","messages":[{"role":"user","content":"hi"}]}`)
		return status
	}
	noSecret := func(what, s string) {
		t.Helper()
		for _, secret := range []string{secret1, secret2, "tenant-secret-header"} {
			if strings.Contains(s, secret) || strings.Contains(s, secret[12:]) {
				t.Errorf("%s shows a secret: %s", what, s)
			}
		}
	}
	one, _, _ := serveIn(t, cfg)
	two, _, _ := serveIn(t, cfg)

	def := `{"type":"openai","base_url":"` + up.URL + `/v1","api_key":"` + secret1 + `","headers":{"X-Tenant":"tenant-secret-header"}}`
	for body, want := range map[string]string{
		`{"type":"nope","api_key":"x"}`:    "unknown provider type",
		`{"type":"openai","colour":"red"}`: "colour",
		`{"type":"openai","name":"other"}`: "names another one",
		`[1]`:                              "JSON object",
	} {
		if status, out := call(one, "PUT", "/admin/v1/providers/extra", body); status != 400 || !strings.Contains(out, want) {
			t.Errorf("%s: %d %s", body, status, out)
		}
	}
	if status, out := call(one, "PUT", "/admin/v1/providers/up", def); status != 400 || !strings.Contains(out, "config file") {
		t.Errorf("redefining a file provider: %d %s", status, out)
	}
	if status, out := call(one, "PUT", "/admin/v1/providers/bad%20name", def); status != 400 {
		t.Errorf("bad name: %d %s", status, out)
	}
	if _, out := call(one, "GET", "/admin/v1/credentials", ""); strings.Contains(out, "provider.") {
		t.Errorf("a refused provider left credentials behind: %s", out)
	}

	status, out := call(one, "PUT", "/admin/v1/providers/extra", def)
	if status != 200 || !strings.Contains(out, `"api_key":"credential:provider.extra.api_key"`) {
		t.Fatalf("put: %d %s", status, out)
	}
	noSecret("the put answer", out)
	if status, out := call(one, "PUT", "/admin/v1/models/via-extra", `{"deployments":[{"provider":"extra","model":"mock-gpt"}]}`); status != 200 {
		t.Fatalf("model on the new provider: %d %s", status, out)
	}
	if status := chat(one, "via-extra"); status != 200 {
		t.Fatalf("chat: %d", status)
	}
	if a, tenant := last(); a != "Bearer "+secret1 || tenant != "tenant-secret-header" {
		t.Errorf("upstream saw %q and tenant %q", a, tenant)
	}
	status, out = call(one, "GET", "/admin/v1/providers", "")
	if status != 200 || !strings.Contains(out, `"name":"up","source":"config"`) && !strings.Contains(out, `"source":"config"`) || !strings.Contains(out, `"source":"admin"`) {
		t.Errorf("list: %d %s", status, out)
	}
	noSecret("the list", out)
	noSecret("the file-provider list", strings.ReplaceAll(out, "file-key", ""))
	if strings.Contains(out, "file-key") {
		t.Errorf("the list shows a file provider's key: %s", out)
	}
	_, out = call(one, "GET", "/admin/v1/audit", "")
	noSecret("the audit log", out)

	// Still in use: the provider by a model group, its credential by it.
	if status, out := call(one, "DELETE", "/admin/v1/providers/extra", ""); status != 409 || !strings.Contains(out, "via-extra") {
		t.Errorf("delete in use: %d %s", status, out)
	}
	if status, out := call(one, "DELETE", "/admin/v1/credentials/provider.extra.api_key", ""); status != 409 {
		t.Errorf("delete a used credential: %d %s", status, out)
	}

	// The other replica follows by polling.
	deadline := time.Now().Add(15 * time.Second)
	for chat(two, "via-extra") != 200 && time.Now().Before(deadline) {
		time.Sleep(200 * time.Millisecond)
	}
	if status := chat(two, "via-extra"); status != 200 {
		t.Fatalf("other replica: %d", status)
	}

	// Rotation through the credentials API: at once here, soon there.
	if status, out := call(one, "PUT", "/admin/v1/credentials/provider.extra.api_key", `{"value":"`+secret2+`"}`); status != 200 {
		t.Fatalf("rotate: %d %s", status, out)
	}
	if chat(one, "via-extra"); func() string { a, _ := last(); return a }() != "Bearer "+secret2 {
		t.Errorf("the replica that took the rotation still sends the old key")
	}
	deadline = time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		chat(two, "via-extra")
		if a, _ := last(); a == "Bearer "+secret2 {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	if a, _ := last(); a != "Bearer "+secret2 {
		t.Errorf("other replica after rotation sends %q", a)
	}

	// A restart keeps it.
	three, _, _ := serveIn(t, cfg)
	if status := chat(three, "via-extra"); status != 200 {
		t.Errorf("after restart: %d", status)
	}
	for _, f := range []string{db, db + "-wal"} {
		b, _ := os.ReadFile(f)
		for _, secret := range []string{secret1, secret2, "tenant-secret-header"} {
			if bytes.Contains(b, []byte(secret)) {
				t.Errorf("%s holds %q in clear", filepath.Base(f), secret[:8])
			}
		}
	}

	// Removal: the group first, then the provider with its credentials.
	if status, _ := call(one, "DELETE", "/admin/v1/models/via-extra", ""); status != 204 {
		t.Errorf("delete model: %d", status)
	}
	if status, out := call(one, "DELETE", "/admin/v1/providers/extra", ""); status != 204 {
		t.Errorf("delete provider: %d %s", status, out)
	}
	if _, out := call(one, "GET", "/admin/v1/credentials", ""); strings.Contains(out, "provider.extra.") {
		t.Errorf("the provider's credentials outlived it: %s", out)
	}
	if status, _ := call(one, "DELETE", "/admin/v1/providers/extra", ""); status != 404 {
		t.Errorf("delete again: %d", status)
	}
	if status := chat(one, "gpt"); status != 200 {
		t.Errorf("file model after changes: %d", status)
	}
}
