package store

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"
)

// Key is a virtual API key. The secret itself is never stored: Hash is a
// keyed hash of it, Prefix the few characters shown to recognise it.
type Key struct {
	ID           string          `json:"id"`
	Name         string          `json:"name"`
	Hash         string          `json:"-"`
	Prefix       string          `json:"prefix"`
	Role         string          `json:"role"`
	Scopes       string          `json:"scopes"`
	TeamID       string          `json:"team_id,omitempty"`
	UserID       string          `json:"user_id,omitempty"`
	Models       []string        `json:"models"`
	MaxBudgetUSD *float64        `json:"max_budget_usd,omitempty"`
	BudgetPeriod string          `json:"budget_period,omitempty"`
	RPM          int             `json:"rpm,omitempty"`
	TPM          int             `json:"tpm,omitempty"`
	MaxParallel  int             `json:"max_parallel,omitempty"`
	ModelLimits  ModelLimits     `json:"model_limits,omitempty"`
	Metadata     json.RawMessage `json:"metadata,omitempty"`
	// LogPayloads stores this key's prompts and completions in the log.
	LogPayloads bool `json:"log_payloads"`
	// NoCache keeps this key's requests out of the response cache.
	NoCache    bool       `json:"no_cache"`
	ExpiresAt  *time.Time `json:"expires_at,omitempty"`
	RevokedAt  *time.Time `json:"revoked_at,omitempty"`
	LastUsedAt *time.Time `json:"last_used_at,omitempty"`
	CreatedAt  time.Time  `json:"created_at"`
}

// ModelLimit is what one model may use within a key or team.
type ModelLimit struct {
	RPM         int `json:"rpm,omitempty"`
	TPM         int `json:"tpm,omitempty"`
	MaxParallel int `json:"max_parallel,omitempty"`
}

// ModelLimits are limits per model name (as clients ask for it).
type ModelLimits map[string]ModelLimit

func (m ModelLimits) encode() string {
	if len(m) == 0 {
		return "{}"
	}
	b, _ := json.Marshal(m)
	return string(b)
}

func decodeModelLimits(s string) ModelLimits {
	var m ModelLimits
	if s != "" && s != "{}" {
		json.Unmarshal([]byte(s), &m)
	}
	return m
}

// NewID returns a time-ordered id with a prefix ("key_", "team_", ...), so
// keyset pagination by id follows creation order.
func NewID(prefix string) string {
	var r [8]byte
	rand.Read(r[:])
	return prefix + fmt.Sprintf("%012x", time.Now().UnixMilli()) + hex.EncodeToString(r[:])
}

func millis(t *time.Time) any {
	if t == nil {
		return nil
	}
	return t.UnixMilli()
}

func fromMillis(v sql.NullInt64) *time.Time {
	if !v.Valid {
		return nil
	}
	t := time.UnixMilli(v.Int64).UTC()
	return &t
}

func nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// CreateKey stores a key and its audit entry in one transaction.
func (s *Store) CreateKey(ctx context.Context, k *Key, actor string) error {
	models, _ := json.Marshal(k.Models)
	if k.Models == nil {
		models = []byte("[]")
	}
	meta := string(k.Metadata)
	if meta == "" {
		meta = "{}"
	}
	var budget any
	if k.MaxBudgetUSD != nil {
		budget = *k.MaxBudgetUSD
	}
	return s.tx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, s.rebind(`INSERT INTO api_keys (id, name, key_hash, prefix, role, scopes, team_id, user_id, models,
			max_budget_usd, budget_period, rpm, tpm, max_parallel, model_limits, metadata, log_payloads, no_cache, expires_at, created_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)`),
			k.ID, k.Name, k.Hash, k.Prefix, k.Role, k.Scopes, nullable(k.TeamID), nullable(k.UserID), string(models),
			budget, k.BudgetPeriod, k.RPM, k.TPM, k.MaxParallel, k.ModelLimits.encode(), meta, b2i(k.LogPayloads), b2i(k.NoCache), millis(k.ExpiresAt), k.CreatedAt.UnixMilli())
		if isUnique(err) {
			return ErrConflict
		}
		if isForeignKey(err) {
			return ErrUnknownRef
		}
		if err != nil {
			return err
		}
		return s.audit(ctx, tx, actor, "key.create", k.ID, nil, k)
	})
}

const keyColumns = `id, name, key_hash, prefix, role, scopes, team_id, user_id, models, max_budget_usd, budget_period, rpm, tpm, max_parallel, model_limits, metadata, log_payloads, no_cache, expires_at, revoked_at, last_used_at, created_at`

func scanKey(row interface{ Scan(...any) error }) (*Key, error) {
	var k Key
	var team, user sql.NullString
	var models, meta, modelLimits string
	var budget sql.NullFloat64
	var expires, revoked, used sql.NullInt64
	var created int64
	var payloads, noCache int
	if err := row.Scan(&k.ID, &k.Name, &k.Hash, &k.Prefix, &k.Role, &k.Scopes, &team, &user, &models, &budget,
		&k.BudgetPeriod, &k.RPM, &k.TPM, &k.MaxParallel, &modelLimits, &meta, &payloads, &noCache, &expires, &revoked, &used, &created); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return nil, ErrNotFound
		}
		return nil, err
	}
	k.TeamID, k.UserID, k.LogPayloads, k.NoCache = team.String, user.String, payloads == 1, noCache == 1
	json.Unmarshal([]byte(models), &k.Models)
	k.ModelLimits = decodeModelLimits(modelLimits)
	if k.Models == nil {
		k.Models = []string{}
	}
	if meta != "{}" {
		k.Metadata = json.RawMessage(meta)
	}
	if budget.Valid {
		k.MaxBudgetUSD = &budget.Float64
	}
	k.ExpiresAt, k.RevokedAt, k.LastUsedAt = fromMillis(expires), fromMillis(revoked), fromMillis(used)
	k.CreatedAt = time.UnixMilli(created).UTC()
	return &k, nil
}

