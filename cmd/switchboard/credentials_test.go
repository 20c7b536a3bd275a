package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/switchboard-gw/switchboard/internal/mock"
)

// serveIn runs `switchboard serve --config path` in process until the
// test ends; it returns the address, or the exit code if it did not start.
func serveIn(t *testing.T, path string) (addr string, exit int, stderr *syncBuffer) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	stderr = &syncBuffer{}
	done := make(chan int, 1)
	go func() { done <- run(ctx, []string{"serve", "--config", path}, &syncBuffer{}, stderr, envOf(nil)) }()
	re := regexp.MustCompile(`"addr":"([^"]+)"`)
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		select {
		case code := <-done:
			cancel()
			return "", code, stderr
		default:
		}
		if m := re.FindStringSubmatch(stderr.String()); m != nil {
			t.Cleanup(func() { cancel(); <-done })
			return m[1], 0, stderr
		}
	}
	cancel()
	t.Fatalf("serve did not start: %s", stderr.String())
	return "", 0, stderr
}

// request sends a request to a running gateway with key and returns the
// status and body.
func request(t *testing.T, addr, key, method, path, body string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(method, "http://"+addr+path, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+key)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func adminPut(t *testing.T, url, key, body string) int {
	req, _ := http.NewRequest("PUT", url, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+key)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// Provider credentials end to end: stored through the admin API sealed
// with AES-256-GCM (the database files never hold them in clear), used by
// a provider that names them, re-encrypted after a key rotation; a
// missing credential or a missing old key stops the start with a clear
// error.
func TestStoredCredentials(t *testing.T) {
	const upstreamKey = "sk-upstream-very-secret-0123456789"
	var mu sync.Mutex
	var seen []string
	m := mock.New(mock.Options{})
	m.OnRequest = func(r *http.Request, _ []byte) {
		mu.Lock()
		seen = append(seen, r.Header.Get("Authorization"))
		mu.Unlock()
	}
	up := httptest.NewServer(m)
	defer up.Close()
	dir := t.TempDir()
	db := filepath.Join(dir, "sb.db")
	write := func(name, apiKey, keys string) string {
		p := filepath.Join(dir, name)
		os.WriteFile(p, []byte(`listen: 127.0.0.1:0
master_key: sk-master-credentials-test
database: sqlite://`+db+`
`+keys+`
providers:
  - {name: up, type: openai, base_url: "`+up.URL+`/v1", api_key: "`+apiKey+`"}
models:
  - {name: gpt, deployments: [{provider: up, model: mock-gpt}]}
`), 0o644)
		return p
	}
	k1 := "encryption_key: first-key"
	plain := write("plain.yml", "sk-placeholder", k1)
	ref := write("ref.yml", "credential:up-key", k1)

	// Naming a credential that does not exist stops the start.
	if _, code, stderr := serveIn(t, ref); code == 0 || !strings.Contains(stderr.String(), `credential \"up-key\"`) && !strings.Contains(stderr.String(), `credential "up-key"`) {
		t.Fatalf("started without its credential (exit %d): %s", code, stderr.String())
	}

	// Store it through the admin API of a running gateway.
	addr, _, _ := serveIn(t, plain)
	base := "http://" + addr + "/admin/v1/credentials/"
	if status := adminPut(t, base+"up-key", "sk-master-credentials-test", `{"value":"`+upstreamKey+`"}`); status != 200 {
		t.Fatalf("put: %d", status)
	}
	for body, want := range map[string]int{`{"value":""}`: 400, `{"val":"x"}`: 400, `nope`: 400} {
		if status := adminPut(t, base+"other", "sk-master-credentials-test", body); status != want {
			t.Errorf("%s: %d, want %d", body, status, want)
		}
	}
	if status := adminPut(t, base+"bad%20name", "sk-master-credentials-test", `{"value":"x"}`); status != 400 {
		t.Errorf("bad name: %d", status)
	}
	if status := adminPut(t, base+"up-key", "sk-wrong", `{"value":"x"}`); status != 401 {
		t.Errorf("wrong key: %d", status)
	}
	req, _ := http.NewRequest("GET", "http://"+addr+"/admin/v1/credentials", nil)
	req.Header.Set("Authorization", "Bearer sk-master-credentials-test")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var listed bytes.Buffer
	listed.ReadFrom(resp.Body)
	resp.Body.Close()
	if !strings.Contains(listed.String(), `"name":"up-key"`) || strings.Contains(listed.String(), upstreamKey) || strings.Contains(listed.String(), "v1.") {
		t.Errorf("list: %s", listed.String())
	}
	scan := func() {
		t.Helper()
		for _, f := range []string{db, db + "-wal"} {
			b, _ := os.ReadFile(f)
			if bytes.Contains(b, []byte(upstreamKey)) || bytes.Contains(b, []byte(upstreamKey[10:])) {
				t.Errorf("%s holds the credential in clear", filepath.Base(f))
			}
		}
	}
	scan()

	chat := func(addr string) int {
		req, _ := http.NewRequest("POST", "http://"+addr+"/v1/chat/completions", strings.NewReader(`{"model":"gpt","messages":[{"role":"user","content":"hi"}]}`))
		req.Header.Set("Authorization", "Bearer sk-master-credentials-test")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	lastAuth := func() string {
		mu.Lock()
		defer mu.Unlock()
		if len(seen) == 0 {
			return ""
		}
		return seen[len(seen)-1]
	}
	// A provider naming it sends it upstream.
	addr, _, _ = serveIn(t, ref)
	if status := chat(addr); status != 200 || lastAuth() != "Bearer "+upstreamKey {
		t.Fatalf("chat via the stored credential: %d, upstream saw %q", status, lastAuth())
	}

	// Rotation: the new key with the old one as previous re-encrypts...
	rotated := write("rotated.yml", "credential:up-key", "encryption_key: second-key\nprevious_encryption_keys: [first-key]")
	var out syncBuffer
	if code := run(context.Background(), []string{"credentials", "reencrypt", "--config", rotated}, &out, &out, envOf(nil)); code != 0 || !strings.Contains(out.String(), "re-encrypted 1 credential") {
		t.Fatalf("reencrypt: %d %s", code, out.String())
	}
	// ...after which the new key alone opens it, and the old alone cannot.
	newOnly := write("new.yml", "credential:up-key", "encryption_key: second-key")
	addr, _, _ = serveIn(t, newOnly)
	if status := chat(addr); status != 200 || lastAuth() != "Bearer "+upstreamKey {
		t.Errorf("after rotation: %d, upstream saw %q", status, lastAuth())
	}
	if _, code, stderr := serveIn(t, ref); code == 0 || !strings.Contains(stderr.String(), "unknown key") {
		t.Errorf("the old key alone opened a re-encrypted credential (exit %d): %s", code, stderr.String())
	}
	scan()
}
