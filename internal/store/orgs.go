package store

import (
	"context"
	"database/sql"
	"errors"
	"strconv"
	"time"
)

// Org is an organization: teams belong to one, and its budget is shared
// by all of them.
type Org struct {
	ID           string    `json:"id"`
	Name         string    `json:"name"`
	MaxBudgetUSD *float64  `json:"max_budget_usd"`
	BudgetPeriod string    `json:"budget_period"`
	CreatedAt    time.Time `json:"created_at"`
}

const orgColumns = `id, name, max_budget_usd, budget_period, created_at`

func scanOrg(row interface{ Scan(...any) error }) (*Org, error) {
	var o Org
	var budget sql.NullFloat64
	var created int64
	if err := row.Scan(&o.ID, &o.Name, &budget, &o.BudgetPeriod, &created); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return nil, ErrNotFound
		}
		return nil, err
	}
	if budget.Valid {
		o.MaxBudgetUSD = &budget.Float64
	}
	o.CreatedAt = time.UnixMilli(created).UTC()
	return &o, nil
}

// CreateOrg stores an organization and its audit entry.
func (s *Store) CreateOrg(ctx context.Context, o *Org, actor string) error {
	if o.BudgetPeriod == "" {
		o.BudgetPeriod = "monthly"
	}
	return s.tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, s.rebind(`INSERT INTO organizations (`+orgColumns+`) VALUES (?,?,?,?,?)`),
			o.ID, o.Name, o.MaxBudgetUSD, o.BudgetPeriod, o.CreatedAt.UnixMilli()); err != nil {
			return s.writeErr(err)
		}
		return s.audit(ctx, tx, actor, "org.create", o.ID, nil, o)
	})
}

// OrgByID reads an organization.
func (s *Store) OrgByID(ctx context.Context, id string) (*Org, error) {
	return scanOrg(s.queryRow(ctx, `SELECT `+orgColumns+` FROM organizations WHERE id = ?`, id))
}

// ListOrgs pages through organizations by id.
func (s *Store) ListOrgs(ctx context.Context, after string, limit int) ([]*Org, error) {
	rows, err := s.query(ctx, `SELECT `+orgColumns+` FROM organizations WHERE id > ? ORDER BY id LIMIT `+strconv.Itoa(limit), after)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*Org
	for rows.Next() {
		o, err := scanOrg(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, o)
	}
	return out, rows.Err()
}

// UpdateOrg applies change to an organization with its audit entry; an
// error from change aborts it.
func (s *Store) UpdateOrg(ctx context.Context, id string, change func(*Org) error, actor string) (*Org, error) {
	var out *Org
	err := s.tx(ctx, func(tx *sql.Tx) error {
		before, err := scanOrg(tx.QueryRowContext(ctx, s.rebind(`SELECT `+orgColumns+` FROM organizations WHERE id = ?`), id))
		if err != nil {
			return err
		}
		after := *before
		if err := change(&after); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, s.rebind(`UPDATE organizations SET name = ?, max_budget_usd = ?, budget_period = ? WHERE id = ?`),
			after.Name, after.MaxBudgetUSD, after.BudgetPeriod, id); err != nil {
			return s.writeErr(err)
		}
		out = &after
		return s.audit(ctx, tx, actor, "org.update", id, before, &after)
	})
	return out, err
}

// DeleteOrg removes an organization no team belongs to.
func (s *Store) DeleteOrg(ctx context.Context, id, actor string) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		before, err := scanOrg(tx.QueryRowContext(ctx, s.rebind(`SELECT `+orgColumns+` FROM organizations WHERE id = ?`), id))
		if err != nil {
			return err
		}
		var n int
		tx.QueryRowContext(ctx, s.rebind(`SELECT COUNT(*) FROM teams WHERE org_id = ?`), id).Scan(&n)
		if n > 0 {
			return ErrInUse
		}
		if _, err := tx.ExecContext(ctx, s.rebind(`DELETE FROM organizations WHERE id = ?`), id); err != nil {
			return err
		}
		return s.audit(ctx, tx, actor, "org.delete", id, before, nil)
	})
}
