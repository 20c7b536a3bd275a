package server

import (
	"context"
	"net/http/httptest"
	"os"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/switchboard-gw/switchboard/internal/auth"
	"github.com/switchboard-gw/switchboard/internal/limits"
	"github.com/switchboard-gw/switchboard/internal/store"
)

// BenchmarkAdmission is the per-request cost of admission: authenticating
// a virtual key (cached), and checking its rate limit and budget with a
// reservation, then settling — against the in-process and Redis backends.
func BenchmarkAdmission(b *testing.B) {
	ctx := context.Background()
	st, err := store.Open(ctx, "sqlite://"+b.TempDir()+"/b.db")
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	h := auth.NewHasher("bench-secret")
	secret, prefix := auth.NewKey()
	budget := 1e9
	if err := st.CreateKey(ctx, &store.Key{ID: store.NewID("key_"), Name: "b", Hash: h.Hash(secret), Prefix: prefix, Role: "developer",
		Scopes: "inference", RPM: 1 << 30, TPM: 1 << 40, MaxBudgetUSD: &budget, BudgetPeriod: "monthly", CreatedAt: time.Now()}, "bench"); err != nil {
		b.Fatal(err)
	}
	authn := auth.NewAuthenticator("master-key-bench", h, st, time.Hour)
	req := httptest.NewRequest("POST", "/v1/chat/completions", nil)
	req.Header.Set("Authorization", "Bearer "+secret)
	backends := map[string]limits.Backend{"memory": limits.NewMemory()}
	if c := redis.NewClient(&redis.Options{Addr: "127.0.0.1:6379"}); c.Ping(ctx).Err() == nil {
		backends["redis"] = limits.NewRedis(c, "sbbench:")
	} else if os.Getenv("CI") == "true" {
		b.Fatal("Redis is required in CI")
	}
	for name, be := range backends {
		l := limits.New(be)
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			for range b.N {
				p, aerr := authn.Authenticate(ctx, req)
				if aerr != nil {
					b.Fatal(aerr)
				}
				ps, _, _ := policies(p, "gpt")
				t, aerr := l.Admit(ctx, ps, limits.Request{Tokens: 4200, CostUSD: 0.003})
				if aerr != nil {
					b.Fatal(aerr)
				}
				l.Settle(ctx, t, 300, 0.0004)
			}
		})
	}
}
