package limits

import (
	"context"
	"strconv"
	"sync"
	"time"

	"github.com/switchboard-gw/switchboard/internal/api"
)

// Memory keeps counters in process: limits hold per replica.
type Memory struct {
	mu       sync.Mutex
	windows  map[string]int64 // subject|kind|minute → count
	inflight map[string]int64
	spend    map[string]int64 // subject|period → settled nano-USD
	reserved map[string]int64 // subject|period → reserved nano-USD
	sweepAt  int64
}

// NewMemory returns an empty in-process backend.
func NewMemory() *Memory {
	return &Memory{windows: map[string]int64{}, inflight: map[string]int64{}, spend: map[string]int64{}, reserved: map[string]int64{}}
}

func wkey(subject, kind string, minute int64) string {
	return subject + "|" + kind + "|" + strconv.FormatInt(minute, 10)
}

func bkey(p Policy, now time.Time) string { return p.Subject + "|" + periodID(p.Period, now) }

func (m *Memory) admit(_ context.Context, now time.Time, ps []Policy, r Request) (*Ticket, *api.Error) {
	cur, elapsed := minuteWindow(now)
	m.mu.Lock()
	defer m.mu.Unlock()
	m.sweep(cur)
	res := int64(0)
	if r.CostUSD > 0 {
		res = nanoUSD(r.CostUSD)
	}
	var remReq, remTok int64 = -1, -1
	// Check everything first, then count: all or nothing.
	for _, p := range ps {
		if p.RPM > 0 {
			n := slidingCount(m.windows[wkey(p.Subject, "r", cur-1)], m.windows[wkey(p.Subject, "r", cur)], elapsed)
			if n+1 > float64(p.RPM) {
				return nil, rateLimited("requests", p.RPM, time.Duration((1-elapsed)*float64(time.Minute)))
			}
			if remReq < 0 {
				remReq = p.RPM - int64(n) - 1
			}
		}
		if p.TPM > 0 {
			n := slidingCount(m.windows[wkey(p.Subject, "t", cur-1)], m.windows[wkey(p.Subject, "t", cur)], elapsed)
			if n+float64(r.Tokens) > float64(p.TPM) {
				return nil, rateLimited("tokens", p.TPM, time.Duration((1-elapsed)*float64(time.Minute)))
			}
			if remTok < 0 {
				remTok = p.TPM - int64(n) - r.Tokens
			}
		}
		if p.Concurrency > 0 && m.inflight[p.Subject]+1 > p.Concurrency {
			return nil, tooMany(p.Concurrency)
		}
		if p.HasBudget {
			k := bkey(p, now)
			if m.spend[k]+m.reserved[k]+res > nanoUSD(p.BudgetUSD) {
				return nil, budgetExceeded(p, float64(m.spend[k])/1e9, float64(m.reserved[k])/1e9)
			}
		}
	}
	t := &Ticket{policies: ps, req: Request{Tokens: r.Tokens, CostUSD: float64(res) / 1e9}}
	for _, p := range ps {
		if p.RPM > 0 {
			m.windows[wkey(p.Subject, "r", cur)]++
		}
		if p.TPM > 0 {
			m.windows[wkey(p.Subject, "t", cur)] += r.Tokens
		}
		if p.Concurrency > 0 {
			m.inflight[p.Subject]++
		}
		if p.HasBudget {
			m.reserved[bkey(p, now)] += res
		}
		t.windows = append(t.windows, strconv.FormatInt(cur, 10)+"|"+periodID(p.Period, now))
	}
	t.Headers = headers(ps[0], remReq, remTok, now)
	return t, nil
}

func (m *Memory) settle(_ context.Context, t *Ticket, tokens int64, costUSD float64) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for i, p := range t.policies {
		minute, period := splitWindow(t.windows[i])
		if p.TPM > 0 {
			m.windows[wkey(p.Subject, "t", minute)] += tokens - t.req.Tokens
		}
		if p.Concurrency > 0 {
			m.inflight[p.Subject]--
		}
		if p.HasBudget {
			k := p.Subject + "|" + period
			m.reserved[k] -= nanoUSD(t.req.CostUSD)
			m.spend[k] += nanoUSD(costUSD)
		}
	}
	return nil
}

func (m *Memory) spent(_ context.Context, p Policy, now time.Time) (float64, float64, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	k := bkey(p, now)
	return float64(m.spend[k]) / 1e9, float64(m.reserved[k]) / 1e9, nil
}

// sweep drops rate windows older than the previous minute.
func (m *Memory) sweep(cur int64) {
	if m.sweepAt == cur {
		return
	}
	m.sweepAt = cur
	for k := range m.windows {
		if minute, err := strconv.ParseInt(k[lastBar(k)+1:], 10, 64); err == nil && minute < cur-1 {
			delete(m.windows, k)
		}
	}
}

func lastBar(s string) int {
	for i := len(s) - 1; i >= 0; i-- {
		if s[i] == '|' {
			return i
		}
	}
	return -1
}

func splitWindow(w string) (int64, string) {
	for i := 0; i < len(w); i++ {
		if w[i] == '|' {
			n, _ := strconv.ParseInt(w[:i], 10, 64)
			return n, w[i+1:]
		}
	}
	return 0, ""
}
