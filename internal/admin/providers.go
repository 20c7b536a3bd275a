package admin

import (
	"encoding/json"
	"net/http"
	"strings"

	"github.com/switchboard-gw/switchboard/internal/api"
	"github.com/switchboard-gw/switchboard/internal/auth"
	"github.com/switchboard-gw/switchboard/internal/live"
	"github.com/switchboard-gw/switchboard/internal/secret"
	"github.com/switchboard-gw/switchboard/internal/store"
)

// Provider actions: admins only, since providers hold credentials and
// decide where prompts are sent.
const (
	ProvidersWrite = "providers:write"
	ProvidersRead  = "providers:read"
)

func init() {
	Permissions[ProvidersWrite] = []string{auth.RoleAdmin}
	Permissions[ProvidersRead] = []string{auth.RoleAdmin}
	writes[ProvidersWrite] = true
}

// secretSettings are the provider settings whose values are sealed as
// credentials when a provider is stored; header values are too.
var secretSettings = []string{"api_key", "access_key_id", "secret_access_key"}

func (h *Handler) providerRoutes() {
	h.route("PUT /admin/v1/providers/{name}", ProvidersWrite, h.putProvider)
	h.route("GET /admin/v1/providers", ProvidersRead, h.listProviders)
	h.route("DELETE /admin/v1/providers/{name}", ProvidersWrite, h.deleteProvider)
}

// ownCredentials prefixes the credentials stored with a provider.
func ownCredentials(provider string) string { return "provider." + provider + "." }

// putProvider stores a provider definition. Secret values in it are
// sealed as credentials named provider.NAME.SETTING and replaced by
// references, so the stored definition, the audit log and every answer
// hold no secret.
func (h *Handler) putProvider(w http.ResponseWriter, r *http.Request, p *auth.Principal) {
	name := r.PathValue("name")
	if !credentialName.MatchString(name) {
		writeErr(w, api.BadRequest("name", "invalid_value", "A provider name is 1-100 letters, digits, '.', '_' or '-'."))
		return
	}
	body, ok := h.readObject(w, r, "a provider")
	if !ok {
		return
	}
	if h.Secrets == nil {
		writeErr(w, &api.Error{Status: http.StatusServiceUnavailable, Type: api.TypeServer, Code: "no_encryption_key", Message: "No encryption key is configured."})
		return
	}
	var def map[string]any
	json.Unmarshal(body, &def) // valid: checked by readObject
	pending := map[string]*string{}
	seal := func(setting string, v any) any {
		s, ok := v.(string)
		if !ok || s == "" || strings.HasPrefix(s, secret.CredentialRef) {
			return v // a reference, or left for validation to refuse
		}
		cred := ownCredentials(name) + setting
		pending[cred] = &s
		return secret.CredentialRef + cred
	}
	for _, setting := range secretSettings {
		if v, ok := def[setting]; ok {
			def[setting] = seal(setting, v)
		}
	}
	if headers, ok := def["headers"].(map[string]any); ok {
		for k, v := range headers {
			headers[k] = seal("header."+k, v)
		}
	}
	stored, _ := json.Marshal(def)
	creds := make([]*store.Credential, 0, len(pending))
	for cred, v := range pending {
		creds = append(creds, &store.Credential{Name: cred, Sealed: h.Secrets.Seal(*v, cred)})
	}
	d := &store.Definition{Name: name, Definition: string(stored)}
	edit := func(defs *live.Defs) {
		defs.Providers[name] = stored
		defs.Pending = pending
	}
	if h.change(w, r, edit, func() error { return h.store.PutProvider(r.Context(), d, creds, p.Actor()) }, invalidChange) {
		writeJSON(w, http.StatusOK, definitionJSON(d))
	}
}

func (h *Handler) deleteProvider(w http.ResponseWriter, r *http.Request, p *auth.Principal) {
	name := r.PathValue("name")
	if h.change(w, r, func(d *live.Defs) { delete(d.Providers, name) }, func() error {
		return h.store.DeleteProvider(r.Context(), name, ownCredentials(name), p.Actor())
	}, stillInUse) {
		w.WriteHeader(http.StatusNoContent)
	}
}

// listProviders shows the file's providers (name, type, base URL) and the
// stored ones with their definitions, which hold only references.
func (h *Handler) listProviders(w http.ResponseWriter, r *http.Request, _ *auth.Principal) {
	stored, err := h.store.Providers(r.Context())
	if err != nil {
		h.storeErr(w, err)
		return
	}
	out := []map[string]any{}
	if h.Runtime != nil {
		for _, p := range h.Runtime.FileProviders() {
			out = append(out, map[string]any{"name": p.Name, "source": "config", "type": p.Type, "base_url": p.BaseURL})
		}
	}
	for _, d := range stored {
		v := definitionJSON(&d)
		v["source"] = "admin"
		out = append(out, v)
	}
	writeJSON(w, http.StatusOK, map[string]any{"data": out})
}
