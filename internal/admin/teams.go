package admin

import (
	"encoding/json"
	"io"
	"math"
	"net/http"
	"net/mail"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/switchboard-gw/switchboard/internal/api"
	"github.com/switchboard-gw/switchboard/internal/auth"
	"github.com/switchboard-gw/switchboard/internal/store"
)

// Team and user actions.
const (
	TeamsCreate = "teams:create"
	TeamsRead   = "teams:read"
	TeamsUpdate = "teams:update"
	TeamsDelete = "teams:delete"
	UsersCreate = "users:create"
	UsersRead   = "users:read"
	UsersUpdate = "users:update"
	UsersDelete = "users:delete"
)

func init() {
	Permissions[TeamsCreate] = []string{auth.RoleAdmin}
	Permissions[TeamsRead] = []string{auth.RoleAdmin, auth.RoleTeamAdmin, auth.RoleDeveloper, auth.RoleViewer}
	Permissions[TeamsUpdate] = []string{auth.RoleAdmin, auth.RoleTeamAdmin}
	Permissions[TeamsDelete] = []string{auth.RoleAdmin}
	Permissions[UsersCreate] = []string{auth.RoleAdmin, auth.RoleTeamAdmin}
	Permissions[UsersRead] = []string{auth.RoleAdmin, auth.RoleTeamAdmin, auth.RoleViewer}
	Permissions[UsersUpdate] = []string{auth.RoleAdmin, auth.RoleTeamAdmin}
	Permissions[UsersDelete] = []string{auth.RoleAdmin, auth.RoleTeamAdmin}
	for _, a := range []string{TeamsCreate, TeamsUpdate, TeamsDelete, UsersCreate, UsersUpdate, UsersDelete} {
		writes[a] = true
	}
}

func (h *Handler) teamRoutes() {
	h.route("POST /admin/v1/teams", TeamsCreate, h.createTeam)
	h.route("GET /admin/v1/teams", TeamsRead, h.listTeams)
	h.route("GET /admin/v1/teams/{id}", TeamsRead, h.getTeam)
	h.route("PATCH /admin/v1/teams/{id}", TeamsUpdate, h.updateTeam)
	h.route("DELETE /admin/v1/teams/{id}", TeamsDelete, h.deleteTeam)
	h.route("POST /admin/v1/users", UsersCreate, h.createUser)
	h.route("GET /admin/v1/users", UsersRead, h.listUsers)
	h.route("GET /admin/v1/users/{id}", UsersRead, h.getUser)
	h.route("PATCH /admin/v1/users/{id}", UsersUpdate, h.updateUser)
	h.route("DELETE /admin/v1/users/{id}", UsersDelete, h.deleteUser)
}

// decode reads a JSON body strictly.
func (h *Handler) decode(w http.ResponseWriter, r *http.Request, v any) bool {
	dec := json.NewDecoder(io.LimitReader(r.Body, h.MaxBody))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		writeErr(w, api.BadRequest("", "invalid_json", "Invalid request body: %v", err))
		return false
	}
	return true
}

func pageArgs(w http.ResponseWriter, r *http.Request) (after string, limit int, ok bool) {
	limit = 100
	if v := r.URL.Query().Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 1000 {
			writeErr(w, api.BadRequest("limit", "invalid_value", "limit must be between 1 and 1000."))
			return "", 0, false
		}
		limit = n
	}
	return r.URL.Query().Get("after"), limit, true
}

// budgetFields are a budget's fields in a body; absent fields are left as
// they are on PATCH, and a null max_budget_usd removes the budget.
type budgetFields struct {
	MaxBudgetUSD json.RawMessage `json:"max_budget_usd"`
	BudgetPeriod *string         `json:"budget_period"`
}

func (b *budgetFields) set() bool { return b.MaxBudgetUSD != nil || b.BudgetPeriod != nil }

// apply validates the fields and sets them.
func (b *budgetFields) apply(budget **float64, period *string) *api.Error {
	if b.MaxBudgetUSD != nil {
		if string(b.MaxBudgetUSD) == "null" {
			*budget = nil
		} else {
			var v float64
			if err := json.Unmarshal(b.MaxBudgetUSD, &v); err != nil {
				return api.BadRequest("max_budget_usd", "invalid_type", "max_budget_usd must be a number or null.")
			}
			if v < 0 {
				return api.BadRequest("max_budget_usd", "invalid_value", "max_budget_usd must not be negative.")
			}
			*budget = &v
		}
	}
	if b.BudgetPeriod != nil {
		if !slices.Contains([]string{"daily", "weekly", "monthly", "total"}, *b.BudgetPeriod) {
			return api.BadRequest("budget_period", "invalid_value", "budget_period must be daily, weekly, monthly or total.")
		}
		*period = *b.BudgetPeriod
	}
	return nil
}

