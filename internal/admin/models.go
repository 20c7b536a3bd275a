package admin

import (
	"context"
	"encoding/json"
	"io"
	"net/http"

	"github.com/switchboard-gw/switchboard/internal/api"
	"github.com/switchboard-gw/switchboard/internal/auth"
	"github.com/switchboard-gw/switchboard/internal/config"
	"github.com/switchboard-gw/switchboard/internal/gateway"
	"github.com/switchboard-gw/switchboard/internal/live"
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

// Runtime checks and applies run-time providers and model groups
// (live.Runtime).
type Runtime interface {
	Stored(ctx context.Context) (live.Defs, string, error)
	Build(ctx context.Context, defs live.Defs) (*gateway.Gateway, error)
	Reload(ctx context.Context) error
	FileProviders() []config.Provider
}

func (h *Handler) modelRoutes() {
	h.route("PUT /admin/v1/models/{name}", ModelsWrite, h.putModel)
	h.route("GET /admin/v1/models", ModelsRead, h.listModels)
	h.route("DELETE /admin/v1/models/{name}", ModelsWrite, h.deleteModel)
}

// refusal answers a change whose result does not build.
type refusal struct {
	status int
	code   string
}

var (
	invalidChange = refusal{http.StatusBadRequest, "invalid_model"}
	stillInUse    = refusal{http.StatusConflict, "in_use"}
)

// change checks the stored definitions as changed by edit, then stores
// the change with apply and serves it; a result that does not build is
// answered with the refusal and nothing moves.
func (h *Handler) change(w http.ResponseWriter, r *http.Request, edit func(*live.Defs), apply func() error, refuse refusal) bool {
	if h.Runtime == nil {
		writeErr(w, &api.Error{Status: http.StatusServiceUnavailable, Type: api.TypeServer, Code: "unavailable", Message: "Run-time configuration is not enabled here."})
		return false
	}
	defs, _, err := h.Runtime.Stored(r.Context())
	if err != nil {
		h.storeErr(w, err)
		return false
	}
	edit(&defs)
	if _, err := h.Runtime.Build(r.Context(), defs); err != nil {
		writeErr(w, &api.Error{Status: refuse.status, Type: api.TypeInvalidRequest, Code: refuse.code, Message: err.Error()})
		return false
	}
	if err := apply(); err != nil {
		h.storeErr(w, err)
		return false
	}
	h.reload(r.Context())
	return true
}

// reload serves what was just stored; other replicas follow by polling.
func (h *Handler) reload(ctx context.Context) {
	if h.Runtime == nil {
		return
	}
	if err := h.Runtime.Reload(ctx); err != nil {
		h.log.Error("run-time configuration: stored but not applied", "error", err.Error())
	}
}

// readObject reads a body that must be a JSON object.
func (h *Handler) readObject(w http.ResponseWriter, r *http.Request, what string) ([]byte, bool) {
	body, err := io.ReadAll(io.LimitReader(r.Body, h.MaxBody))
	if err != nil || !json.Valid(body) || len(body) == 0 || body[0] != '{' {
		writeErr(w, api.BadRequest("", "invalid_json", "The body must be a JSON object: %s as in the config file.", what))
		return nil, false
	}
	return body, true
}

func (h *Handler) putModel(w http.ResponseWriter, r *http.Request, p *auth.Principal) {
	name := r.PathValue("name")
	body, ok := h.readObject(w, r, "a model group")
	if !ok {
		return
	}
	g := &store.Definition{Name: name, Definition: string(body)}
	if h.change(w, r, func(d *live.Defs) { d.Models[name] = body }, func() error { return h.store.PutModelGroup(r.Context(), g, p.Actor()) }, invalidChange) {
		writeJSON(w, http.StatusOK, definitionJSON(g))
	}
}

func (h *Handler) deleteModel(w http.ResponseWriter, r *http.Request, p *auth.Principal) {
	name := r.PathValue("name")
	if h.change(w, r, func(d *live.Defs) { delete(d.Models, name) }, func() error { return h.store.DeleteModelGroup(r.Context(), name, p.Actor()) }, stillInUse) {
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
		out = append(out, definitionJSON(&g))
	}
	writeJSON(w, http.StatusOK, map[string]any{"data": out})
}

func definitionJSON(d *store.Definition) map[string]any {
	return map[string]any{"name": d.Name, "updated_at": d.UpdatedAt, "definition": json.RawMessage(d.Definition)}
}
