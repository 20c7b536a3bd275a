package store

import (
	"context"
	"database/sql"
	"errors"
	"strconv"
	"strings"
	"time"
)

// LogEntry is one request in the request log.
type LogEntry struct {
	ID               string    `json:"id"`
	RequestID        string    `json:"request_id"`
	CreatedAt        time.Time `json:"created_at"`
	KeyID            string    `json:"key_id"`
	TeamID           string    `json:"team_id"`
	UserID           string    `json:"user_id"`
	Endpoint         string    `json:"endpoint"`
	Model            string    `json:"model"`
	Provider         string    `json:"provider"`
	DeploymentModel  string    `json:"deployment_model"`
	Stream           bool      `json:"stream"`
	Status           int       `json:"status"`
	Error            string    `json:"error"`
	ErrorType        string    `json:"error_type"`
	ErrorCode        string    `json:"error_code"`
	LatencyMS        float64   `json:"latency_ms"`
	TTFTMS           float64   `json:"ttft_ms"`
	InputTokens      int64     `json:"input_tokens"`
	OutputTokens     int64     `json:"output_tokens"`
	CachedTokens     int64     `json:"cached_tokens"`
	CacheWriteTokens int64     `json:"cache_write_tokens"`
	ReasoningTokens  int64     `json:"reasoning_tokens"`
	UsageEstimated   bool      `json:"usage_estimated"`
	CostUSD          float64   `json:"cost_usd"`
	Unpriced         bool      `json:"unpriced"`
	Cache            string    `json:"cache"`
	// CostSavedUSD is what a cache hit's answer cost when it was made;
	// CacheSource the request that made it.
	CostSavedUSD float64 `json:"cost_saved_usd"`
	CacheSource  string  `json:"cache_source,omitempty"`
	Attempts     int     `json:"attempts"`
	OverheadMS   float64 `json:"overhead_ms"`
	// RequestBody and ResponseBody are the captured payloads (redacted,
	// capped), when capture was on; read only with one entry.
	RequestBody  string `json:"request_body,omitempty"`
	ResponseBody string `json:"response_body,omitempty"`
	Metadata     string `json:"-"` // the client's JSON object, or ""
	Tags         string `json:"-"` // comma-separated
	Trace        string `json:"-"`
}

// logColumns are request_logs' columns in the order entries are written
// and read.
const logColumns = `id, request_id, created_at, key_id, team_id, user_id, endpoint, model, provider, deployment_model, stream, status, error, error_type, error_code,
	latency_ms, ttft_ms, overhead_ms, input_tokens, output_tokens, cached_tokens, cache_write_tokens, reasoning_tokens, usage_estimated, cost_usd, unpriced,
	cache, attempts, metadata, tags, trace, cost_saved_usd, cache_source`

// insertColumns add the payloads, which lists leave out.
const insertColumns = logColumns + `, request_body, response_body`

func (e *LogEntry) values(args []any) []any {
	trace := e.Trace
	if trace == "" {
		trace = "[]"
	}
	return append(args, e.ID, e.RequestID, e.CreatedAt.UnixMilli(), e.KeyID, e.TeamID, e.UserID, e.Endpoint, e.Model, e.Provider, e.DeploymentModel,
		b2i(e.Stream), e.Status, e.Error, e.ErrorType, e.ErrorCode, e.LatencyMS, e.TTFTMS, e.OverheadMS, e.InputTokens, e.OutputTokens,
		e.CachedTokens, e.CacheWriteTokens, e.ReasoningTokens, b2i(e.UsageEstimated), e.CostUSD, b2i(e.Unpriced), e.Cache, e.Attempts, e.Metadata, e.Tags, trace,
		e.CostSavedUSD, e.CacheSource, e.RequestBody, e.ResponseBody)
}

