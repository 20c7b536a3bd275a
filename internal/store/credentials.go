package store

import (
	"context"
	"database/sql"
	"errors"
	"time"
)

// Credential is a named provider secret, sealed by the caller.
type Credential struct {
	Name      string    `json:"name"`
	Sealed    string    `json:"-"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// PutCredential creates or replaces a credential; the audit entry names
// it without its value.
func (s *Store) PutCredential(ctx context.Context, c *Credential, actor string) error {
	return s.tx(ctx, func(tx *sql.Tx) error { return s.putCredential(ctx, tx, c, actor) })
}

func (s *Store) putCredential(ctx context.Context, tx *sql.Tx, c *Credential, actor string) error {
	now := time.Now().UTC()
	var created int64
	err := tx.QueryRowContext(ctx, s.rebind(`SELECT created_at FROM credentials WHERE name = ?`), c.Name).Scan(&created)
	action := "credential.update"
	switch {
	case errors.Is(err, sql.ErrNoRows):
		action, created = "credential.create", now.UnixMilli()
		_, err = tx.ExecContext(ctx, s.rebind(`INSERT INTO credentials (name, sealed, created_at, updated_at) VALUES (?,?,?,?)`), c.Name, c.Sealed, created, now.UnixMilli())
	case err == nil:
		_, err = tx.ExecContext(ctx, s.rebind(`UPDATE credentials SET sealed = ?, updated_at = ? WHERE name = ?`), c.Sealed, now.UnixMilli(), c.Name)
	}
	if err != nil {
		return err
	}
	c.CreatedAt, c.UpdatedAt = time.UnixMilli(created).UTC(), now
	return s.audit(ctx, tx, actor, action, c.Name, nil, map[string]string{"name": c.Name})
}

// Credentials lists every credential (sealed values included, for the
// caller to open or re-seal), by name.
func (s *Store) Credentials(ctx context.Context) ([]*Credential, error) {
	rows, err := s.query(ctx, `SELECT name, sealed, created_at, updated_at FROM credentials ORDER BY name`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*Credential
	for rows.Next() {
		var c Credential
		var created, updated int64
		if err := rows.Scan(&c.Name, &c.Sealed, &created, &updated); err != nil {
			return nil, err
		}
		c.CreatedAt, c.UpdatedAt = time.UnixMilli(created).UTC(), time.UnixMilli(updated).UTC()
		out = append(out, &c)
	}
	return out, rows.Err()
}

// DeleteCredential removes a credential.
func (s *Store) DeleteCredential(ctx context.Context, name, actor string) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, s.rebind(`DELETE FROM credentials WHERE name = ?`), name)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return ErrNotFound
		}
		return s.audit(ctx, tx, actor, "credential.delete", name, map[string]string{"name": name}, nil)
	})
}

// ResealCredentials rewrites every credential whose sealed value reseal
// changes, in one transaction: all re-encrypted or none.
func (s *Store) ResealCredentials(ctx context.Context, reseal func(name, sealed string) (string, bool, error), actor string) (int, error) {
	all, err := s.Credentials(ctx)
	if err != nil {
		return 0, err
	}
	n := 0
	err = s.tx(ctx, func(tx *sql.Tx) error {
		for _, c := range all {
			next, changed, err := reseal(c.Name, c.Sealed)
			if err != nil {
				return err
			}
			if !changed {
				continue
			}
			if _, err := tx.ExecContext(ctx, s.rebind(`UPDATE credentials SET sealed = ? WHERE name = ?`), next, c.Name); err != nil {
				return err
			}
			n++
		}
		return s.audit(ctx, tx, actor, "credential.reencrypt", "*", nil, map[string]int{"count": n})
	})
	return n, err
}

// CredentialSealed reads one credential's sealed value.
func (s *Store) CredentialSealed(ctx context.Context, name string) (string, error) {
	var sealed string
	err := s.queryRow(ctx, `SELECT sealed FROM credentials WHERE name = ?`, name).Scan(&sealed)
	if errors.Is(err, sql.ErrNoRows) {
		return "", ErrNotFound
	}
	return sealed, err
}
