package admin

import (
	"net/http"
	"strings"
	"time"

	"github.com/switchboard-gw/switchboard/internal/api"
	"github.com/switchboard-gw/switchboard/internal/auth"
	"github.com/switchboard-gw/switchboard/internal/store"
)

// Organization actions: admins only.
const (
	OrgsCreate = "orgs:create"
	OrgsRead   = "orgs:read"
	OrgsUpdate = "orgs:update"
	OrgsDelete = "orgs:delete"
)

func init() {
	for _, a := range []string{OrgsCreate, OrgsRead, OrgsUpdate, OrgsDelete} {
		Permissions[a] = []string{auth.RoleAdmin}
	}
	for _, a := range []string{OrgsCreate, OrgsUpdate, OrgsDelete} {
		writes[a] = true
	}
}

func (h *Handler) orgRoutes() {
	h.route("POST /admin/v1/organizations", OrgsCreate, h.createOrg)
	h.route("GET /admin/v1/organizations", OrgsRead, h.listOrgs)
	h.route("GET /admin/v1/organizations/{id}", OrgsRead, h.getOrg)
	h.route("PATCH /admin/v1/organizations/{id}", OrgsUpdate, h.updateOrg)
	h.route("DELETE /admin/v1/organizations/{id}", OrgsDelete, h.deleteOrg)
}

func (h *Handler) createOrg(w http.ResponseWriter, r *http.Request, p *auth.Principal) {
	var req struct {
		Name string `json:"name"`
		budgetFields
	}
	if !h.decode(w, r, &req) {
		return
	}
	if strings.TrimSpace(req.Name) == "" {
		writeErr(w, api.BadRequest("name", "missing_required_parameter", "name is required."))
		return
	}
	o := &store.Org{ID: store.NewID("org_"), Name: req.Name, BudgetPeriod: "monthly", CreatedAt: time.Now().UTC()}
	if aerr := req.apply(&o.MaxBudgetUSD, &o.BudgetPeriod); aerr != nil {
		writeErr(w, aerr)
		return
	}
	if err := h.store.CreateOrg(r.Context(), o, p.Actor()); err != nil {
		h.storeErr(w, err)
		return
	}
	writeJSON(w, http.StatusCreated, o)
}

func (h *Handler) listOrgs(w http.ResponseWriter, r *http.Request, _ *auth.Principal) {
	after, limit, ok := pageArgs(w, r)
	if !ok {
		return
	}
	orgs, err := h.store.ListOrgs(r.Context(), after, limit)
	if err != nil {
		h.storeErr(w, err)
		return
	}
	writeJSON(w, http.StatusOK, page(orgs, limit, func(o *store.Org) string { return o.ID }))
}

func (h *Handler) getOrg(w http.ResponseWriter, r *http.Request, _ *auth.Principal) {
	o, err := h.store.OrgByID(r.Context(), r.PathValue("id"))
	if err != nil {
		h.storeErr(w, err)
		return
	}
	writeJSON(w, http.StatusOK, o)
}

func (h *Handler) updateOrg(w http.ResponseWriter, r *http.Request, p *auth.Principal) {
	var req struct {
		Name *string `json:"name"`
		budgetFields
	}
	if !h.decode(w, r, &req) {
		return
	}
	if req.Name != nil && strings.TrimSpace(*req.Name) == "" {
		writeErr(w, api.BadRequest("name", "invalid_value", "name must not be empty."))
		return
	}
	o, err := h.store.UpdateOrg(r.Context(), r.PathValue("id"), func(o *store.Org) error {
		if req.Name != nil {
			o.Name = *req.Name
		}
		return asError(req.apply(&o.MaxBudgetUSD, &o.BudgetPeriod))
	}, p.Actor())
	h.answerUpdate(w, o, err)
}

func (h *Handler) deleteOrg(w http.ResponseWriter, r *http.Request, p *auth.Principal) {
	if err := h.store.DeleteOrg(r.Context(), r.PathValue("id"), p.Actor()); err != nil {
		h.storeErr(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
