package store

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// stores opens every engine the tests run against: SQLite always, and the
// real PostgreSQL on 127.0.0.1 (required in CI, skipped with a message
// elsewhere when it is not running), each in a fresh schema.
func stores(t *testing.T) map[string]*Store {
	t.Helper()
	out := map[string]*Store{}
	lite, err := Open(context.Background(), "sqlite://"+filepath.Join(t.TempDir(), "sb.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { lite.Close() })
	out["sqlite"] = lite
	if pg := PostgresForTest(t); pg != nil {
		out["postgres"] = pg
	}
	return out
}

func TestKeysLifecycle(t *testing.T) {
	for engine, s := range stores(t) {
		t.Run(engine, func(t *testing.T) {
			ctx := context.Background()
			budget := 12.5
			exp := time.Now().Add(time.Hour).UTC().Truncate(time.Millisecond)
			k := &Key{ID: NewID("key_"), Name: "ci", Hash: "h1", Prefix: "sk-sb-abcd", Role: "developer", Scopes: "inference",
				Models: []string{"gpt", "claude"}, MaxBudgetUSD: &budget, BudgetPeriod: "monthly", RPM: 60, ExpiresAt: &exp, CreatedAt: time.Now()}
			if err := s.CreateKey(ctx, k, "admin"); err != nil {
				t.Fatal(err)
			}
			dup := *k
			dup.ID = NewID("key_")
			if err := s.CreateKey(ctx, &dup, "admin"); !errors.Is(err, ErrConflict) {
				t.Errorf("duplicate hash: %v", err)
			}
			got, err := s.KeyByHash(ctx, "h1")
			if err != nil || got.ID != k.ID || len(got.Models) != 2 || *got.MaxBudgetUSD != 12.5 || !got.ExpiresAt.Equal(exp) || got.RPM != 60 {
				t.Fatalf("read back %+v %v", got, err)
			}
			if _, err := s.KeyByHash(ctx, "nope"); !errors.Is(err, ErrNotFound) {
				t.Errorf("missing key: %v", err)
			}
			// Keyset pagination walks every key once, in creation order.
			for i := range 5 {
				s.CreateKey(ctx, &Key{ID: NewID("key_"), Name: "k", Hash: "hh" + string(rune('a'+i)), Prefix: "p", Role: "developer", Scopes: "inference", CreatedAt: time.Now()}, "admin")
				time.Sleep(2 * time.Millisecond)
			}
			var seen []string
			after := ""
			for {
				page, err := s.ListKeys(ctx, after, 2, "")
				if err != nil {
					t.Fatal(err)
				}
				if len(page) == 0 {
					break
				}
				for _, p := range page {
					seen = append(seen, p.ID)
				}
				after = page[len(page)-1].ID
			}
			if len(seen) != 6 {
				t.Errorf("paged through %d keys, want 6", len(seen))
			}
			revoked, err := s.RevokeKey(ctx, k.ID, "admin")
			if err != nil || revoked.RevokedAt == nil {
				t.Fatalf("revoke: %v", err)
			}
			audit, _ := s.Audit(ctx, 10)
			if len(audit) != 7 || audit[0].Action != "key.revoke" || strings.Contains(string(audit[0].After), "h1") {
				t.Errorf("audit = %d entries, first %+v", len(audit), audit[0])
			}
		})
	}
}

// Migrations apply from an empty database, are idempotent, and a database
// newer than the binary is refused.
func TestMigrations(t *testing.T) {
	for engine, s := range stores(t) {
		t.Run(engine, func(t *testing.T) {
			ctx := context.Background()
			if err := s.Migrate(ctx); err != nil {
				t.Fatal(err)
			}
			var v int
			s.DB().QueryRowContext(ctx, `SELECT MAX(version) FROM schema_migrations`).Scan(&v)
			if v != Version() {
				t.Errorf("version %d, want %d", v, Version())
			}
			s.exec(ctx, `INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, 'future', 0)`, Version()+1)
			if err := s.Migrate(ctx); err == nil || !strings.Contains(err.Error(), "newer than this binary") {
				t.Errorf("future schema: %v", err)
			}
		})
	}
}

// Every earlier schema version, holding data, migrates to the current one.
func TestMigrateFromEveryVersion(t *testing.T) {
	for v := 0; v < Version(); v++ {
		ctx := context.Background()
		path := filepath.Join(t.TempDir(), "v.db")
		db, err := openRaw("sqlite://" + path)
		if err != nil {
			t.Fatal(err)
		}
		if err := db.migrateTo(ctx, v); err != nil {
			t.Fatalf("to v%d: %v", v, err)
		}
		if v >= 1 {
			if _, err := db.exec(ctx, `INSERT INTO teams (id, name, created_at) VALUES ('team_old', 'old', 0)`); err != nil {
				t.Fatal(err)
			}
		}
		if err := db.Migrate(ctx); err != nil {
			t.Fatalf("from v%d: %v", v, err)
		}
		if v >= 1 {
			if tm, err := db.TeamByID(ctx, "team_old"); err != nil || tm.Name != "old" {
				t.Errorf("from v%d: data lost: %v", v, err)
			}
		}
		db.Close()
	}
}
