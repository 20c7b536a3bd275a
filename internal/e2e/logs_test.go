package e2e

import (
	"bytes"
	"log/slog"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/switchboard-gw/switchboard/internal/config"
	"github.com/switchboard-gw/switchboard/internal/gateway"
	"github.com/switchboard-gw/switchboard/internal/mock"
	"github.com/switchboard-gw/switchboard/internal/server"
)

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}
func (l *lockedBuffer) String() string { l.mu.Lock(); defer l.mu.Unlock(); return l.b.String() }

// Logs are JSON, carry the request id, and never contain a key or a prompt.
func TestLogsCarryRequestIDsAndNoSecrets(t *testing.T) {
	_, up := startMock(t, mock.Options{})
	env := map[string]string{"UPSTREAM": up, "MASTER": masterKey}
	cfg, err := config.Parse("test.yaml", []byte(mockConfig+"log: {level: debug, access: true}\n"), func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	var logs lockedBuffer
	log := slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	gw, err := gateway.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(server.New(server.Options{Config: cfg, Gateway: gw, Log: log}))
	defer hs.Close()

	secretPrompt := "my-private-prompt-text"
	post(t, hs.URL, "/v1/chat/completions", `{"model":"gpt","messages":[{"role":"user","content":"`+secretPrompt+`"}]}`, "x-request-id", "trace-ok-1")
	post(t, hs.URL, "/v1/chat/completions", `{"model":"claude","messages":[{"role":"user","content":"[[mock:status=500]] `+secretPrompt+`"}]}`, "x-request-id", "trace-fail-2")
	post(t, hs.URL, "/v1/chat/completions", `{"model":"gpt","messages":[]}`, "Authorization", "Bearer sk-wrong-key-value")

	out := logs.String()
	for _, want := range []string{`"request_id":"trace-ok-1"`, `"request_id":"trace-fail-2"`, `"msg":"upstream attempt failed"`, `"status":500`} {
		if !strings.Contains(out, want) {
			t.Errorf("logs lack %s:\n%s", want, out)
		}
	}
	for _, secret := range []string{masterKey, "sk-upstream", "ant-key", "az-key", "sk-wrong-key-value", secretPrompt} {
		if strings.Contains(out, secret) {
			t.Errorf("logs contain %q:\n%s", secret, out)
		}
	}
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		if !strings.HasPrefix(line, "{") {
			t.Errorf("not a JSON line: %s", line)
		}
		if strings.Contains(line, `"provider"`) && !strings.Contains(line, `"request_id"`) {
			t.Errorf("a request's log line without its request id: %s", line)
		}
	}
}