// KeyByHash finds a key by its hash.
func (s *Store) KeyByHash(ctx context.Context, hash string) (*Key, error) {
	return scanKey(s.queryRow(ctx, `SELECT `+keyColumns+` FROM api_keys WHERE key_hash = ?`, hash))
}

// KeyByID finds a key by id.
func (s *Store) KeyByID(ctx context.Context, id string) (*Key, error) {
	return scanKey(s.queryRow(ctx, `SELECT `+keyColumns+` FROM api_keys WHERE id = ?`, id))
}

// ListKeys returns up to limit keys after the given id (keyset
// pagination), optionally of one team.
func (s *Store) ListKeys(ctx context.Context, after string, limit int, teamID string) ([]*Key, error) {
	q := `SELECT ` + keyColumns + ` FROM api_keys WHERE id > ?`
	args := []any{after}
	if teamID != "" {
		q += ` AND team_id = ?`
		args = append(args, teamID)
	}
	q += ` ORDER BY id LIMIT ` + strconv.Itoa(limit)
	rows, err := s.query(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*Key
	for rows.Next() {
		k, err := scanKey(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, k)
	}
	return out, rows.Err()
}

// RevokeKey marks a key revoked (kept for the audit trail and the logs).
func (s *Store) RevokeKey(ctx context.Context, id, actor string) (*Key, error) {
	var out *Key
	err := s.tx(ctx, func(tx *sql.Tx) error {
		before, err := scanKey(tx.QueryRowContext(ctx, s.rebind(`SELECT `+keyColumns+` FROM api_keys WHERE id = ?`), id))
		if err != nil {
			return err
		}
		if before.RevokedAt != nil {
			out = before
			return nil
		}
		now := time.Now().UTC()
		if _, err := tx.ExecContext(ctx, s.rebind(`UPDATE api_keys SET revoked_at = ? WHERE id = ?`), now.UnixMilli(), id); err != nil {
			return err
		}
		after := *before
		after.RevokedAt = &now
		out = &after
		return s.audit(ctx, tx, actor, "key.revoke", id, before, &after)
	})
	return out, err
}

// TouchKey records a key's last use (best effort, off the request path).
func (s *Store) TouchKey(ctx context.Context, id string, at time.Time) error {
	_, err := s.exec(ctx, `UPDATE api_keys SET last_used_at = ? WHERE id = ?`, at.UnixMilli(), id)
	return err
}

func (s *Store) tx(ctx context.Context, fn func(*sql.Tx) error) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err := fn(tx); err != nil {
		tx.Rollback()
		return err
	}
	return tx.Commit()
}

// AuditEntry is one audited change.
type AuditEntry struct {
	ID     string          `json:"id"`
	At     time.Time       `json:"at"`
	Actor  string          `json:"actor"`
	Action string          `json:"action"`
	Target string          `json:"target"`
	Before json.RawMessage `json:"before,omitempty"`
	After  json.RawMessage `json:"after,omitempty"`
}

// audit writes an entry; before and after are marshalled with their JSON
// tags, which never include secrets or hashes.
func (s *Store) audit(ctx context.Context, tx *sql.Tx, actor, action, target string, before, after any) error {
	enc := func(v any) string {
		if v == nil {
			return ""
		}
		b, _ := json.Marshal(v)
		return string(b)
	}
	_, err := tx.ExecContext(ctx, s.rebind(`INSERT INTO audit_log (id, at, actor, action, target, before, after) VALUES (?,?,?,?,?,?,?)`),
		NewID("aud_"), time.Now().UnixMilli(), actor, action, target, enc(before), enc(after))
	return err
}

// Note records an action that changed something outside the database
// (a cache purge, say) in the audit log.
func (s *Store) Note(ctx context.Context, actor, action, target string, after any) error {
	return s.tx(ctx, func(tx *sql.Tx) error { return s.audit(ctx, tx, actor, action, target, nil, after) })
}

// Audit lists audit entries, newest first.
func (s *Store) Audit(ctx context.Context, limit int) ([]AuditEntry, error) {
	rows, err := s.query(ctx, `SELECT id, at, actor, action, target, before, after FROM audit_log ORDER BY at DESC, id DESC LIMIT `+strconv.Itoa(limit))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []AuditEntry
	for rows.Next() {
		var e AuditEntry
		var at int64
		var before, after string
		if err := rows.Scan(&e.ID, &at, &e.Actor, &e.Action, &e.Target, &before, &after); err != nil {
			return nil, err
		}
		e.At = time.UnixMilli(at).UTC()
		if before != "" {
			e.Before = json.RawMessage(before)
		}
		if after != "" {
			e.After = json.RawMessage(after)
		}
		out = append(out, e)
	}
	return out, rows.Err()
}
