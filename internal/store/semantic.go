package store

import (
	"context"
	"strings"
	"time"
)

// SemanticRow is one semantic-cache entry: the partition it belongs to,
// the prompt's embedding (base64 of little-endian float32s) and the
// answer (JSON), as the cache package encodes them.
type SemanticRow struct {
	ID        string
	Part      string
	Vector    string
	Entry     string
	CreatedAt time.Time
	ExpiresAt time.Time
}

// PutSemantic stores an entry.
func (s *Store) PutSemantic(ctx context.Context, r SemanticRow) error {
	_, err := s.exec(ctx, `INSERT INTO semantic_cache (id, part, vector, entry, created_at, expires_at) VALUES (?,?,?,?,?,?)`,
		r.ID, r.Part, r.Vector, r.Entry, r.CreatedAt.UnixMilli(), r.ExpiresAt.UnixMilli())
	return err
}

// SemanticSince lists live entries created at or after since, oldest
// first, at most limit.
func (s *Store) SemanticSince(ctx context.Context, since, now time.Time, limit int) ([]SemanticRow, error) {
	rows, err := s.query(ctx, `SELECT id, part, vector, entry, created_at, expires_at FROM semantic_cache
		WHERE created_at >= ? AND expires_at > ? ORDER BY created_at, id LIMIT ?`, since.UnixMilli(), now.UnixMilli(), limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []SemanticRow
	for rows.Next() {
		var r SemanticRow
		var created, expires int64
		if err := rows.Scan(&r.ID, &r.Part, &r.Vector, &r.Entry, &created, &expires); err != nil {
			return nil, err
		}
		r.CreatedAt, r.ExpiresAt = time.UnixMilli(created).UTC(), time.UnixMilli(expires).UTC()
		out = append(out, r)
	}
	return out, rows.Err()
}

// SemanticCount counts live entries, so replicas notice deletions.
func (s *Store) SemanticCount(ctx context.Context, now time.Time) (int, error) {
	var n int
	err := s.queryRow(ctx, `SELECT COUNT(*) FROM semantic_cache WHERE expires_at > ?`, now.UnixMilli()).Scan(&n)
	return n, err
}

// DeleteSemantic removes entries by id.
func (s *Store) DeleteSemantic(ctx context.Context, ids []string) (int, error) {
	total := 0
	for start := 0; start < len(ids); start += 500 {
		chunk := ids[start:min(start+500, len(ids))]
		args := make([]any, len(chunk))
		for i, id := range chunk {
			args[i] = id
		}
		res, err := s.exec(ctx, `DELETE FROM semantic_cache WHERE id IN (`+strings.TrimSuffix(strings.Repeat("?,", len(chunk)), ",")+`)`, args...)
		if err != nil {
			return total, err
		}
		n, _ := res.RowsAffected()
		total += int(n)
	}
	return total, nil
}

// PruneSemantic deletes expired entries.
func (s *Store) PruneSemantic(ctx context.Context, now time.Time) (int64, error) {
	res, err := s.exec(ctx, `DELETE FROM semantic_cache WHERE expires_at <= ?`, now.UnixMilli())
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}
