package store

import (
	"context"
	"testing"
	"time"
)

// On PostgreSQL the request log is partitioned by day: entries land in
// their day's partition (or the default one, outside every partition),
// and retention drops whole days and deletes the rest row by row.
func TestLogPartitions(t *testing.T) {
	s := PostgresForTest(t)
	if s == nil {
		t.Skip("PostgreSQL not reachable: daily partitions exist only there")
	}
	ctx := context.Background()
	day0 := time.Date(2030, 1, 10, 0, 0, 0, 0, time.UTC)
	if err := s.ensureLogPartitions(ctx, day0); err != nil {
		t.Fatal(err)
	}
	at := func(id string, t time.Time) LogEntry {
		return LogEntry{ID: id, RequestID: "req-" + id, CreatedAt: t, Endpoint: "chat", Model: "gpt", Status: 200, Trace: "[]"}
	}
	entries := []LogEntry{at("log_a", day0.Add(36*time.Hour)), at("log_b", day0.Add(60*time.Hour)), at("log_c", time.Date(2029, 12, 1, 0, 0, 0, 0, time.UTC))}
	if err := s.InsertLogs(ctx, entries); err != nil {
		t.Fatal(err)
	}
	count := func(table string) int {
		var n int
		if err := s.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM `+table).Scan(&n); err != nil {
			return -1 // no such table
		}
		return n
	}
	if count("request_logs_p20300111") != 1 || count("request_logs_p20300112") != 1 || count("request_logs_default") != 1 {
		t.Fatalf("rows by partition: 11th %d, 12th %d, default %d", count("request_logs_p20300111"), count("request_logs_p20300112"), count("request_logs_default"))
	}
	if e, err := s.LogByRequestID(ctx, "req-log_a"); err != nil || e.ID != "log_a" {
		t.Fatalf("read back: %+v %v", e, err)
	}
	n, err := s.PruneLogs(ctx, day0.AddDate(0, 0, 2))
	if err != nil || n != 2 {
		t.Fatalf("pruned %d, %v; want the 11th's partition (1 row) and the old row", n, err)
	}
	if count("request_logs_p20300111") != -1 || count("request_logs_p20300110") != -1 {
		t.Error("partitions before the cutoff were not dropped")
	}
	if count("request_logs_p20300112") != 1 || count("request_logs_default") != 0 {
		t.Errorf("after pruning: 12th %d, default %d", count("request_logs_p20300112"), count("request_logs_default"))
	}
	if left, _ := s.Logs(ctx, LogFilter{Limit: 10}); len(left) != 1 || left[0].ID != "log_b" {
		t.Errorf("left: %+v", left)
	}
}
