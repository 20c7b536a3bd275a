package store

import (
	"context"
	"fmt"
	"math"
	"testing"
	"time"
)

func TestLogsAndUsage(t *testing.T) {
	for engine, s := range stores(t) {
		t.Run(engine, func(t *testing.T) {
			ctx := context.Background()
			day := time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC)
			var batch []LogEntry
			// 250 entries: more than one multi-row chunk; two keys, two
			// models, every fifth one an error.
			for i := range 250 {
				e := LogEntry{ID: fmt.Sprintf("log_%05d", i), RequestID: fmt.Sprintf("req_%d", i), CreatedAt: day.Add(time.Duration(i) * time.Second),
					KeyID: []string{"key_a", "key_b"}[i%2], TeamID: "team_1", Endpoint: "chat", Model: []string{"gpt", "claude"}[i%2],
					Provider: "openai", DeploymentModel: "gpt-4o", Status: 200, LatencyMS: 12.5, InputTokens: 10, OutputTokens: 5, CostUSD: 0.001,
					Attempts: 1, Trace: `[{"provider":"openai"}]`}
				if i%5 == 0 {
					e.Status, e.Error, e.CostUSD, e.OutputTokens = 502, "upstream failed", 0, 0
				}
				batch = append(batch, e)
			}
			if err := s.InsertLogs(ctx, batch[:120]); err != nil {
				t.Fatal(err)
			}
			if err := s.InsertLogs(ctx, batch[120:]); err != nil {
				t.Fatal(err)
			}
			got, err := s.Logs(ctx, LogFilter{Limit: 1000})
			if err != nil || len(got) != 250 {
				t.Fatalf("all logs: %d %v", len(got), err)
			}
			if got[0].ID != "log_00249" || got[249].ID != "log_00000" {
				t.Errorf("not newest first: %s .. %s", got[0].ID, got[249].ID)
			}
			first := got[249]
			if first.RequestID != "req_0" || first.Status != 502 || first.Error != "upstream failed" || !first.CreatedAt.Equal(day) || first.Trace != `[{"provider":"openai"}]` {
				t.Errorf("read back %+v", first)
			}
			// Keyset pages visit each entry once.
			seen, before := 0, ""
			for {
				page, err := s.Logs(ctx, LogFilter{Limit: 40, Before: before, KeyID: "key_a"})
				if err != nil {
					t.Fatal(err)
				}
				for _, e := range page {
					if e.KeyID != "key_a" {
						t.Fatalf("filter leaked %s", e.KeyID)
					}
				}
				seen += len(page)
				if len(page) < 40 {
					break
				}
				before = page[len(page)-1].ID
			}
			if seen != 125 {
				t.Errorf("paged %d key_a entries, want 125", seen)
			}
			errs, _ := s.Logs(ctx, LogFilter{Limit: 1000, Status: 502})
			if len(errs) != 50 {
				t.Errorf("status filter: %d, want 50", len(errs))
			}
			rows, err := s.Usage(ctx, UsageFilter{GroupBy: "model", From: "2026-11-20", To: "2026-11-20"})
			if err != nil || len(rows) != 2 {
				t.Fatalf("usage: %+v %v", rows, err)
			}
			var reqs, errN, in, out int64
			var cost float64
			for _, r := range rows {
				reqs, errN, in, out, cost = reqs+r.Requests, errN+r.Errors, in+r.InputTokens, out+r.OutputTokens, cost+r.CostUSD
			}
			if reqs != 250 || errN != 50 || in != 2500 || out != 200*5 || math.Abs(cost-0.2) > 1e-9 {
				t.Errorf("usage sums: requests %d errors %d in %d out %d cost %v", reqs, errN, in, out, cost)
			}
			byKey, _ := s.Usage(ctx, UsageFilter{GroupBy: "key", From: "2026-11-20", To: "2026-11-20", KeyID: "key_b"})
			if len(byKey) != 1 || byKey[0].Group != "key_b" || byKey[0].Requests != 125 {
				t.Errorf("usage for key_b: %+v", byKey)
			}
			if none, _ := s.Usage(ctx, UsageFilter{GroupBy: "team", From: "2026-11-21", To: "2026-11-30"}); len(none) != 0 {
				t.Errorf("usage outside the range: %+v", none)
			}
		})
	}
}