// rateFields are the rate and concurrency limits of a team or user body.
type rateFields struct {
	RPM         *int               `json:"rpm"`
	TPM         *int               `json:"tpm"`
	MaxParallel *int               `json:"max_parallel"`
	ModelLimits *store.ModelLimits `json:"model_limits"`
}

func (l *rateFields) set() bool {
	return l.RPM != nil || l.TPM != nil || l.MaxParallel != nil || l.ModelLimits != nil
}

// apply validates the fields and sets those sent.
func (l *rateFields) apply(rpm, tpm, parallel *int, perModel *store.ModelLimits) *api.Error {
	for _, v := range []*int{l.RPM, l.TPM, l.MaxParallel} {
		if v != nil && !limitRange(*v) {
			return api.BadRequest("rpm", "invalid_value", "rpm, tpm and max_parallel must be between 0 and %d.", math.MaxInt32)
		}
	}
	if l.ModelLimits != nil {
		if e := validModelLimits(*l.ModelLimits); e != nil {
			return e
		}
		*perModel = *l.ModelLimits
	}
	for _, f := range []struct{ from, to *int }{{l.RPM, rpm}, {l.TPM, tpm}, {l.MaxParallel, parallel}} {
		if f.from != nil {
			*f.to = *f.from
		}
	}
	return nil
}

// teamLimits are the limit fields of a team body.
type teamLimits struct {
	budgetFields
	rateFields
	Models      *[]string `json:"models"`
	LogPayloads *bool     `json:"log_payloads"`
}

func (l *teamLimits) set() bool {
	return l.budgetFields.set() || l.rateFields.set() || l.Models != nil || l.LogPayloads != nil
}

// apply validates the fields and sets them on t.
func (l *teamLimits) apply(t *store.Team) *api.Error {
	if aerr := l.budgetFields.apply(&t.MaxBudgetUSD, &t.BudgetPeriod); aerr != nil {
		return aerr
	}
	if aerr := l.rateFields.apply(&t.RPM, &t.TPM, &t.MaxParallel, &t.ModelLimits); aerr != nil {
		return aerr
	}
	if l.LogPayloads != nil {
		t.LogPayloads = *l.LogPayloads
	}
	if l.Models != nil {
		for _, m := range *l.Models {
			if strings.TrimSpace(m) == "" {
				return api.BadRequest("models", "invalid_value", "models must not contain empty names.")
			}
		}
		t.Models = *l.Models
	}
	return nil
}

func (h *Handler) createTeam(w http.ResponseWriter, r *http.Request, p *auth.Principal) {
	var req struct {
		Name  string `json:"name"`
		OrgID string `json:"org_id"`
		teamLimits
	}
	if !h.decode(w, r, &req) {
		return
	}
	if strings.TrimSpace(req.Name) == "" {
		writeErr(w, api.BadRequest("name", "missing_required_parameter", "name is required."))
		return
	}
	t := &store.Team{ID: store.NewID("team_"), Name: req.Name, OrgID: req.OrgID, BudgetPeriod: "monthly", CreatedAt: time.Now().UTC()}
	if aerr := req.apply(t); aerr != nil {
		writeErr(w, aerr)
		return
	}
	if err := h.store.CreateTeam(r.Context(), t, p.Actor()); err != nil {
		h.storeErr(w, err)
		return
	}
	writeJSON(w, http.StatusCreated, t)
}

// canSeeTeam: admins see every team, others their own.
func canSeeTeam(p *auth.Principal, id string) bool {
	return p.Master || p.Role == auth.RoleAdmin || (p.TeamID != "" && p.TeamID == id)
}

func (h *Handler) listTeams(w http.ResponseWriter, r *http.Request, p *auth.Principal) {
	after, limit, ok := pageArgs(w, r)
	if !ok {
		return
	}
	if !p.Master && p.Role != auth.RoleAdmin {
		t, err := h.store.TeamByID(r.Context(), p.TeamID)
		out := []*store.Team{}
		if err == nil && t.ID > after {
			out = append(out, t)
		}
		writeJSON(w, http.StatusOK, map[string]any{"data": out, "next_after": nil})
		return
	}
	teams, err := h.store.ListTeams(r.Context(), after, limit)
	if err != nil {
		h.storeErr(w, err)
		return
	}
	writeJSON(w, http.StatusOK, page(teams, limit, func(t *store.Team) string { return t.ID }))
}

