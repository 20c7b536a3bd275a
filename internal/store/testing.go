package store

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"testing"
	"time"
)

// PostgresForTest returns a Store on the PostgreSQL at 127.0.0.1:5432
// (database "test", or SWITCHBOARD_TEST_POSTGRES), in a schema of its own
// dropped after the test. In CI an unreachable server fails the test;
// elsewhere it skips the PostgreSQL half with a message (returning nil).
func PostgresForTest(t testing.TB) *Store {
	t.Helper()
	base := os.Getenv("SWITCHBOARD_TEST_POSTGRES")
	if base == "" {
		base = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"
	}
	ctx := context.Background()
	admin, err := sql.Open("pgx", base)
	if err == nil {
		err = admin.PingContext(ctx)
	}
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("store: PostgreSQL is required in CI: %v", err)
		}
		t.Logf("store: PostgreSQL not reachable at %s (%v); testing SQLite only", base, err)
		return nil
	}
	schema := fmt.Sprintf("sbtest_%d", time.Now().UnixNano())
	if _, err := admin.ExecContext(ctx, "CREATE SCHEMA "+schema); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		admin.ExecContext(context.Background(), "DROP SCHEMA "+schema+" CASCADE")
		admin.Close()
	})
	s, err := Open(ctx, base+"&search_path="+schema)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}