// scanLog reads logColumns, and the payloads too when withPayloads.
func scanLog(row interface{ Scan(...any) error }, withPayloads bool) (LogEntry, error) {
	var e LogEntry
	var created int64
	var stream, est, unpriced int
	dst := []any{&e.ID, &e.RequestID, &created, &e.KeyID, &e.TeamID, &e.UserID, &e.Endpoint, &e.Model, &e.Provider, &e.DeploymentModel, &stream,
		&e.Status, &e.Error, &e.ErrorType, &e.ErrorCode, &e.LatencyMS, &e.TTFTMS, &e.OverheadMS, &e.InputTokens, &e.OutputTokens, &e.CachedTokens,
		&e.CacheWriteTokens, &e.ReasoningTokens, &est, &e.CostUSD, &unpriced, &e.Cache, &e.Attempts, &e.Metadata, &e.Tags, &e.Trace,
		&e.CostSavedUSD, &e.CacheSource}
	if withPayloads {
		dst = append(dst, &e.RequestBody, &e.ResponseBody)
	}
	err := row.Scan(dst...)
	e.CreatedAt = time.UnixMilli(created).UTC()
	e.Stream, e.UsageEstimated, e.Unpriced = stream == 1, est == 1, unpriced == 1
	return e, err
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// InsertLogs writes a batch of entries and folds them into the daily
// rollups, in one transaction.
func (s *Store) InsertLogs(ctx context.Context, entries []LogEntry) error {
	if len(entries) == 0 {
		return nil
	}
	type rollKey struct{ day, key, team, model string }
	type roll struct {
		requests, errors, in, out int64
		cost                      float64
	}
	rolls := map[rollKey]*roll{}
	for _, e := range entries {
		k := rollKey{e.CreatedAt.UTC().Format("2006-01-02"), e.KeyID, e.TeamID, e.Model}
		r := rolls[k]
		if r == nil {
			r = &roll{}
			rolls[k] = r
		}
		r.requests++
		if e.Status >= 400 {
			r.errors++
		}
		r.in += e.InputTokens
		r.out += e.OutputTokens
		r.cost += e.CostUSD
	}
	// Multi-row inserts of up to 100 rows: few statements per batch
	// (PostgreSQL allows 65,535 parameters in one). Prepared before the
	// transaction takes a connection: an in-memory database has only one.
	// Full chunks of 100 rows and one shorter last chunk.
	var full, last *sql.Stmt
	var err error
	if len(entries) >= 100 {
		if full, err = s.logInsert(ctx, 100); err != nil {
			return err
		}
	}
	if n := len(entries) % 100; n > 0 {
		if last, err = s.logInsert(ctx, n); err != nil {
			return err
		}
	}
	return s.tx(ctx, func(tx *sql.Tx) error {
		args := make([]any, 0, min(len(entries), 100)*logColumnCount)
		for start := 0; start < len(entries); start += 100 {
			chunk := entries[start:min(start+100, len(entries))]
			stmt := full
			if len(chunk) < 100 {
				stmt = last
			}
			args = args[:0]
			for i := range chunk {
				args = chunk[i].values(args)
			}
			if _, err := tx.StmtContext(ctx, stmt).ExecContext(ctx, args...); err != nil {
				return err
			}
		}
		for k, r := range rolls {
			if _, err := tx.ExecContext(ctx, s.rebind(`INSERT INTO usage_daily (day, key_id, team_id, model, requests, errors, input_tokens, output_tokens, cost_usd)
				VALUES (?,?,?,?,?,?,?,?,?) ON CONFLICT (day, key_id, team_id, model) DO UPDATE SET
				requests = usage_daily.requests + excluded.requests, errors = usage_daily.errors + excluded.errors,
				input_tokens = usage_daily.input_tokens + excluded.input_tokens, output_tokens = usage_daily.output_tokens + excluded.output_tokens,
				cost_usd = usage_daily.cost_usd + excluded.cost_usd`),
				k.day, k.key, k.team, k.model, r.requests, r.errors, r.in, r.out, r.cost); err != nil {
				return err
			}
		}
		return nil
	})
}

var logColumnCount = strings.Count(insertColumns, ",") + 1

// logInsert is the prepared INSERT of rows request log entries.
func (s *Store) logInsert(ctx context.Context, rows int) (*sql.Stmt, error) {
	if st, ok := s.logInserts.Load(rows); ok {
		return st.(*sql.Stmt), nil
	}
	placeholders := "(" + strings.Repeat("?,", logColumnCount-1) + "?)"
	q := `INSERT INTO request_logs (` + insertColumns + `) VALUES ` + strings.Repeat(placeholders+",", rows-1) + placeholders
	st, err := s.db.PrepareContext(ctx, s.rebind(q))
	if err != nil {
		return nil, err
	}
	if prev, loaded := s.logInserts.LoadOrStore(rows, st); loaded {
		st.Close()
		return prev.(*sql.Stmt), nil
	}
	return st, nil
}

// LogFilter selects log entries.
type LogFilter struct {
	Model, KeyID, TeamID, UserID, Provider, Cache string
	Status                                        int // 0: any
	From, To                                      time.Time
	Before                                        string // keyset: entries older than this id
	Limit                                         int
}

// Logs lists entries, newest first.
func (s *Store) Logs(ctx context.Context, f LogFilter) ([]LogEntry, error) {
	q := `SELECT ` + logColumns + ` FROM request_logs WHERE 1=1`
	var args []any
	add := func(cond string, v any) {
		q += " AND " + cond
		args = append(args, v)
	}
	if f.Model != "" {
		add("model = ?", f.Model)
	}
	if f.KeyID != "" {
		add("key_id = ?", f.KeyID)
	}
	if f.TeamID != "" {
		add("team_id = ?", f.TeamID)
	}
	if f.UserID != "" {
		add("user_id = ?", f.UserID)
	}
	if f.Provider != "" {
		add("provider = ?", f.Provider)
	}
	if f.Cache != "" {
		add("cache = ?", f.Cache)
	}
	if f.Status != 0 {
		add("status = ?", f.Status)
	}
	if !f.From.IsZero() {
		add("created_at >= ?", f.From.UnixMilli())
	}
	if !f.To.IsZero() {
		add("created_at < ?", f.To.UnixMilli())
	}
	if f.Before != "" {
		add("id < ?", f.Before)
	}
	q += " ORDER BY id DESC LIMIT " + strconv.Itoa(f.Limit)
	rows, err := s.query(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []LogEntry
	for rows.Next() {
		e, err := scanLog(rows, false)
		if err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, rows.Err()
}

// UsageRow is spend and tokens for one group.
type UsageRow struct {
	Group        string  `json:"group"`
	Requests     int64   `json:"requests"`
	Errors       int64   `json:"errors"`
	InputTokens  int64   `json:"input_tokens"`
	OutputTokens int64   `json:"output_tokens"`
	CostUSD      float64 `json:"cost_usd"`
}

// UsageFilter selects rollups: days From..To inclusive (YYYY-MM-DD),
// grouped by "model", "key" or "team", optionally for one team or key.
type UsageFilter struct {
	GroupBy, From, To string
	TeamID, KeyID     string
}

// Usage sums the daily rollups.
func (s *Store) Usage(ctx context.Context, f UsageFilter) ([]UsageRow, error) {
	// A key belongs to one user for life, so usage per user is the
	// rollups of their keys.
	col := map[string]string{"model": "u.model", "key": "u.key_id", "team": "u.team_id", "user": "COALESCE(k.user_id, '')"}[f.GroupBy]
	if col == "" {
		col = "u.model"
	}
	q := `SELECT ` + col + `, SUM(u.requests), SUM(u.errors), SUM(u.input_tokens), SUM(u.output_tokens), SUM(u.cost_usd)
		FROM usage_daily u LEFT JOIN api_keys k ON k.id = u.key_id WHERE u.day >= ? AND u.day <= ?`
	args := []any{f.From, f.To}
	if f.TeamID != "" {
		q += ` AND u.team_id = ?`
		args = append(args, f.TeamID)
	}
	if f.KeyID != "" {
		q += ` AND u.key_id = ?`
		args = append(args, f.KeyID)
	}
	rows, err := s.query(ctx, q+` GROUP BY `+col+` ORDER BY `+col, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []UsageRow
	for rows.Next() {
		var r UsageRow
		if err := rows.Scan(&r.Group, &r.Requests, &r.Errors, &r.InputTokens, &r.OutputTokens, &r.CostUSD); err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// PruneLogs deletes request log rows (and feedback) created before
// cutoff, in chunks so no single statement holds the database for long;
// rollups stay. On PostgreSQL whole days go first, by dropping their
// partitions, and the next days' partitions are made. It returns how many
// log rows went.
func (s *Store) PruneLogs(ctx context.Context, cutoff time.Time) (int64, error) {
	if err := s.ensureLogPartitions(ctx, time.Now()); err != nil {
		return 0, err
	}
	total, err := s.dropLogPartitions(ctx, cutoff)
	if err != nil {
		return total, err
	}
	for _, table := range []string{"request_logs", "feedback"} {
		for {
			res, err := s.exec(ctx, `DELETE FROM `+table+` WHERE id IN (SELECT id FROM `+table+` WHERE created_at < ? LIMIT 5000)`, cutoff.UnixMilli())
			if err != nil {
				return total, err
			}
			n, _ := res.RowsAffected()
			if table == "request_logs" {
				total += n
			}
			if n < 5000 {
				break
			}
		}
	}
	return total, nil
}

// LogByRequestID reads the newest entry with a request id (a client may
// reuse its own ids).
func (s *Store) LogByRequestID(ctx context.Context, requestID string) (LogEntry, error) {
	e, err := scanLog(s.queryRow(ctx, `SELECT `+insertColumns+` FROM request_logs WHERE request_id = ? ORDER BY id DESC LIMIT 1`, requestID), true)
	if errors.Is(err, sql.ErrNoRows) {
		return e, ErrNotFound
	}
	return e, err
}

// Feedback is a score a client gave an answer.
type Feedback struct {
	ID        string    `json:"id"`
	RequestID string    `json:"request_id"`
	KeyID     string    `json:"key_id,omitempty"`
	Score     float64   `json:"score"`
	Label     string    `json:"label,omitempty"`
	Comment   string    `json:"comment,omitempty"`
	CreatedAt time.Time `json:"created_at"`
}

// AddFeedback stores a score.
func (s *Store) AddFeedback(ctx context.Context, f *Feedback) error {
	_, err := s.exec(ctx, `INSERT INTO feedback (id, request_id, key_id, score, label, comment, created_at) VALUES (?,?,?,?,?,?,?)`,
		f.ID, f.RequestID, f.KeyID, f.Score, f.Label, f.Comment, f.CreatedAt.UnixMilli())
	return err
}

// FeedbackFor lists the scores given for a request, oldest first.
func (s *Store) FeedbackFor(ctx context.Context, requestID string) ([]Feedback, error) {
	rows, err := s.query(ctx, `SELECT id, request_id, key_id, score, label, comment, created_at FROM feedback WHERE request_id = ? ORDER BY id`, requestID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []Feedback{}
	for rows.Next() {
		var f Feedback
		var at int64
		if err := rows.Scan(&f.ID, &f.RequestID, &f.KeyID, &f.Score, &f.Label, &f.Comment, &at); err != nil {
			return nil, err
		}
		f.CreatedAt = time.UnixMilli(at).UTC()
		out = append(out, f)
	}
	return out, rows.Err()
}
