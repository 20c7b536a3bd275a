package limits

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/switchboard-gw/switchboard/internal/api"
)

// Redis keeps counters in Redis, so every replica sees the same limits.
// Admission and settlement are Lua scripts: each checks and counts all the
// request's policies atomically.
type Redis struct {
	c      redis.UniversalClient
	prefix string
}

// NewRedis uses a client; prefix namespaces the keys (e.g. "sb:").
func NewRedis(c redis.UniversalClient, prefix string) *Redis { return &Redis{c: c, prefix: prefix} }

// Per policy, KEYS are: requests (previous, current minute), tokens
// (previous, current), in-flight, budget hash. ARGV starts with elapsed
// (share of the minute past), tokens, reservation (nano-USD), then per
// policy rpm, tpm, concurrency, has budget, budget (nano-USD).
var admitScript = redis.NewScript(`
local elapsed = tonumber(ARGV[1])
local tokens = tonumber(ARGV[2])
local reserve = tonumber(ARGV[3])
local n = (#ARGV - 3) / 5
local remReq, remTok = -1, -1
for i = 0, n - 1 do
  local k = i * 6
  local rpm, tpm, conc, hasBudget, budget = tonumber(ARGV[4+i*5]), tonumber(ARGV[5+i*5]), tonumber(ARGV[6+i*5]), tonumber(ARGV[7+i*5]), tonumber(ARGV[8+i*5])
  if rpm > 0 then
    local used = (tonumber(redis.call('GET', KEYS[k+1]) or '0')) * (1 - elapsed) + tonumber(redis.call('GET', KEYS[k+2]) or '0')
    if used + 1 > rpm then return {0, i, 'requests', 0, 0} end
    if remReq < 0 then remReq = math.floor(rpm - used - 1) end
  end
  if tpm > 0 then
    local used = (tonumber(redis.call('GET', KEYS[k+3]) or '0')) * (1 - elapsed) + tonumber(redis.call('GET', KEYS[k+4]) or '0')
    if used + tokens > tpm then return {0, i, 'tokens', 0, 0} end
    if remTok < 0 then remTok = math.floor(tpm - used - tokens) end
  end
  if conc > 0 and tonumber(redis.call('GET', KEYS[k+5]) or '0') + 1 > conc then return {0, i, 'concurrency', 0, 0} end
  if hasBudget == 1 then
    local spent = tonumber(redis.call('HGET', KEYS[k+6], 'spent') or '0')
    local reserved = tonumber(redis.call('HGET', KEYS[k+6], 'reserved') or '0')
    if spent + reserved + reserve > budget then return {0, i, 'budget', spent, reserved} end
  end
end
for i = 0, n - 1 do
  local k = i * 6
  local rpm, tpm, conc, hasBudget = tonumber(ARGV[4+i*5]), tonumber(ARGV[5+i*5]), tonumber(ARGV[6+i*5]), tonumber(ARGV[7+i*5])
  if rpm > 0 then redis.call('INCR', KEYS[k+2]); redis.call('EXPIRE', KEYS[k+2], 180) end
  if tpm > 0 then redis.call('INCRBY', KEYS[k+4], tokens); redis.call('EXPIRE', KEYS[k+4], 180) end
  if conc > 0 then redis.call('INCR', KEYS[k+5]); redis.call('EXPIRE', KEYS[k+5], 900) end
  if hasBudget == 1 then redis.call('HINCRBY', KEYS[k+6], 'reserved', reserve) end
end
return {1, remReq, remTok}
`)

// Per policy, KEYS are: tokens (the admitted minute), in-flight, budget
// hash; ARGV: token correction, reservation, cost (nano-USD), then per
// policy tpm, concurrency, has budget.
var settleScript = redis.NewScript(`
local delta, reserve, cost = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local n = (#ARGV - 3) / 3
for i = 0, n - 1 do
  local k = i * 3
  if tonumber(ARGV[4+i*3]) > 0 and redis.call('EXISTS', KEYS[k+1]) == 1 then redis.call('INCRBY', KEYS[k+1], delta) end
  if tonumber(ARGV[5+i*3]) > 0 then
    if tonumber(redis.call('DECR', KEYS[k+2])) < 0 then redis.call('SET', KEYS[k+2], 0) end
  end
  if tonumber(ARGV[6+i*3]) == 1 then
    redis.call('HINCRBY', KEYS[k+3], 'reserved', -reserve)
    redis.call('HINCRBY', KEYS[k+3], 'spent', cost)
  end
end
return 1
`)

