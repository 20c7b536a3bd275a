package server

import (
	"context"
	"net/http"

	"github.com/switchboard-gw/switchboard/internal/api"
	"github.com/switchboard-gw/switchboard/internal/auth"
	"github.com/switchboard-gw/switchboard/internal/gateway"
	"github.com/switchboard-gw/switchboard/internal/limits"
)

// defaultMaxOutput is the output assumed for a budget reservation when the
// request sets no max_tokens.
const defaultMaxOutput = 4096

// policies are the limits that apply to a caller: the key's own, its
// team's, its user's and its organization's, admitted together (all or
// nothing).
func policies(p *auth.Principal, model string) (ps []limits.Policy, tokens, budget bool) {
	if p == nil || p.Master || p.KeyID == "" {
		return nil, false, false
	}
	add := func(subject string, rpm, tpm, parallel int, b *float64, period string) {
		pol := limits.Policy{Subject: subject, RPM: int64(rpm), TPM: int64(tpm), Concurrency: int64(parallel)}
		if b != nil {
			if period == "" {
				period = "monthly" // the default everywhere (keys stored before it was written down)
			}
			pol.HasBudget, pol.BudgetUSD, pol.Period = true, *b, period
		}
		if pol.RPM == 0 && pol.TPM == 0 && pol.Concurrency == 0 && !pol.HasBudget {
			return
		}
		ps = append(ps, pol)
		tokens = tokens || pol.TPM > 0 || pol.HasBudget
		budget = budget || pol.HasBudget
	}
	add("key:"+p.KeyID, p.RPM, p.TPM, p.MaxParallel, p.BudgetUSD, p.BudgetPeriod)
	if l, ok := p.ModelLimits[model]; ok {
		add("key:"+p.KeyID+"|model:"+model, l.RPM, l.TPM, l.MaxParallel, nil, "")
	}
	if t := p.Team; t != nil {
		add("team:"+t.ID, t.RPM, t.TPM, t.MaxParallel, t.MaxBudgetUSD, t.BudgetPeriod)
		if l, ok := t.ModelLimits[model]; ok {
			add("team:"+t.ID+"|model:"+model, l.RPM, l.TPM, l.MaxParallel, nil, "")
		}
	}
	if u := p.User; u != nil {
		add("user:"+u.ID, u.RPM, u.TPM, u.MaxParallel, u.MaxBudgetUSD, u.BudgetPeriod)
		if l, ok := u.ModelLimits[model]; ok {
			add("user:"+u.ID+"|model:"+model, l.RPM, l.TPM, l.MaxParallel, nil, "")
		}
	}
	if o := p.Org; o != nil {
		add("org:"+o.ID, 0, 0, 0, o.MaxBudgetUSD, o.BudgetPeriod)
	}
	return ps, tokens, budget
}

// admit checks the caller's limits and reserves the request's worst-case
// cost: prompt tokens estimated on the high side plus max_tokens, at the highest price
// among the group's deployments. It returns nil (and has answered) when
// the request must not go on.
func (s *Server) admit(ctx context.Context, w http.ResponseWriter, st *reqState, rec *Record, group *gateway.Group, rest string, promptTokens func() int64, maxOutput int64) (*limits.Ticket, bool) {
	ps, needTokens, needBudget := policies(st.who, rec.Model)
	if ps == nil || s.limiter == nil {
		return nil, true
	}
	var req limits.Request
	if needTokens {
		switch {
		case maxOutput == 0:
			maxOutput = defaultMaxOutput
		case maxOutput < 0: // embeddings: no output tokens
			maxOutput = 0
		}
		req.Tokens = promptTokens() + maxOutput
	}
	if needBudget {
		worst, priced := 0.0, true
		for i := range group.Deployments {
			d := &group.Deployments[i]
			p, ok := d.PriceFor(d.UpstreamModel(rest))
			if !ok {
				priced = false
				continue
			}
			worst = max(worst, (float64(req.Tokens-maxOutput)*p.Input+float64(maxOutput)*p.Output)/1e6+p.PerRequest)
		}
		if !priced && s.cfg.Budgets.Unpriced != "allow" {
			s.fail(w, st, rec, &api.Error{Status: http.StatusForbidden, Type: api.TypePermission, Code: "unpriced_model",
				Message: "This model has no price, so this key's budget cannot be enforced on it; ask an admin to set a price or allow unpriced models."})
			return nil, false
		}
		req.CostUSD = worst
	}
	ticket, aerr := s.limiter.Admit(ctx, ps, req)
	if aerr != nil {
		s.fail(w, st, rec, aerr)
		return nil, false
	}
	for k, v := range ticket.Headers {
		w.Header()[k] = v
	}
	rec.ticket = ticket
	return ticket, true
}

// settle records what an admitted request really used.
func (s *Server) settle(rec *Record) {
	if rec.ticket == nil || s.limiter == nil {
		return
	}
	cost := rec.CostUSD
	if err := s.limiter.Settle(context.Background(), rec.ticket, rec.Usage.Input+rec.Usage.Output, cost); err != nil {
		s.log.Error("settling limits failed", "request_id", rec.RequestID, "error", err.Error())
		return
	}
	if cost > 0 {
		s.alertBudgets(rec)
	}
}

// alertBudgets logs a warning the first time (on this replica) a budget's
// spend in its period reaches the alert share. It runs after the answer
// has been sent.
func (s *Server) alertBudgets(rec *Record) {
	for _, p := range rec.ticket.Budgets() {
		key := p.Subject + "|" + s.limiter.Window(p)
		if _, seen := s.alerted.Load(key); seen {
			continue // alerted already this period: no need to read the spend
		}
		spent, _, err := s.limiter.Spent(context.Background(), p)
		if err != nil || spent < s.cfg.Budgets.AlertAt*p.BudgetUSD {
			continue
		}
		if _, seen := s.alerted.LoadOrStore(key, true); seen {
			continue
		}
		rec.BudgetAlerts = append(rec.BudgetAlerts, p.Subject)
		s.log.Warn("budget alert: spend reached the alert share", "subject", p.Subject, "spent_usd", spent, "budget_usd", p.BudgetUSD,
			"alert_at", s.cfg.Budgets.AlertAt, "period", p.Period, "request_id", rec.RequestID)
	}
}
