package admin

import (
	"context"
	"encoding/json"
	"io"
	"net/http"

	"github.com/switchboard-gw/switchboard/internal/api"
	"github.com/switchboard-gw/switchboard/internal/auth"
	"github.com/switchboard-gw/switchboard/internal/gateway"
	"github.com/switchboard-gw/switchboard/internal/store"
)

// Model group actions: admins change them, every role may read them.
const (
	ModelsWrite = "models:write"
	ModelsRead  = "models:read"
)

func init() {
	Permissions[ModelsWrite] = []string{auth.RoleAdmin}
	Permissions[ModelsRead] = []string{auth.RoleAdmin, auth.RoleTeamAdmin, auth.RoleDeveloper, auth.RoleViewer}
	writes[ModelsWrite] = true
}

// ModelRuntime checks and applies run-time model groups (live.Models).
type ModelRuntime interface {
	Stored(ctx context.Context) (map[string][]byte, string, error)
	Build(defs map[string][]byte) (*gateway.Gateway, error)
	Reload(ctx context.Context) error
}

func (h *Handler) modelRoutes() {
	h.route("PUT /admin/v1/models/{name}", ModelsWrite, h.putModel)
	h.route("GET /admin/v1/models", ModelsRead, h.listModels)
	h.route("DELETE /admin/v1/models/{name}", ModelsWrite, h.deleteModel)
}

// change checks the stored groups as changed by edit build, then stores
// the change and serves it; an invalid result is a 400 and nothing moves.
func (h *Handler) change(w http.ResponseWriter, r *http.Request, edit func(map[string][]byte), apply func() error) bool {
	if h.Models == nil {
		writeErr(w, &api.Error{Status: http.StatusServiceUnavailable, Type: api.TypeServer, Code: "unavailable", Message: "Run-time model groups are not enabled here."})
		return false
	}
	defs, _, err := h.Models.Stored(r.Context())
	if err != nil {
		h.storeErr(w, err)
		return false
	}
	edit(defs)
	if _, err := h.Models.Build(defs); err != nil {
		writeErr(w, api.BadRequest("", "invalid_model", "%s", err.Error()))
		return false
	}
	if err := apply(); err != nil {
		h.storeErr(w, err)
		return false
	}
	if err := h.Models.Reload(r.Context()); err != nil {
		h.log.Error("model groups: stored but not applied", "error", err.Error())
	}
	return true
}

func (h *Handler) putModel(w http.ResponseWriter, r *http.Request, p *auth.Principal) {
	name := r.PathValue("name")
	body, err := io.ReadAll(io.LimitReader(r.Body, h.MaxBody))
	if err != nil || !json.Valid(body) || len(body) == 0 || body[0] != '{' {
		writeErr(w, api.BadRequest("", "invalid_json", "The body must be a JSON object: a model group as in the config file."))
		return
	}
	g := &store.ModelGroup{Name: name, Definition: string(body)}
	if h.change(w, r, func(defs map[string][]byte) { defs[name] = body }, func() error { return h.store.PutModelGroup(r.Context(), g, p.Actor()) }) {
		writeJSON(w, http.StatusOK, map[string]any{"name": name, "updated_at": g.UpdatedAt, "definition": json.RawMessage(body)})
	}
}

func (h *Handler) deleteModel(w http.ResponseWriter, r *http.Request, p *auth.Principal) {
	name := r.PathValue("name")
	if h.change(w, r, func(defs map[string][]byte) { delete(defs, name) }, func() error { return h.store.DeleteModelGroup(r.Context(), name, p.Actor()) }) {
		w.WriteHeader(http.StatusNoContent)
	}
}

func (h *Handler) listModels(w http.ResponseWriter, r *http.Request, _ *auth.Principal) {
	groups, err := h.store.ModelGroups(r.Context())
	if err != nil {
		h.storeErr(w, err)
		return
	}
	out := make([]map[string]any, 0, len(groups))
	for _, g := range groups {
		out = append(out, map[string]any{"name": g.Name, "updated_at": g.UpdatedAt, "definition": json.RawMessage(g.Definition)})
	}
	writeJSON(w, http.StatusOK, map[string]any{"data": out})
}
