// Package store is Switchboard's database: one schema on SQLite (the
// embedded default, pure Go, WAL mode) or PostgreSQL (pgx), versioned
// forward-only migrations applied at start, and the repositories the admin
// API and auth use. Timestamps are unix milliseconds.
package store

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // registers "pgx"
	_ "modernc.org/sqlite"             // registers "sqlite"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Store is an open database.
type Store struct {
	db       *sql.DB
	postgres bool
	// logInserts holds the request log's multi-row INSERT prepared once
	// per row count (1 to 100): parsing a 3,000-parameter statement
	// cost SQLite a quarter of each batch.
	logInserts sync.Map // int → *sql.Stmt
}

// Open connects to "sqlite://PATH" or "postgres://..." and migrates.
func Open(ctx context.Context, dsn string) (*Store, error) {
	s, err := openRaw(dsn)
	if err != nil {
		return nil, err
	}
	if err := s.db.PingContext(ctx); err != nil {
		s.db.Close()
		return nil, fmt.Errorf("store: %w", err)
	}
	if err := s.Migrate(ctx); err != nil {
		s.db.Close()
		return nil, err
	}
	if err := s.ensureLogPartitions(ctx, time.Now()); err != nil {
		s.db.Close()
		return nil, err
	}
	return s, nil
}

// openRaw connects without migrating.
func openRaw(dsn string) (*Store, error) {
	var s Store
	var err error
	switch {
	case strings.HasPrefix(dsn, "sqlite://"):
		path := strings.TrimPrefix(dsn, "sqlite://")
		if path != ":memory:" && !strings.HasPrefix(path, "file:") {
			if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
				return nil, fmt.Errorf("store: %w", err)
			}
		}
		// Transactions begin IMMEDIATE: a deferred one that reads and then
		// writes fails at once with SQLITE_BUSY if another connection
		// wrote meanwhile (the request log writes all the time); immediate
		// ones wait for the lock (busy_timeout) instead.
		s.db, err = sql.Open("sqlite", path+"?_pragma=journal_mode(WAL)&_pragma=busy_timeout(5000)&_pragma=foreign_keys(1)&_pragma=synchronous(NORMAL)&_pragma=temp_store(MEMORY)&_txlock=immediate")
		if err == nil && path == ":memory:" {
			s.db.SetMaxOpenConns(1) // one in-memory database, not one per connection
		}
	case strings.HasPrefix(dsn, "postgres://"), strings.HasPrefix(dsn, "postgresql://"):
		s.db, err = sql.Open("pgx", dsn)
		s.postgres = true
	default:
		return nil, fmt.Errorf("store: unsupported database %q (use sqlite:// or postgres://)", dsn)
	}
	if err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	return &s, nil
}

// Close closes the database.
func (s *Store) Close() error {
	s.logInserts.Range(func(_, v any) bool {
		v.(*sql.Stmt).Close()
		return true
	})
	return s.db.Close()
}

// Ping reports whether the database answers (for /readyz).
func (s *Store) Ping(ctx context.Context) error { return s.db.PingContext(ctx) }

// DB exposes the handle for tests.
func (s *Store) DB() *sql.DB { return s.db }

// rebind turns "?" placeholders into "$n" for PostgreSQL.
func (s *Store) rebind(q string) string {
	if !s.postgres {
		return q
	}
	var b strings.Builder
	n := 0
	for i := 0; i < len(q); i++ {
		if q[i] == '?' {
			n++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
			continue
		}
		b.WriteByte(q[i])
	}
	return b.String()
}

func (s *Store) exec(ctx context.Context, q string, args ...any) (sql.Result, error) {
	return s.db.ExecContext(ctx, s.rebind(q), args...)
}

func (s *Store) query(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	return s.db.QueryContext(ctx, s.rebind(q), args...)
}

func (s *Store) queryRow(ctx context.Context, q string, args ...any) *sql.Row {
	return s.db.QueryRowContext(ctx, s.rebind(q), args...)
}

// Version is the schema version the code expects.
func Version() int {
	names, _ := migrationNames()
	return len(names)
}