// Entries stored per second in batches of 500, on each engine.
func BenchmarkInsertLogs(b *testing.B) {
	engines := map[string]*Store{}
	lite, err := Open(context.Background(), "sqlite://"+b.TempDir()+"/bench.db")
	if err != nil {
		b.Fatal(err)
	}
	defer lite.Close()
	engines["sqlite"] = lite
	if pg := PostgresForTest(b); pg != nil {
		engines["postgres"] = pg
	}
	for engine, s := range engines {
		b.Run(engine, func(b *testing.B) {
			batch := make([]LogEntry, 500)
			for b.Loop() {
				for i := range batch {
					batch[i] = LogEntry{ID: NewID("log_"), RequestID: "req", CreatedAt: time.Now(), KeyID: "key_a", TeamID: "team",
						Endpoint: "chat", Model: "gpt", Provider: "openai", Status: 200, LatencyMS: 80, InputTokens: 12, OutputTokens: 40, CostUSD: 0.0001, Trace: "[]"}
				}
				if err := s.InsertLogs(context.Background(), batch); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N*len(batch))/b.Elapsed().Seconds(), "entries/s")
		})
	}
}

// Read-then-write transactions (a team update) succeed while the request
// log writes batches on another connection.
func TestWritesDuringLogging(t *testing.T) {
	for engine, s := range stores(t) {
		t.Run(engine, func(t *testing.T) {
			ctx := context.Background()
			team := &Team{ID: NewID("team_"), Name: "busy", CreatedAt: time.Now()}
			if err := s.CreateTeam(ctx, team, "test"); err != nil {
				t.Fatal(err)
			}
			stop := make(chan struct{})
			logErr := make(chan error, 1)
			go func() {
				for {
					select {
					case <-stop:
						logErr <- nil
						return
					default:
					}
					batch := make([]LogEntry, 50)
					for i := range batch {
						batch[i] = LogEntry{ID: NewID("log_"), RequestID: "r", CreatedAt: time.Now(), Endpoint: "chat", Model: "gpt", Status: 200, Trace: "[]"}
					}
					if err := s.InsertLogs(ctx, batch); err != nil {
						logErr <- err
						return
					}
					time.Sleep(time.Millisecond) // the writer pauses between batches too
				}
			}()
			for i := range 300 {
				if _, err := s.UpdateTeam(ctx, team.ID, func(t *Team) error { t.RPM = i; time.Sleep(100 * time.Microsecond); return nil }, "test"); err != nil {
					t.Fatalf("update %d: %v", i, err)
				}
			}
			close(stop)
			if err := <-logErr; err != nil {
				t.Fatal(err)
			}
		})
	}
}

// Pruning deletes old rows in chunks, keeps newer ones and the rollups.
func TestPruneLogs(t *testing.T) {
	for engine, s := range stores(t) {
		t.Run(engine, func(t *testing.T) {
			ctx := context.Background()
			old := time.Now().Add(-40 * 24 * time.Hour)
			var batch []LogEntry
			for i := range 12_010 {
				at := old
				if i >= 12_000 {
					at = time.Now()
				}
				batch = append(batch, LogEntry{ID: fmt.Sprintf("log_%06d", i), RequestID: "r", CreatedAt: at, Endpoint: "chat", Model: "gpt", Status: 200, InputTokens: 1, Trace: "[]"})
			}
			for start := 0; start < len(batch); start += 1000 {
				if err := s.InsertLogs(ctx, batch[start:min(start+1000, len(batch))]); err != nil {
					t.Fatal(err)
				}
			}
			n, err := s.PruneLogs(ctx, time.Now().Add(-30*24*time.Hour))
			if err != nil || n != 12_000 {
				t.Fatalf("pruned %d, %v", n, err)
			}
			left, _ := s.Logs(ctx, LogFilter{Limit: 1000})
			if len(left) != 10 {
				t.Errorf("%d rows left, want 10", len(left))
			}
			rows, _ := s.Usage(ctx, UsageFilter{GroupBy: "model", From: old.UTC().Format(time.DateOnly), To: time.Now().UTC().Format(time.DateOnly)})
			if len(rows) != 1 || rows[0].Requests != 12_010 {
				t.Errorf("rollups after pruning: %+v", rows)
			}
		})
	}
}

