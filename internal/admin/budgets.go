package admin

import (
	"net/http"
	"strings"

	"github.com/switchboard-gw/switchboard/internal/api"
	"github.com/switchboard-gw/switchboard/internal/auth"
	"github.com/switchboard-gw/switchboard/internal/limits"
)

// BudgetsRead reads a budget's standing.
const BudgetsRead = "budgets:read"

func init() {
	Permissions[BudgetsRead] = []string{auth.RoleAdmin, auth.RoleTeamAdmin, auth.RoleDeveloper, auth.RoleViewer}
}

func (h *Handler) budgetRoutes() {
	h.route("GET /admin/v1/budgets/{subject}", BudgetsRead, h.getBudget)
}

// getBudget answers a budget's limit and its standing in the current
// period: settled spend, open reservations and what remains. The subject
// is key:ID, user:ID, team:ID or org:ID, within the caller's scope.
func (h *Handler) getBudget(w http.ResponseWriter, r *http.Request, p *auth.Principal) {
	subject := r.PathValue("subject")
	kind, id, _ := strings.Cut(subject, ":")
	notFound := &api.Error{Status: http.StatusNotFound, Type: api.TypeNotFound, Code: "not_found", Message: "No budget " + subject + "."}
	admin := p.Master || p.Role == auth.RoleAdmin
	inTeam := func(team string) bool {
		return admin || ((p.Role == auth.RoleTeamAdmin || p.Role == auth.RoleViewer) && p.TeamID != "" && team == p.TeamID)
	}
	var budget *float64
	var period string
	switch kind {
	case "key":
		k, err := h.store.KeyByID(r.Context(), id)
		if err != nil || !visible(p, k) {
			writeErr(w, notFound)
			return
		}
		budget, period = k.MaxBudgetUSD, k.BudgetPeriod
	case "user":
		u, err := h.store.UserByID(r.Context(), id)
		if err != nil || !(inTeam(u.TeamID) || (p.UserID != "" && p.UserID == u.ID)) {
			writeErr(w, notFound)
			return
		}
		budget, period = u.MaxBudgetUSD, u.BudgetPeriod
	case "team":
		t, err := h.store.TeamByID(r.Context(), id)
		if err != nil || !(inTeam(t.ID) || p.TeamID == t.ID) {
			writeErr(w, notFound)
			return
		}
		budget, period = t.MaxBudgetUSD, t.BudgetPeriod
	case "org":
		o, err := h.store.OrgByID(r.Context(), id)
		if err != nil || !admin {
			writeErr(w, notFound)
			return
		}
		budget, period = o.MaxBudgetUSD, o.BudgetPeriod
	default:
		writeErr(w, api.BadRequest("subject", "invalid_value", "subject must be key:ID, user:ID, team:ID or org:ID."))
		return
	}
	if budget == nil {
		writeErr(w, &api.Error{Status: http.StatusNotFound, Type: api.TypeNotFound, Code: "no_budget", Message: subject + " has no budget."})
		return
	}
	if period == "" {
		period = "monthly"
	}
	out := map[string]any{"subject": subject, "max_budget_usd": *budget, "budget_period": period}
	if h.Limiter != nil {
		pol := limits.Policy{Subject: subject, HasBudget: true, BudgetUSD: *budget, Period: period}
		spent, reserved, err := h.Limiter.Spent(r.Context(), pol)
		if err != nil {
			h.storeErr(w, err)
			return
		}
		out["window"], out["spent_usd"], out["reserved_usd"] = h.Limiter.Window(pol), spent, reserved
		out["remaining_usd"] = max(0, *budget-spent-reserved)
	}
	writeJSON(w, http.StatusOK, out)
}