// key builds a key; {subject} is a hash tag, keeping a subject's counters
// in one slot.
func (r *Redis) key(subject, kind string, suffix string) string {
	return r.prefix + "{" + subject + "}:" + kind + ":" + suffix
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

func (r *Redis) admit(ctx context.Context, now time.Time, ps []Policy, req Request) (*Ticket, *api.Error) {
	cur, elapsed := minuteWindow(now)
	res := int64(0)
	if req.CostUSD > 0 {
		res = nanoUSD(req.CostUSD)
	}
	keys := make([]string, 0, len(ps)*6)
	args := []any{strconv.FormatFloat(elapsed, 'f', 6, 64), req.Tokens, res}
	for _, p := range ps {
		c, pr := strconv.FormatInt(cur, 10), strconv.FormatInt(cur-1, 10)
		keys = append(keys, r.key(p.Subject, "r", pr), r.key(p.Subject, "r", c), r.key(p.Subject, "t", pr), r.key(p.Subject, "t", c),
			r.key(p.Subject, "cc", "n"), r.key(p.Subject, "b", periodID(p.Period, now)))
		args = append(args, p.RPM, p.TPM, p.Concurrency, b2i(p.HasBudget), nanoUSD(p.BudgetUSD))
	}
	out, err := admitScript.Run(ctx, r.c, keys, args...).Slice()
	if err != nil {
		return nil, &api.Error{Status: http.StatusServiceUnavailable, Type: api.TypeServer, Code: "limits_unavailable",
			Message: "Could not check rate limits; try again.", Cause: err, RetryAfter: time.Second}
	}
	if n, _ := out[0].(int64); n == 0 {
		i, _ := out[1].(int64)
		p := ps[i]
		wait := time.Duration((1 - elapsed) * float64(time.Minute))
		switch out[2] {
		case "requests":
			return nil, rateLimited("requests", p.RPM, wait)
		case "tokens":
			return nil, rateLimited("tokens", p.TPM, wait)
		case "concurrency":
			return nil, tooMany(p.Concurrency)
		default:
			spent, _ := out[3].(int64)
			reserved, _ := out[4].(int64)
			return nil, budgetExceeded(p, float64(spent)/1e9, float64(reserved)/1e9)
		}
	}
	remReq, _ := out[1].(int64)
	remTok, _ := out[2].(int64)
	t := &Ticket{policies: ps, req: Request{Tokens: req.Tokens, CostUSD: float64(res) / 1e9}, Headers: headers(ps[0], remReq, remTok, now)}
	for _, p := range ps {
		t.windows = append(t.windows, strconv.FormatInt(cur, 10)+"|"+periodID(p.Period, now))
	}
	return t, nil
}

func (r *Redis) settle(ctx context.Context, t *Ticket, tokens int64, costUSD float64) error {
	keys := make([]string, 0, len(t.policies)*3)
	args := []any{tokens - t.req.Tokens, nanoUSD(t.req.CostUSD), nanoUSD(costUSD)}
	for i, p := range t.policies {
		minute, period := splitWindow(t.windows[i])
		keys = append(keys, r.key(p.Subject, "t", strconv.FormatInt(minute, 10)), r.key(p.Subject, "cc", "n"), r.key(p.Subject, "b", period))
		args = append(args, p.TPM, p.Concurrency, b2i(p.HasBudget))
	}
	if err := settleScript.Run(ctx, r.c, keys, args...).Err(); err != nil {
		return fmt.Errorf("limits: settle: %w", err)
	}
	return nil
}

func (r *Redis) spent(ctx context.Context, p Policy, now time.Time) (float64, float64, error) {
	vals, err := r.c.HMGet(ctx, r.key(p.Subject, "b", periodID(p.Period, now)), "spent", "reserved").Result()
	if err != nil {
		return 0, 0, err
	}
	num := func(v any) float64 {
		s, _ := v.(string)
		n, _ := strconv.ParseInt(s, 10, 64)
		return float64(n) / 1e9
	}
	return num(vals[0]), num(vals[1]), nil
}