func page[T any](items []T, limit int, id func(T) string) map[string]any {
	var next *string
	if len(items) == limit {
		n := id(items[len(items)-1])
		next = &n
	}
	if items == nil {
		items = []T{}
	}
	return map[string]any{"data": items, "next_after": next}
}

func (h *Handler) getTeam(w http.ResponseWriter, r *http.Request, p *auth.Principal) {
	if !canSeeTeam(p, r.PathValue("id")) {
		h.storeErr(w, store.ErrNotFound)
		return
	}
	t, err := h.store.TeamByID(r.Context(), r.PathValue("id"))
	if err != nil {
		h.storeErr(w, err)
		return
	}
	writeJSON(w, http.StatusOK, t)
}

func (h *Handler) updateTeam(w http.ResponseWriter, r *http.Request, p *auth.Principal) {
	if !canSeeTeam(p, r.PathValue("id")) {
		h.storeErr(w, store.ErrNotFound)
		return
	}
	var req struct {
		Name  *string `json:"name"`
		OrgID *string `json:"org_id"` // "" takes the team out of its organization
		teamLimits
	}
	if !h.decode(w, r, &req) {
		return
	}
	if req.Name != nil && strings.TrimSpace(*req.Name) == "" {
		writeErr(w, api.BadRequest("name", "invalid_value", "name must not be empty."))
		return
	}
	// A team's limits bound its admins too, and its organization's
	// budget bounds it: only admins change them.
	if (req.set() || req.OrgID != nil) && !p.Master && p.Role != auth.RoleAdmin {
		writeErr(w, &api.Error{Status: http.StatusForbidden, Type: api.TypePermission, Code: "forbidden",
			Message: "Only admins change a team's organization, budget, rate limits, models or payload logging."})
		return
	}
	t, err := h.store.UpdateTeam(r.Context(), r.PathValue("id"), func(t *store.Team) error {
		if req.Name != nil {
			t.Name = *req.Name
		}
		if req.OrgID != nil {
			t.OrgID = *req.OrgID
		}
		return asError(req.apply(t))
	}, p.Actor())
	h.answerUpdate(w, t, err)
}

// asError makes a validation failure an error that aborts a store update
// (a nil *api.Error must not become a non-nil error).
func asError(e *api.Error) error {
	if e == nil {
		return nil
	}
	return e
}

// answerUpdate answers a PATCH of a team or organization; a change to
// limits applies at once on this replica, so cached keys are dropped.
func (h *Handler) answerUpdate(w http.ResponseWriter, v any, err error) {
	if err != nil {
		h.storeErr(w, err)
		return
	}
	h.auth.Purge()
	writeJSON(w, http.StatusOK, v)
}

