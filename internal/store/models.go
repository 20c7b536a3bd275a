package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// ModelGroup is a model group defined through the admin API.
type ModelGroup struct {
	Name       string    `json:"name"`
	Definition string    `json:"-"` // JSON in the config file's shape
	UpdatedAt  time.Time `json:"updated_at"`
}

// ModelGroups lists the stored groups by name.
func (s *Store) ModelGroups(ctx context.Context) ([]ModelGroup, error) {
	rows, err := s.query(ctx, `SELECT name, definition, updated_at FROM model_groups ORDER BY name`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []ModelGroup
	for rows.Next() {
		var g ModelGroup
		var at int64
		if err := rows.Scan(&g.Name, &g.Definition, &at); err != nil {
			return nil, err
		}
		g.UpdatedAt = time.UnixMilli(at).UTC()
		out = append(out, g)
	}
	return out, rows.Err()
}

// PutModelGroup creates or replaces a group, audited.
func (s *Store) PutModelGroup(ctx context.Context, g *ModelGroup, actor string) error {
	g.UpdatedAt = time.Now().UTC()
	return s.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, s.rebind(`UPDATE model_groups SET definition = ?, updated_at = ? WHERE name = ?`), g.Definition, g.UpdatedAt.UnixMilli(), g.Name)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			if _, err := tx.ExecContext(ctx, s.rebind(`INSERT INTO model_groups (name, definition, updated_at) VALUES (?,?,?)`), g.Name, g.Definition, g.UpdatedAt.UnixMilli()); err != nil {
				return s.writeErr(err)
			}
		}
		return s.audit(ctx, tx, actor, "model.put", g.Name, nil, rawJSON(g.Definition))
	})
}

// DeleteModelGroup removes a group, audited.
func (s *Store) DeleteModelGroup(ctx context.Context, name, actor string) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, s.rebind(`DELETE FROM model_groups WHERE name = ?`), name)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return ErrNotFound
		}
		return s.audit(ctx, tx, actor, "model.delete", name, nil, nil)
	})
}

// ModelGroupsVersion changes whenever a group is added, changed or
// removed, so replicas can poll for changes cheaply.
func (s *Store) ModelGroupsVersion(ctx context.Context) (string, error) {
	var n, at sql.NullInt64
	err := s.queryRow(ctx, `SELECT COUNT(*), MAX(updated_at) FROM model_groups`).Scan(&n, &at)
	return fmt.Sprintf("%d/%d", n.Int64, at.Int64), err
}

type rawJSON string

func (r rawJSON) MarshalJSON() ([]byte, error) { return []byte(r), nil }
