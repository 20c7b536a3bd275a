package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// Definition is a model group or provider defined through the admin API,
// as JSON in the config file's shape.
type Definition struct {
	Name       string    `json:"name"`
	Definition string    `json:"-"`
	UpdatedAt  time.Time `json:"updated_at"`
}

// The tables that hold definitions, one row per name.
const (
	modelGroupsTable  = "model_groups"
	providerDefsTable = "provider_defs"
)

// ModelGroups lists the stored model groups by name.
func (s *Store) ModelGroups(ctx context.Context) ([]Definition, error) {
	return s.definitions(ctx, modelGroupsTable)
}

// Providers lists the stored providers by name.
func (s *Store) Providers(ctx context.Context) ([]Definition, error) {
	return s.definitions(ctx, providerDefsTable)
}

// PutModelGroup creates or replaces a model group, audited.
func (s *Store) PutModelGroup(ctx context.Context, g *Definition, actor string) error {
	return s.tx(ctx, func(tx *sql.Tx) error { return s.putDefinition(ctx, tx, modelGroupsTable, "model.put", g, actor) })
}

// DeleteModelGroup removes a model group, audited.
func (s *Store) DeleteModelGroup(ctx context.Context, name, actor string) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		return s.deleteDefinition(ctx, tx, modelGroupsTable, "model.delete", name, actor)
	})
}

// PutProvider creates or replaces a provider together with the
// credentials its definition refers to, in one transaction.
func (s *Store) PutProvider(ctx context.Context, p *Definition, creds []*Credential, actor string) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		for _, c := range creds {
			if err := s.putCredential(ctx, tx, c, actor); err != nil {
				return err
			}
		}
		return s.putDefinition(ctx, tx, providerDefsTable, "provider.put", p, actor)
	})
}

// DeleteProvider removes a provider and the credentials named with
// ownPrefix (those stored with it), in one transaction.
func (s *Store) DeleteProvider(ctx context.Context, name, ownPrefix, actor string) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		if err := s.deleteDefinition(ctx, tx, providerDefsTable, "provider.delete", name, actor); err != nil {
			return err
		}
		// A prefix compared exactly: LIKE would treat '_' as a wildcard,
		// and SQLite's ignores case.
		_, err := tx.ExecContext(ctx, s.rebind(`DELETE FROM credentials WHERE substr(name, 1, ?) = ?`), len(ownPrefix), ownPrefix)
		return err
	})
}

func (s *Store) definitions(ctx context.Context, table string) ([]Definition, error) {
	rows, err := s.query(ctx, `SELECT name, definition, updated_at FROM `+table+` ORDER BY name`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Definition
	for rows.Next() {
		var d Definition
		var at int64
		if err := rows.Scan(&d.Name, &d.Definition, &at); err != nil {
			return nil, err
		}
		d.UpdatedAt = time.UnixMilli(at).UTC()
		out = append(out, d)
	}
	return out, rows.Err()
}

func (s *Store) putDefinition(ctx context.Context, tx *sql.Tx, table, action string, d *Definition, actor string) error {
	d.UpdatedAt = time.Now().UTC()
	res, err := tx.ExecContext(ctx, s.rebind(`UPDATE `+table+` SET definition = ?, updated_at = ? WHERE name = ?`), d.Definition, d.UpdatedAt.UnixMilli(), d.Name)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		if _, err := tx.ExecContext(ctx, s.rebind(`INSERT INTO `+table+` (name, definition, updated_at) VALUES (?,?,?)`), d.Name, d.Definition, d.UpdatedAt.UnixMilli()); err != nil {
			return s.writeErr(err)
		}
	}
	return s.audit(ctx, tx, actor, action, d.Name, nil, rawJSON(d.Definition))
}

func (s *Store) deleteDefinition(ctx context.Context, tx *sql.Tx, table, action, name, actor string) error {
	res, err := tx.ExecContext(ctx, s.rebind(`DELETE FROM `+table+` WHERE name = ?`), name)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return ErrNotFound
	}
	return s.audit(ctx, tx, actor, action, name, nil, nil)
}

// RuntimeVersion changes whenever a model group, provider or credential
// is added, changed or removed, so replicas can poll for changes cheaply.
func (s *Store) RuntimeVersion(ctx context.Context) (string, error) {
	var v [6]sql.NullInt64
	err := s.queryRow(ctx, `SELECT
		(SELECT COUNT(*) FROM model_groups), (SELECT MAX(updated_at) FROM model_groups),
		(SELECT COUNT(*) FROM provider_defs), (SELECT MAX(updated_at) FROM provider_defs),
		(SELECT COUNT(*) FROM credentials), (SELECT MAX(updated_at) FROM credentials)`).Scan(&v[0], &v[1], &v[2], &v[3], &v[4], &v[5])
	return fmt.Sprintf("%d/%d/%d/%d/%d/%d", v[0].Int64, v[1].Int64, v[2].Int64, v[3].Int64, v[4].Int64, v[5].Int64), err
}

type rawJSON string

func (r rawJSON) MarshalJSON() ([]byte, error) { return []byte(r), nil }
