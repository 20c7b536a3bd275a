package limits

import (
	"context"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// RedisForTest connects to the Redis on 127.0.0.1:6379 with a fresh key
// prefix. In CI an unreachable Redis fails the test; elsewhere it is
// skipped with a message.
func redisForTest(t *testing.T) *Redis {
	t.Helper()
	c := redis.NewClient(&redis.Options{Addr: "127.0.0.1:6379"})
	if err := c.Ping(context.Background()).Err(); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("limits: Redis is required in CI: %v", err)
		}
		t.Skipf("limits: Redis not reachable (%v)", err)
	}
	t.Cleanup(func() { c.Close() })
	return NewRedis(c, "sbtest:"+time.Now().Format("150405.000000000")+":")
}

func backends(t *testing.T) map[string]Backend {
	return map[string]Backend{"memory": NewMemory(), "redis": redisForTest(t)}
}

// 200 concurrent requests against a budget that allows 50: spend never
// passes the limit, and settled spend equals the sum of admitted costs.
func TestBudgetCannotBeOverspent(t *testing.T) {
	for name, b := range backends(t) {
		t.Run(name, func(t *testing.T) {
			l := New(b)
			p := Policy{Subject: "key:budget-" + name, HasBudget: true, BudgetUSD: 0.50, Period: "monthly"}
			var admitted atomic.Int64
			var wg sync.WaitGroup
			for range 200 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					// Worst case $0.01 reserved; the real cost is $0.008..0.01.
					ticket, err := l.Admit(context.Background(), []Policy{p}, Request{CostUSD: 0.01})
					if err != nil {
						if err.Code != "budget_exceeded" {
							t.Errorf("unexpected refusal: %v", err)
						}
						return
					}
					admitted.Add(1)
					time.Sleep(time.Millisecond)
					l.Settle(context.Background(), ticket, 0, 0.008)
				}()
			}
			wg.Wait()
			spent, reserved, err := l.Spent(context.Background(), p)
			if err != nil {
				t.Fatal(err)
			}
			if reserved != 0 {
				t.Errorf("reservations left over: %v", reserved)
			}
			if spent > p.BudgetUSD+1e-9 {
				t.Errorf("spent $%v of a $%v budget", spent, p.BudgetUSD)
			}
			if want := float64(admitted.Load()) * 0.008; spent < want-1e-9 || spent > want+1e-9 {
				t.Errorf("spent $%v, admitted %d × $0.008 = $%v", spent, admitted.Load(), want)
			}
			if admitted.Load() < 50 {
				t.Errorf("only %d admitted; the budget allows 50 worst-case requests", admitted.Load())
			}
			t.Logf("%s: %d of 200 admitted, spent $%.3f of $%.2f", name, admitted.Load(), spent, p.BudgetUSD)
		})
	}
}

func TestRateLimits(t *testing.T) {
	for name, b := range backends(t) {
		t.Run(name, func(t *testing.T) {
			l := New(b)
			now := time.Date(2026, 11, 25, 10, 0, 5, 0, time.UTC)
			l.now = func() time.Time { return now }
			p := Policy{Subject: "key:rpm-" + name, RPM: 5, TPM: 1000, Concurrency: 3}
			var tickets []*Ticket
			for i := range 3 {
				tk, err := l.Admit(context.Background(), []Policy{p}, Request{Tokens: 100})
				if err != nil {
					t.Fatalf("request %d: %v", i, err)
				}
				tickets = append(tickets, tk)
			}
			if _, err := l.Admit(context.Background(), []Policy{p}, Request{Tokens: 100}); err == nil || err.Code != "concurrency_limit" {
				t.Errorf("4th in flight: %v", err)
			}
			for _, tk := range tickets {
				l.Settle(context.Background(), tk, 50, 0)
			}
			if tk, err := l.Admit(context.Background(), []Policy{p}, Request{Tokens: 100}); err != nil || tk.Headers.Get("x-ratelimit-remaining-requests") != "1" {
				t.Errorf("4th: %v %v", err, tk)
			} else {
				l.Settle(context.Background(), tk, 100, 0)
			}
			tk, err := l.Admit(context.Background(), []Policy{p}, Request{Tokens: 100})
			if err != nil {
				t.Fatal(err)
			}
			l.Settle(context.Background(), tk, 100, 0)
			_, err = l.Admit(context.Background(), []Policy{p}, Request{Tokens: 100})
			if err == nil || err.Code != "rate_limit_exceeded" || err.RetryAfter <= 0 || err.RetryAfter > time.Minute {
				t.Errorf("6th request: %v", err)
			}
			// Tokens: 5 requests settled at 50+50+50+100+100 = 350 tokens.
			now = now.Add(2 * time.Minute)
			big := Policy{Subject: "key:tpm-" + name, TPM: 1000}
			if _, err := l.Admit(context.Background(), []Policy{big}, Request{Tokens: 1200}); err == nil {
				t.Error("a request over the TPM limit was admitted")
			}
		})
	}
}
