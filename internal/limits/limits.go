// Package limits enforces rate limits (requests and tokens per minute,
// concurrent requests) and budgets, in process or in Redis so limits hold
// across replicas. Budgets work by reservation: admission atomically
// reserves the request's worst-case cost against the budget, and the real
// cost is settled when the response ends — so concurrent requests can
// never spend past a limit.
package limits

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/switchboard-gw/switchboard/internal/api"
)

// Policy is what one subject (a key, team, ...) may use.
type Policy struct {
	Subject     string  // e.g. "key:key_123"
	RPM         int64   // requests per minute; 0 = unlimited
	TPM         int64   // tokens per minute; 0 = unlimited
	Concurrency int64   // requests in flight; 0 = unlimited
	BudgetUSD   float64 // 0 with HasBudget false = none
	HasBudget   bool
	Period      string // daily, weekly, monthly, total
}

// Request is what admission checks.
type Request struct {
	Tokens  int64   // estimated tokens (prompt + max output)
	CostUSD float64 // worst-case cost to reserve
}

// Ticket is an admitted request, to settle when it ends.
type Ticket struct {
	policies []Policy
	req      Request
	windows  []string // the rate windows it counted in, per policy
	// Headers are the x-ratelimit-* headers to send.
	Headers http.Header
}

// Backend stores counters.
type Backend interface {
	// admit checks and counts one request for every policy at once: all
	// or nothing.
	admit(ctx context.Context, now time.Time, ps []Policy, r Request) (*Ticket, *api.Error)
	// settle corrects tokens and spend and releases the reservation and
	// concurrency slot.
	settle(ctx context.Context, t *Ticket, tokens int64, costUSD float64) error
	// spent returns a budget's settled spend and open reservations.
	spent(ctx context.Context, p Policy, now time.Time) (spent, reserved float64, err error)
}

// Limiter admits and settles requests.
type Limiter struct {
	b   Backend
	now func() time.Time
}

// New uses a backend.
func New(b Backend) *Limiter { return &Limiter{b: b, now: time.Now} }

// Admit checks every policy and reserves; a refusal is a 429 with
// Retry-After where known.
func (l *Limiter) Admit(ctx context.Context, ps []Policy, r Request) (*Ticket, *api.Error) {
	active := ps[:0:0]
	for _, p := range ps {
		if p.RPM > 0 || p.TPM > 0 || p.Concurrency > 0 || p.HasBudget {
			active = append(active, p)
		}
	}
	if len(active) == 0 {
		return &Ticket{}, nil
	}
	return l.b.admit(ctx, l.now(), active, r)
}

// Settle records what the request really used. It is safe on a nil or
// empty ticket.
func (l *Limiter) Settle(ctx context.Context, t *Ticket, tokens int64, costUSD float64) error {
	if t == nil || len(t.policies) == 0 {
		return nil
	}
	return l.b.settle(ctx, t, tokens, costUSD)
}

// Budgets lists the ticket's budget policies.
func (t *Ticket) Budgets() []Policy {
	var out []Policy
	for _, p := range t.policies {
		if p.HasBudget {
			out = append(out, p)
		}
	}
	return out
}

// Window names the budget period a policy is in now ("2026-11" for a
// monthly one), so alerts can be raised once per period.
func (l *Limiter) Window(p Policy) string { return periodID(p.Period, l.now()) }

// Spent reports a budget's spend and reservations.
func (l *Limiter) Spent(ctx context.Context, p Policy) (float64, float64, error) {
	return l.b.spent(ctx, p, l.now())
}

// nanoUSD stores money as integer billionths of a dollar, so counters are
// exact for the cheapest requests too.
func nanoUSD(usd float64) int64 { return int64(usd*1e9 + 0.5) }

// periodID names the budget period containing now.
func periodID(period string, now time.Time) string {
	now = now.UTC()
	switch period {
	case "daily":
		return now.Format("2006-01-02")
	case "weekly":
		y, w := now.ISOWeek()
		return fmt.Sprintf("%d-W%02d", y, w)
	case "monthly":
		return now.Format("2006-01")
	default:
		return "total"
	}
}

// minuteWindow is the current one-minute rate window and the share of it
// already past, for a sliding-window estimate.
func minuteWindow(now time.Time) (cur int64, elapsed float64) {
	sec := now.Unix()
	return sec / 60, float64(now.UnixNano()%int64(time.Minute)) / float64(time.Minute)
}

// slidingCount estimates the requests in the last 60s from the current
// and previous fixed windows.
func slidingCount(prev, cur int64, elapsed float64) float64 {
	return float64(prev)*(1-elapsed) + float64(cur)
}

func rateLimited(what string, limit int64, retryAfter time.Duration) *api.Error {
	return &api.Error{Status: http.StatusTooManyRequests, Type: api.TypeRateLimit, Code: "rate_limit_exceeded",
		Message:    fmt.Sprintf("Rate limit reached: %d %s per minute.", limit, what),
		RetryAfter: retryAfter}
}

func budgetExceeded(p Policy, spent, reserved float64) *api.Error {
	return &api.Error{Status: http.StatusTooManyRequests, Type: api.TypeRateLimit, Code: "budget_exceeded",
		Message: fmt.Sprintf("Budget exhausted for %s: $%.4f of $%.2f spent (%s), $%.4f reserved by requests in flight.",
			p.Subject, spent, p.BudgetUSD, p.Period, reserved)}
}

func tooMany(limit int64) *api.Error {
	return &api.Error{Status: http.StatusTooManyRequests, Type: api.TypeRateLimit, Code: "concurrency_limit",
		Message: fmt.Sprintf("Too many requests in flight: the limit is %d.", limit), RetryAfter: time.Second}
}

// headers renders x-ratelimit-* for the first policy with rate limits.
// Keys are written in canonical form directly, skipping canonicalization.
func headers(p Policy, remReq, remTok int64, now time.Time) http.Header {
	if p.RPM <= 0 && p.TPM <= 0 {
		return nil
	}
	h := make(http.Header, 6)
	reset := strconv.FormatInt(60-now.Unix()%60, 10) + "s"
	if p.RPM > 0 {
		h["X-Ratelimit-Limit-Requests"] = []string{strconv.FormatInt(p.RPM, 10)}
		h["X-Ratelimit-Remaining-Requests"] = []string{strconv.FormatInt(max(remReq, 0), 10)}
		h["X-Ratelimit-Reset-Requests"] = []string{reset}
	}
	if p.TPM > 0 {
		h["X-Ratelimit-Limit-Tokens"] = []string{strconv.FormatInt(p.TPM, 10)}
		h["X-Ratelimit-Remaining-Tokens"] = []string{strconv.FormatInt(max(remTok, 0), 10)}
		h["X-Ratelimit-Reset-Tokens"] = []string{reset}
	}
	return h
}