func migrationNames() ([]string, error) {
	entries, err := migrations.ReadDir("migrations")
	if err != nil {
		return nil, err
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	sort.Strings(names)
	return names, nil
}

// Migrate applies the migrations not yet applied, each in a transaction,
// forward only. On PostgreSQL an advisory lock keeps replicas starting
// together from racing.
func (s *Store) Migrate(ctx context.Context) error { return s.migrateTo(ctx, -1) }

// migrateTo applies migrations up to version target (-1: all); tests use
// it to build databases at earlier versions.
func (s *Store) migrateTo(ctx context.Context, target int) error {
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return fmt.Errorf("store: migrate: %w", err)
	}
	defer conn.Close()
	if s.postgres {
		if _, err := conn.ExecContext(ctx, `SELECT pg_advisory_lock(7370001)`); err != nil {
			return fmt.Errorf("store: migrate: lock: %w", err)
		}
		defer conn.ExecContext(context.Background(), `SELECT pg_advisory_unlock(7370001)`)
	}
	if _, err := conn.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)`); err != nil {
		return fmt.Errorf("store: migrate: %w", err)
	}
	var current int
	if err := conn.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_migrations`).Scan(&current); err != nil {
		return fmt.Errorf("store: migrate: %w", err)
	}
	names, err := migrationNames()
	if err != nil {
		return err
	}
	if current > len(names) {
		return fmt.Errorf("store: the database is at schema version %d, newer than this binary's %d; upgrade Switchboard", current, len(names))
	}
	end := len(names)
	if target >= 0 && target < end {
		end = target
	}
	for i := current; i < end; i++ {
		body, err := migrations.ReadFile("migrations/" + names[i])
		if err != nil {
			return err
		}
		tx, err := conn.BeginTx(ctx, nil)
		if err != nil {
			return fmt.Errorf("store: migrate: %w", err)
		}
		// A migration for one engine only is recorded, and skipped, on
		// the other, so versions mean the same on both.
		stmts := splitStatements(string(body))
		if engine, ok := strings.CutPrefix(string(body), "-- engine: "); ok && strings.HasPrefix(engine, "postgres") != s.postgres {
			stmts = nil
		}
		for _, stmt := range stmts {
			if _, err := tx.ExecContext(ctx, stmt); err != nil {
				tx.Rollback()
				return fmt.Errorf("store: migration %s: %w", names[i], err)
			}
		}
		q := `INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)`
		if _, err := tx.ExecContext(ctx, s.rebind(q), i+1, names[i], time.Now().UnixMilli()); err != nil {
			tx.Rollback()
			return fmt.Errorf("store: migration %s: %w", names[i], err)
		}
		if err := tx.Commit(); err != nil {
			return fmt.Errorf("store: migration %s: %w", names[i], err)
		}
	}
	return nil
}

// splitStatements splits a migration on ";" at line ends, dropping
// comments.
func splitStatements(sqlText string) []string {
	var out []string
	var cur strings.Builder
	for _, line := range strings.Split(sqlText, "\n") {
		t := strings.TrimSpace(line)
		if t == "" || strings.HasPrefix(t, "--") {
			continue
		}
		cur.WriteString(line)
		cur.WriteByte('\n')
		if strings.HasSuffix(t, ";") {
			out = append(out, strings.TrimSuffix(strings.TrimSpace(cur.String()), ";"))
			cur.Reset()
		}
	}
	if strings.TrimSpace(cur.String()) != "" {
		out = append(out, cur.String())
	}
	return out
}

// ErrNotFound is returned when a row does not exist.
var ErrNotFound = errors.New("store: not found")

// ErrConflict is returned on a unique-key violation.
var ErrConflict = errors.New("store: already exists")

// ErrUnknownRef is returned when a row refers to one that does not exist
// (a key's team or user).
var ErrUnknownRef = errors.New("store: refers to a row that does not exist")

func isForeignKey(err error) bool {
	return err != nil && strings.Contains(strings.ToLower(err.Error()), "foreign key")
}

func isUnique(err error) bool {
	if err == nil {
		return false
	}
	m := strings.ToLower(err.Error())
	return strings.Contains(m, "unique") || strings.Contains(m, "duplicate key")
}
