package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"strconv"
	"time"
)

// Team groups users and keys.
type Team struct {
	ID    string `json:"id"`
	OrgID string `json:"org_id,omitempty"`
	Name  string `json:"name"`
	// Limits shared by every key of the team, on top of each key's own.
	MaxBudgetUSD *float64    `json:"max_budget_usd"`
	BudgetPeriod string      `json:"budget_period"`
	RPM          int         `json:"rpm"`
	TPM          int         `json:"tpm"`
	MaxParallel  int         `json:"max_parallel"`
	ModelLimits  ModelLimits `json:"model_limits,omitempty"`
	Models       []string    `json:"models"` // allowed models; empty allows all
	// LogPayloads stores the team's prompts and completions in the log.
	LogPayloads bool      `json:"log_payloads"`
	CreatedAt   time.Time `json:"created_at"`
}

const teamColumns = `id, org_id, name, max_budget_usd, budget_period, rpm, tpm, max_parallel, model_limits, models, log_payloads, created_at`

func modelsJSON(m []string) string {
	if len(m) == 0 {
		return "[]"
	}
	b, _ := json.Marshal(m)
	return string(b)
}

// User is a person with a role, optionally in a team.
type User struct {
	ID     string `json:"id"`
	Email  string `json:"email"`
	Name   string `json:"name"`
	Role   string `json:"role"`
	TeamID string `json:"team_id,omitempty"`
	// A budget and limits shared by every key the user owns.
	MaxBudgetUSD *float64    `json:"max_budget_usd"`
	BudgetPeriod string      `json:"budget_period"`
	RPM          int         `json:"rpm"`
	TPM          int         `json:"tpm"`
	MaxParallel  int         `json:"max_parallel"`
	ModelLimits  ModelLimits `json:"model_limits,omitempty"`
	CreatedAt    time.Time   `json:"created_at"`
}

// ErrInUse is returned when deleting a row others still refer to.
var ErrInUse = errors.New("store: still in use")

func (s *Store) writeErr(err error) error {
	switch {
	case isUnique(err):
		return ErrConflict
	case isForeignKey(err):
		return ErrUnknownRef
	}
	return err
}

// CreateTeam stores a team and its audit entry.
func (s *Store) CreateTeam(ctx context.Context, t *Team, actor string) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		if t.BudgetPeriod == "" {
			t.BudgetPeriod = "monthly"
		}
		if _, err := tx.ExecContext(ctx, s.rebind(`INSERT INTO teams (`+teamColumns+`) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)`),
			t.ID, nullable(t.OrgID), t.Name, t.MaxBudgetUSD, t.BudgetPeriod, t.RPM, t.TPM, t.MaxParallel, t.ModelLimits.encode(), modelsJSON(t.Models), b2i(t.LogPayloads), t.CreatedAt.UnixMilli()); err != nil {
			return s.writeErr(err)
		}
		return s.audit(ctx, tx, actor, "team.create", t.ID, nil, t)
	})
}

func scanTeam(row interface{ Scan(...any) error }) (*Team, error) {
	var t Team
	var org sql.NullString
	var budget sql.NullFloat64
	var models, modelLimits string
	var created int64
	var payloads int
	if err := row.Scan(&t.ID, &org, &t.Name, &budget, &t.BudgetPeriod, &t.RPM, &t.TPM, &t.MaxParallel, &modelLimits, &models, &payloads, &created); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return nil, ErrNotFound
		}
		return nil, err
	}
	t.OrgID, t.CreatedAt, t.LogPayloads = org.String, time.UnixMilli(created).UTC(), payloads == 1
	if budget.Valid {
		t.MaxBudgetUSD = &budget.Float64
	}
	json.Unmarshal([]byte(models), &t.Models)
	t.ModelLimits = decodeModelLimits(modelLimits)
	return &t, nil
}

// TeamByID reads a team.
func (s *Store) TeamByID(ctx context.Context, id string) (*Team, error) {
	return scanTeam(s.queryRow(ctx, `SELECT `+teamColumns+` FROM teams WHERE id = ?`, id))
}

// ListTeams pages through teams by id.
func (s *Store) ListTeams(ctx context.Context, after string, limit int) ([]*Team, error) {
	rows, err := s.query(ctx, `SELECT `+teamColumns+` FROM teams WHERE id > ? ORDER BY id LIMIT `+strconv.Itoa(limit), after)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*Team
	for rows.Next() {
		t, err := scanTeam(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	return out, rows.Err()
}

// UpdateTeam applies change to a team, in one transaction with its audit
// entry; an error from change aborts it.
func (s *Store) UpdateTeam(ctx context.Context, id string, change func(*Team) error, actor string) (*Team, error) {
	var out *Team
	err := s.tx(ctx, func(tx *sql.Tx) error {
		before, err := scanTeam(tx.QueryRowContext(ctx, s.rebind(`SELECT `+teamColumns+` FROM teams WHERE id = ?`), id))
		if err != nil {
			return err
		}
		after := *before
		if err := change(&after); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, s.rebind(`UPDATE teams SET org_id = ?, name = ?, max_budget_usd = ?, budget_period = ?, rpm = ?, tpm = ?, max_parallel = ?, model_limits = ?, models = ?, log_payloads = ? WHERE id = ?`),
			nullable(after.OrgID), after.Name, after.MaxBudgetUSD, after.BudgetPeriod, after.RPM, after.TPM, after.MaxParallel, after.ModelLimits.encode(), modelsJSON(after.Models), b2i(after.LogPayloads), id); err != nil {
			return s.writeErr(err)
		}
		out = &after
		return s.audit(ctx, tx, actor, "team.update", id, before, &after)
	})
	return out, err
}

// DeleteTeam removes a team that no user or key refers to.
func (s *Store) DeleteTeam(ctx context.Context, id, actor string) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		before, err := scanTeam(tx.QueryRowContext(ctx, s.rebind(`SELECT `+teamColumns+` FROM teams WHERE id = ?`), id))
		if err != nil {
			return err
		}
		var n int
		tx.QueryRowContext(ctx, s.rebind(`SELECT (SELECT COUNT(*) FROM users WHERE team_id = ?) + (SELECT COUNT(*) FROM api_keys WHERE team_id = ?)`), id, id).Scan(&n)
		if n > 0 {
			return ErrInUse
		}
		if _, err := tx.ExecContext(ctx, s.rebind(`DELETE FROM teams WHERE id = ?`), id); err != nil {
			return err
		}
		return s.audit(ctx, tx, actor, "team.delete", id, before, nil)
	})
}

