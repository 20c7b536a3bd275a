package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/tidwall/gjson"

	"github.com/switchboard-gw/switchboard/internal/mock"
	"github.com/switchboard-gw/switchboard/internal/store"
)

// syncBuffer is a bytes.Buffer safe for a writer and a reader goroutine.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}
func (s *syncBuffer) String() string { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

func envOf(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

var addrRe = regexp.MustCompile(`running on http://([0-9.:]+)`)

// The README's first command: `serve --demo` answers a real chat request
// with no keys and no files, streams, calls tools, and stops cleanly.
func TestServeDemo(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	var stdout, stderr syncBuffer
	done := make(chan int)
	go func() {
		done <- run(ctx, []string{"serve", "--demo"}, &stdout, &stderr, envOf(map[string]string{"SWITCHBOARD_LISTEN": "127.0.0.1:0"}))
	}()
	var addr string
	for deadline := time.Now().Add(10 * time.Second); addr == "" && time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if m := addrRe.FindStringSubmatch(stdout.String()); m != nil {
			addr = m[1]
		}
	}
	if addr == "" {
		t.Fatalf("demo did not start: %s %s", stdout.String(), stderr.String())
	}
	content := func(b string) string { return gjson.Get(b, "choices.0.message.content").String() }
	for _, c := range []struct {
		body string
		ok   func(body string) bool
	}{
		{`{"model":"demo-gpt","messages":[{"role":"user","content":"Hello!"}]}`, func(b string) bool { return content(b) == mock.Reply("mock-gpt", "Hello!") }},
		{`{"model":"demo-claude","messages":[{"role":"user","content":"Hello!"}]}`, func(b string) bool { return content(b) == mock.Reply("mock-claude", "Hello!") }},
		{`{"model":"demo-claude","stream":true,"messages":[{"role":"user","content":"Hello!"}]}`, func(b string) bool { return strings.HasSuffix(b, "data: [DONE]\n\n") }},
		{`{"model":"demo-claude","messages":[{"role":"user","content":"Weather?"}],"tools":[{"type":"function","function":{"name":"get_weather","parameters":{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}}}]}`,
			func(b string) bool {
				return gjson.Get(b, "choices.0.message.tool_calls.0.function.name").String() == "get_weather"
			}},
		{`{"model":"demo-balanced","messages":[{"role":"user","content":"Hello!"}]}`, func(b string) bool { return strings.Contains(content(b), "simulated reply") }},
	} {
		resp, err := http.Post("http://"+addr+"/v1/chat/completions", "application/json", strings.NewReader(c.body))
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || !c.ok(string(b)) {
			t.Errorf("%s: %d %s", c.body, resp.StatusCode, b)
		}
	}
	resp, err := http.Post("http://"+addr+"/v1/embeddings", "application/json", strings.NewReader(`{"model":"demo-embed","input":"hi"}`))
	if err != nil || resp.StatusCode != 200 {
		t.Errorf("embeddings: %v %v", resp, err)
	}
	cancel()
	select {
	case code := <-done:
		if code != 0 {
			t.Errorf("exit code %d: %s", code, stderr.String())
		}
	case <-time.After(10 * time.Second):
		t.Fatal("demo did not stop")
	}
	if !strings.Contains(stdout.String(), "curl http://") {
		t.Errorf("banner lacks a ready-to-paste curl: %s", stdout.String())
	}
}

func TestCommandLine(t *testing.T) {
	dir := t.TempDir()
	badCfg := filepath.Join(dir, "bad.yml")
	os.WriteFile(badCfg, []byte("master_key: sk-long-enough\nprovidrs: []\n"), 0o644)
	cases := []struct {
		args    []string
		env     map[string]string
		code    int
		out     string // in stdout or stderr
		skipCtx bool
	}{
		{args: []string{"version"}, code: 0, out: "switchboard "},
		{args: nil, code: 2, out: "Usage:"},
		{args: []string{"frobnicate"}, code: 2, out: `unknown command "frobnicate"`},
		{args: []string{"serve", "--config", badCfg}, code: 1, out: `bad.yml: line 2: unknown key "providrs"`},
		{args: []string{"serve"}, env: map[string]string{"OPENAI_API_KEY": "sk-x"}, code: 1, out: "master_key: is required: set master_key in the config file or the SWITCHBOARD_MASTER_KEY environment variable"},
		{args: []string{"serve"}, env: map[string]string{"SWITCHBOARD_MASTER_KEY": "sk-master-key"}, code: 1, out: "no providers configured"},
		{args: []string{"serve", "--demo", "--config", badCfg}, code: 2, out: "cannot be combined"},
		{args: []string{"serve", "--demo"}, env: map[string]string{"SWITCHBOARD_LISTEN": "0.0.0.0:0"}, code: 1, out: "loopback"},
		{args: []string{"mock", "--fail-rate", "2"}, code: 2, out: "--fail-rate must be between 0 and 1"},
		{args: []string{"serve", "--help"}, code: 0, out: "-config"},
	}
	for _, c := range cases {
		var out, errb syncBuffer
		code := run(context.Background(), c.args, &out, &errb, envOf(c.env))
		all := out.String() + errb.String()
		if code != c.code || !strings.Contains(all, c.out) {
			t.Errorf("switchboard %v: exit %d, want %d; output:\n%s\nwant it to contain %q", c.args, code, c.code, all, c.out)
		}
	}
}

// SIGTERM: the process stops accepting, lets the requests in flight —
// streams and plain ones — finish, writes a log row for every request
// that got an answer, and exits 0.
func TestGracefulShutdownOnSIGTERM(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := filepath.Join(t.TempDir(), "switchboard")
	build := exec.Command("go", "build", "-o", bin, ".")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	// A slow upstream: a stream takes about a second, any answer 300 ms
	// to start.
	up := httptest.NewServer(mock.New(mock.Options{TokensPerSecond: 15, Latency: 300 * time.Millisecond}))
	defer up.Close()
	dir := t.TempDir()
	cfg := filepath.Join(dir, "cfg.yml")
	dbPath := filepath.Join(dir, "sb.db")
	os.WriteFile(cfg, []byte(`
listen: 127.0.0.1:0
master_key: sk-shutdown-test
shutdown_grace: 20s
database: sqlite://`+dbPath+`
providers:
  - name: slow
    type: openai
    base_url: `+up.URL+`/v1
    api_key: k
models:
  - name: gpt
    deployments: [{provider: slow, model: mock-gpt}]
`), 0o644)
	cmd := exec.Command(bin, "serve", "--config", cfg)
	stderr, _ := cmd.StderrPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	sc := bufio.NewScanner(stderr)
	addr := ""
	logs := &syncBuffer{}
	for sc.Scan() {
		logs.Write(append(sc.Bytes(), '\n'))
		if m := regexp.MustCompile(`"addr":"([^"]+)"`).FindStringSubmatch(sc.Text()); m != nil {
			addr = m[1]
			break
		}
	}
	if addr == "" {
		t.Fatal("no listen address logged")
	}
	go func() {
		for sc.Scan() {
			logs.Write(append(sc.Bytes(), '\n'))
		}
	}()
	// Ten streams and ten plain requests in flight when SIGTERM comes.
	type answer struct {
		id     string
		stream bool
		ok     bool
		detail string
	}
	answers := make(chan answer, 20)
	started := make(chan struct{}, 20)
	for i := range 20 {
		go func() {
			a := answer{id: fmt.Sprintf("req-term-%02d", i), stream: i%2 == 0}
			req, _ := http.NewRequest("POST", "http://"+addr+"/v1/chat/completions",
				strings.NewReader(fmt.Sprintf(`{"model":"gpt","stream":%v,"messages":[{"role":"user","content":"tell me a story"}]}`, a.stream)))
			req.Header.Set("Authorization", "Bearer sk-shutdown-test")
			req.Header.Set("x-request-id", a.id)
			started <- struct{}{}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				a.detail = err.Error()
				answers <- a
				return
			}
			body, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			complete := strings.Contains(string(body), `"finish_reason":"stop"`)
			if a.stream {
				complete = strings.HasSuffix(strings.TrimSpace(string(body)), "data: [DONE]")
			}
			a.ok, a.detail = err == nil && resp.StatusCode == 200 && complete, fmt.Sprintf("%d %v %s", resp.StatusCode, err, body)
			answers <- a
		}()
	}
	for range 20 {
		<-started
	}
	time.Sleep(100 * time.Millisecond) // all twenty are at the upstream now
	cmd.Process.Signal(syscall.SIGTERM)
	answered := map[string]bool{}
	for range 20 {
		a := <-answers
		if !a.ok {
			t.Errorf("%s (stream %v) cut by shutdown: %s", a.id, a.stream, a.detail)
			continue
		}
		answered[a.id] = true
	}
	waited := make(chan error)
	go func() { waited <- cmd.Wait() }()
	select {
	case err := <-waited:
		if err != nil {
			t.Errorf("exit: %v\n%s", err, logs.String())
		}
	case <-time.After(15 * time.Second):
		t.Fatal("process did not exit after SIGTERM")
	}
	// New connections are refused after shutdown.
	if _, err := http.Get("http://" + addr + "/healthz"); err == nil {
		t.Error("still accepting after shutdown")
	}
	if !strings.Contains(logs.String(), "shutting down") {
		t.Errorf("logs:\n%s", logs.String())
	}
	// Every request answered during shutdown is in the request log: the
	// log is flushed after the last request, before exit.
	st, err := store.Open(context.Background(), "sqlite://"+dbPath)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	entries, err := st.Logs(context.Background(), store.LogFilter{Limit: 100})
	if err != nil || len(entries) != len(answered) || len(answered) != 20 {
		t.Fatalf("request log after shutdown: %d entries for %d answers, %v", len(entries), len(answered), err)
	}
	for _, e := range entries {
		stream := strings.HasSuffix(e.RequestID, "0") || strings.HasSuffix(e.RequestID, "2") || strings.HasSuffix(e.RequestID, "4") ||
			strings.HasSuffix(e.RequestID, "6") || strings.HasSuffix(e.RequestID, "8")
		if !answered[e.RequestID] || e.Status != 200 || e.Stream != stream || e.OutputTokens == 0 || e.Model != "gpt" || e.Provider != "slow" || (stream && e.TTFTMS <= 0) {
			t.Errorf("logged %+v", e)
		}
	}
}

