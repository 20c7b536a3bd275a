package admin

import (
	"net/http"
	"regexp"

	"github.com/switchboard-gw/switchboard/internal/api"
	"github.com/switchboard-gw/switchboard/internal/auth"
	"github.com/switchboard-gw/switchboard/internal/live"
	"github.com/switchboard-gw/switchboard/internal/store"
)

// Credential actions: admins only. Values go in and never come out.
const (
	CredentialsWrite = "credentials:write"
	CredentialsList  = "credentials:list"
)

func init() {
	Permissions[CredentialsWrite] = []string{auth.RoleAdmin}
	Permissions[CredentialsList] = []string{auth.RoleAdmin}
	writes[CredentialsWrite] = true
}

var credentialName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$`)

func (h *Handler) credentialRoutes() {
	h.route("PUT /admin/v1/credentials/{name}", CredentialsWrite, h.putCredential)
	h.route("GET /admin/v1/credentials", CredentialsList, h.listCredentials)
	h.route("DELETE /admin/v1/credentials/{name}", CredentialsWrite, h.deleteCredential)
}

func (h *Handler) putCredential(w http.ResponseWriter, r *http.Request, p *auth.Principal) {
	name := r.PathValue("name")
	if !credentialName.MatchString(name) {
		writeErr(w, api.BadRequest("name", "invalid_value", "A credential name is 1-100 letters, digits, '.', '_' or '-'."))
		return
	}
	var req struct {
		Value string `json:"value"`
	}
	if !h.decode(w, r, &req) {
		return
	}
	if req.Value == "" {
		writeErr(w, api.BadRequest("value", "missing_required_parameter", "value is required."))
		return
	}
	if h.Secrets == nil {
		writeErr(w, &api.Error{Status: http.StatusServiceUnavailable, Type: api.TypeServer, Code: "no_encryption_key", Message: "No encryption key is configured."})
		return
	}
	c := &store.Credential{Name: name, Sealed: h.Secrets.Seal(req.Value, name)}
	if err := h.store.PutCredential(r.Context(), c, p.Actor()); err != nil {
		h.storeErr(w, err)
		return
	}
	h.reload(r.Context()) // a rotated value is used at once
	writeJSON(w, http.StatusOK, c)
}

func (h *Handler) listCredentials(w http.ResponseWriter, r *http.Request, _ *auth.Principal) {
	all, err := h.store.Credentials(r.Context())
	if err != nil {
		h.storeErr(w, err)
		return
	}
	if all == nil {
		all = []*store.Credential{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"data": all})
}

// deleteCredential refuses to remove a credential a provider still uses.
func (h *Handler) deleteCredential(w http.ResponseWriter, r *http.Request, p *auth.Principal) {
	name := r.PathValue("name")
	remove := func() error { return h.store.DeleteCredential(r.Context(), name, p.Actor()) }
	if h.Runtime == nil {
		if err := remove(); err != nil {
			h.storeErr(w, err)
			return
		}
	} else if !h.change(w, r, func(d *live.Defs) { d.Pending = map[string]*string{name: nil} }, remove, stillInUse) {
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
