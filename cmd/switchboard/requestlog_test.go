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

// log.requests: false writes no request log rows while the metrics still
// count every request; the default writes one row per request.
func TestRequestLogOff(t *testing.T) {
	const master = "sk-master-requestlog-test"
	up := httptest.NewServer(mock.New(mock.Options{}))
	defer up.Close()
	for _, c := range []struct {
		name, extra string
		rows        int
	}{
		{"on", "", 3},
		{"off", "log: {requests: false}\n", 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			cfg := filepath.Join(dir, "cfg.yml")
			os.WriteFile(cfg, []byte(`listen: 127.0.0.1:0
master_key: `+master+`
database: sqlite://`+filepath.Join(dir, "sb.db")+`
providers:
  - {name: up, type: openai, base_url: "`+up.URL+`/v1", api_key: k}
models:
  - {name: gpt, deployments: [{provider: up, model: mock-gpt}]}
`+c.extra), 0o644)
			addr, _, _ := serveIn(t, cfg)
			for range 3 {
				if status, body := request(t, addr, master, "POST", "/v1/chat/completions", `{"model":"gpt","messages":[{"role":"user","content":"hi"}]}`); status != 200 {
					t.Fatalf("%d %s", status, body)
				}
			}
			_, metrics := request(t, addr, master, "GET", "/metrics", "")
			if !strings.Contains(metrics, `switchboard_requests_total{`) || !strings.Contains(metrics, "switchboard_log_queue_dropped_total 0") {
				t.Errorf("metrics lack the requests or the log series:\n%s", metrics)
			}
			// Entries are written in batches at least every 200 ms: a second
			// is long enough for any to arrive (and "off" waits it out).
			rows := -1
			for deadline := time.Now().Add(time.Second); time.Now().Before(deadline) && (c.rows == 0 || rows != c.rows); time.Sleep(50 * time.Millisecond) {
				_, logs := request(t, addr, master, "GET", "/admin/v1/logs?limit=10", "")
				rows = strings.Count(logs, `"request_id"`)
			}
			if rows != c.rows {
				t.Errorf("%d request log rows, want %d", rows, c.rows)
			}
		})
	}
}