// The migrate, admin bootstrap and keys commands work on the configured
// database.
func TestKeysCommands(t *testing.T) {
	dir := t.TempDir()
	env := envOf(map[string]string{"SWITCHBOARD_MASTER_KEY": "sk-cli-master-key", "SWITCHBOARD_DATABASE": "sqlite://" + filepath.Join(dir, "sb.db")})
	run1 := func(args ...string) (int, string) {
		var out, errb syncBuffer
		code := run(context.Background(), args, &out, &errb, env)
		return code, out.String() + errb.String()
	}
	if code, out := run1("migrate"); code != 0 || !strings.Contains(out, "schema version") {
		t.Fatalf("migrate: %d %s", code, out)
	}
	code, out := run1("admin", "bootstrap", "--email", "root@example.com")
	if code != 0 || !strings.Contains(out, "sk-sb-") {
		t.Fatalf("bootstrap: %d %s", code, out)
	}
	if code, out := run1("admin", "bootstrap", "--email", "again@example.com"); code == 0 || !strings.Contains(out, "already exists") {
		t.Errorf("second bootstrap: %d %s", code, out)
	}
	code, out = run1("keys", "create", "--name", "ci", "--models", "gpt", "--rpm", "5")
	if code != 0 {
		t.Fatalf("create: %d %s", code, out)
	}
	id := regexp.MustCompile(`id:\s+(key_\w+)`).FindStringSubmatch(out)[1]
	if code, out := run1("keys", "list"); code != 0 || !strings.Contains(out, id) || !strings.Contains(out, "active") {
		t.Errorf("list: %s", out)
	}
	if code, out := run1("keys", "revoke", id); code != 0 {
		t.Errorf("revoke: %s", out)
	}
	if _, out := run1("keys", "list"); !strings.Contains(out, "revoked") {
		t.Errorf("list after revoke: %s", out)
	}
	if code, _ := run1("keys", "create"); code != 2 {
		t.Errorf("create without --name: %d", code)
	}
	if code, _ := run1("keys", "frobnicate"); code != 2 {
		t.Errorf("unknown subcommand: %d", code)
	}
}