// Every field of an entry, payloads included, survives the round trip on
// both engines; lists leave the payloads out; feedback is kept per
// request and pruned with the log.
func TestLogEntryRoundTripAndFeedback(t *testing.T) {
	ctx := context.Background()
	for engine, s := range stores(t) {
		t.Run(engine, func(t *testing.T) {
			now := time.Now().UTC().Truncate(time.Millisecond)
			e := LogEntry{ID: NewID("log_"), RequestID: "req-rt", CreatedAt: now, KeyID: "key_1", TeamID: "team_1", UserID: "user_1",
				Endpoint: "messages", Model: "claude", Provider: "ant", DeploymentModel: "claude-x", Stream: true, Status: 429, Error: "slow down",
				ErrorType: "rate_limit_error", ErrorCode: "rate_limit_exceeded", LatencyMS: 12.5, TTFTMS: 3.25, OverheadMS: 0.125,
				InputTokens: 10, OutputTokens: 20, CachedTokens: 3, CacheWriteTokens: 4, ReasoningTokens: 5, UsageEstimated: true,
				CostUSD: 0.5, Unpriced: false, Cache: "miss", Attempts: 2, Metadata: `{"app":"x"}`, Tags: "a,b", Trace: `[{"provider":"ant"}]`,
				RequestBody: `{"messages":[]}`, ResponseBody: "hello"}
			if err := s.InsertLogs(ctx, []LogEntry{e}); err != nil {
				t.Fatal(err)
			}
			got, err := s.LogByRequestID(ctx, "req-rt")
			if err != nil || got != e {
				t.Fatalf("round trip:\n got %+v\nwant %+v\n%v", got, e, err)
			}
			list, _ := s.Logs(ctx, LogFilter{Limit: 5, UserID: "user_1", Cache: "miss"})
			if len(list) != 1 || list[0].RequestBody != "" || list[0].ResponseBody != "" || list[0].Metadata != e.Metadata {
				t.Errorf("list: %+v", list)
			}
			if _, err := s.LogByRequestID(ctx, "req-none"); err != ErrNotFound {
				t.Errorf("unknown id: %v", err)
			}
			for i, score := range []float64{1, -0.5} {
				if err := s.AddFeedback(ctx, &Feedback{ID: NewID("fb_"), RequestID: "req-rt", KeyID: "key_1", Score: score, Label: "l", CreatedAt: now.Add(time.Duration(i) * time.Millisecond)}); err != nil {
					t.Fatal(err)
				}
			}
			if fb, err := s.FeedbackFor(ctx, "req-rt"); err != nil || len(fb) != 2 || fb[0].Score+fb[1].Score != 0.5 {
				t.Errorf("feedback: %+v %v", fb, err)
			}
			if _, err := s.PruneLogs(ctx, now.Add(time.Hour)); err != nil {
				t.Fatal(err)
			}
			if fb, _ := s.FeedbackFor(ctx, "req-rt"); len(fb) != 0 {
				t.Errorf("feedback outlived the retention: %+v", fb)
			}
		})
	}
}

// Batches split into 100-row statements prepared once per size; an
// in-memory database (one connection, which the transaction holds) takes
// them too.
func TestInsertLogsChunks(t *testing.T) {
	s, err := Open(context.Background(), "sqlite://:memory:")
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for _, n := range []int{250, 100, 7, 250} {
		batch := make([]LogEntry, n)
		for i := range batch {
			batch[i] = LogEntry{ID: NewID("log_"), RequestID: "req", CreatedAt: time.Now(), Endpoint: "chat", Model: "gpt", Status: 200, Trace: "[]"}
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		err := s.InsertLogs(ctx, batch)
		cancel()
		if err != nil {
			t.Fatal(err)
		}
	}
	var rows int
	if err := s.db.QueryRow(`SELECT COUNT(*) FROM request_logs`).Scan(&rows); err != nil || rows != 607 {
		t.Errorf("%d rows (%v), want 607", rows, err)
	}
}