// CreateUser stores a user and its audit entry.
func (s *Store) CreateUser(ctx context.Context, u *User, actor string) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		if u.BudgetPeriod == "" {
			u.BudgetPeriod = "monthly"
		}
		if _, err := tx.ExecContext(ctx, s.rebind(`INSERT INTO users (`+userColumns+`) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)`),
			u.ID, u.Email, u.Name, u.Role, nullable(u.TeamID), u.MaxBudgetUSD, u.BudgetPeriod, u.RPM, u.TPM, u.MaxParallel, u.ModelLimits.encode(), u.CreatedAt.UnixMilli()); err != nil {
			return s.writeErr(err)
		}
		return s.audit(ctx, tx, actor, "user.create", u.ID, nil, u)
	})
}

func scanUser(row interface{ Scan(...any) error }) (*User, error) {
	var u User
	var team sql.NullString
	var budget sql.NullFloat64
	var created int64
	var modelLimits string
	if err := row.Scan(&u.ID, &u.Email, &u.Name, &u.Role, &team, &budget, &u.BudgetPeriod, &u.RPM, &u.TPM, &u.MaxParallel, &modelLimits, &created); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return nil, ErrNotFound
		}
		return nil, err
	}
	u.TeamID, u.CreatedAt = team.String, time.UnixMilli(created).UTC()
	u.ModelLimits = decodeModelLimits(modelLimits)
	if budget.Valid {
		u.MaxBudgetUSD = &budget.Float64
	}
	return &u, nil
}

const userColumns = `id, email, name, role, team_id, max_budget_usd, budget_period, rpm, tpm, max_parallel, model_limits, created_at`

// UserByID reads a user.
func (s *Store) UserByID(ctx context.Context, id string) (*User, error) {
	return scanUser(s.queryRow(ctx, `SELECT `+userColumns+` FROM users WHERE id = ?`, id))
}

// ListUsers pages through users by id, optionally of one team.
func (s *Store) ListUsers(ctx context.Context, after string, limit int, teamID string) ([]*User, error) {
	q := `SELECT ` + userColumns + ` FROM users WHERE id > ?`
	args := []any{after}
	if teamID != "" {
		q += ` AND team_id = ?`
		args = append(args, teamID)
	}
	rows, err := s.query(ctx, q+` ORDER BY id LIMIT `+strconv.Itoa(limit), args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*User
	for rows.Next() {
		u, err := scanUser(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, u)
	}
	return out, rows.Err()
}

// UpdateUser changes a user's name, role, team, budget or limits.
func (s *Store) UpdateUser(ctx context.Context, u *User, actor string) (*User, error) {
	var out *User
	err := s.tx(ctx, func(tx *sql.Tx) error {
		before, err := scanUser(tx.QueryRowContext(ctx, s.rebind(`SELECT `+userColumns+` FROM users WHERE id = ?`), u.ID))
		if err != nil {
			return err
		}
		if u.BudgetPeriod == "" {
			u.BudgetPeriod = "monthly"
		}
		if _, err := tx.ExecContext(ctx, s.rebind(`UPDATE users SET name = ?, role = ?, team_id = ?, max_budget_usd = ?, budget_period = ?, rpm = ?, tpm = ?, max_parallel = ?, model_limits = ? WHERE id = ?`),
			u.Name, u.Role, nullable(u.TeamID), u.MaxBudgetUSD, u.BudgetPeriod, u.RPM, u.TPM, u.MaxParallel, u.ModelLimits.encode(), u.ID); err != nil {
			return s.writeErr(err)
		}
		after := *u
		after.Email, after.CreatedAt = before.Email, before.CreatedAt
		out = &after
		return s.audit(ctx, tx, actor, "user.update", u.ID, before, &after)
	})
	return out, err
}

// DeleteUser removes a user that no key belongs to.
func (s *Store) DeleteUser(ctx context.Context, id, actor string) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		before, err := scanUser(tx.QueryRowContext(ctx, s.rebind(`SELECT `+userColumns+` FROM users WHERE id = ?`), id))
		if err != nil {
			return err
		}
		var n int
		tx.QueryRowContext(ctx, s.rebind(`SELECT COUNT(*) FROM api_keys WHERE user_id = ? AND revoked_at IS NULL`), id).Scan(&n)
		if n > 0 {
			return ErrInUse
		}
		if _, err := tx.ExecContext(ctx, s.rebind(`UPDATE api_keys SET user_id = NULL WHERE user_id = ?`), id); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, s.rebind(`DELETE FROM users WHERE id = ?`), id); err != nil {
			return err
		}
		return s.audit(ctx, tx, actor, "user.delete", id, before, nil)
	})
}