func (h *Handler) deleteTeam(w http.ResponseWriter, r *http.Request, p *auth.Principal) {
	if err := h.store.DeleteTeam(r.Context(), r.PathValue("id"), p.Actor()); err != nil {
		h.storeErr(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

type userRequest struct {
	Email  string `json:"email"`
	Name   string `json:"name"`
	Role   string `json:"role"`
	TeamID string `json:"team_id"`
	budgetFields
	rateFields
}

// applyLimits sets the budget and rate fields sent on u.
func (req *userRequest) applyLimits(u *store.User) *api.Error {
	if e := req.budgetFields.apply(&u.MaxBudgetUSD, &u.BudgetPeriod); e != nil {
		return e
	}
	return req.rateFields.apply(&u.RPM, &u.TPM, &u.MaxParallel, &u.ModelLimits)
}

// checkUser validates a user body and the caller's right to give that
// role in that team.
func checkUser(p *auth.Principal, req *userRequest) *api.Error {
	// A user's budget and limits bound them: only admins set them.
	if (req.budgetFields.set() || req.rateFields.set()) && !p.Master && p.Role != auth.RoleAdmin {
		return &api.Error{Status: http.StatusForbidden, Type: api.TypePermission, Code: "forbidden", Message: "Only admins set a user's budget or rate limits."}
	}
	if !slices.Contains(auth.Roles, req.Role) {
		return api.BadRequest("role", "invalid_value", "role must be one of %s.", strings.Join(auth.Roles, ", "))
	}
	if !p.Master && p.Role == auth.RoleTeamAdmin {
		if req.TeamID != p.TeamID {
			return &api.Error{Status: http.StatusForbidden, Type: api.TypePermission, Code: "forbidden", Message: "Team admins manage their own team's users only."}
		}
		if rank(req.Role) < rank(auth.RoleTeamAdmin) {
			return &api.Error{Status: http.StatusForbidden, Type: api.TypePermission, Code: "forbidden", Message: "Team admins cannot make admins."}
		}
	}
	return nil
}

func (h *Handler) createUser(w http.ResponseWriter, r *http.Request, p *auth.Principal) {
	var req userRequest
	if !h.decode(w, r, &req) {
		return
	}
	if req.Role == "" {
		req.Role = auth.RoleDeveloper
	}
	if !p.Master && p.Role == auth.RoleTeamAdmin && req.TeamID == "" {
		req.TeamID = p.TeamID
	}
	if _, err := mail.ParseAddress(req.Email); err != nil || !strings.Contains(req.Email, "@") {
		writeErr(w, api.BadRequest("email", "invalid_value", "email must be an email address."))
		return
	}
	if e := checkUser(p, &req); e != nil {
		writeErr(w, e)
		return
	}
	u := &store.User{ID: store.NewID("user_"), Email: strings.ToLower(req.Email), Name: req.Name, Role: req.Role, TeamID: req.TeamID, BudgetPeriod: "monthly", CreatedAt: time.Now().UTC()}
	if e := req.applyLimits(u); e != nil {
		writeErr(w, e)
		return
	}
	if err := h.store.CreateUser(r.Context(), u, p.Actor()); err != nil {
		h.storeErr(w, err)
		return
	}
	writeJSON(w, http.StatusCreated, u)
}

func (h *Handler) listUsers(w http.ResponseWriter, r *http.Request, p *auth.Principal) {
	after, limit, ok := pageArgs(w, r)
	if !ok {
		return
	}
	team := r.URL.Query().Get("team_id")
	if !p.Master && p.Role != auth.RoleAdmin {
		team = p.TeamID
		if team == "" {
			writeJSON(w, http.StatusOK, map[string]any{"data": []any{}, "next_after": nil})
			return
		}
	}
	users, err := h.store.ListUsers(r.Context(), after, limit, team)
	if err != nil {
		h.storeErr(w, err)
		return
	}
	writeJSON(w, http.StatusOK, page(users, limit, func(u *store.User) string { return u.ID }))
}

// userFor reads a user the caller may act on (others' are not found).
func (h *Handler) userFor(w http.ResponseWriter, r *http.Request, p *auth.Principal) *store.User {
	u, err := h.store.UserByID(r.Context(), r.PathValue("id"))
	if err == nil && !(p.Master || p.Role == auth.RoleAdmin || (p.TeamID != "" && u.TeamID == p.TeamID)) {
		err = store.ErrNotFound
	}
	if err != nil {
		h.storeErr(w, err)
		return nil
	}
	return u
}

func (h *Handler) getUser(w http.ResponseWriter, r *http.Request, p *auth.Principal) {
	if u := h.userFor(w, r, p); u != nil {
		writeJSON(w, http.StatusOK, u)
	}
}

func (h *Handler) updateUser(w http.ResponseWriter, r *http.Request, p *auth.Principal) {
	u := h.userFor(w, r, p)
	if u == nil {
		return
	}
	req := userRequest{Email: u.Email, Name: u.Name, Role: u.Role, TeamID: u.TeamID}
	if !h.decode(w, r, &req) {
		return
	}
	if req.Email != u.Email {
		writeErr(w, api.BadRequest("email", "invalid_value", "email cannot be changed."))
		return
	}
	if e := checkUser(p, &req); e != nil {
		writeErr(w, e)
		return
	}
	next := *u
	next.Name, next.Role, next.TeamID = req.Name, req.Role, req.TeamID
	if e := req.applyLimits(&next); e != nil {
		writeErr(w, e)
		return
	}
	out, err := h.store.UpdateUser(r.Context(), &next, p.Actor())
	h.answerUpdate(w, out, err)
}

func (h *Handler) deleteUser(w http.ResponseWriter, r *http.Request, p *auth.Principal) {
	if u := h.userFor(w, r, p); u == nil {
		return
	}
	if err := h.store.DeleteUser(r.Context(), r.PathValue("id"), p.Actor()); err != nil {
		h.storeErr(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
