// Package admin serves the admin REST API at /admin/v1: API keys and the
// audit log for now. Every route names an action, and a permission matrix
// (deny by default) decides which roles may take it; keys also need the
// admin:read or admin:write scope.
package admin

import (
	_ "embed"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/switchboard-gw/switchboard/internal/api"
	"github.com/switchboard-gw/switchboard/internal/api/openai"
	"github.com/switchboard-gw/switchboard/internal/auth"
	"github.com/switchboard-gw/switchboard/internal/limits"
	"github.com/switchboard-gw/switchboard/internal/secret"
	"github.com/switchboard-gw/switchboard/internal/store"
)

//go:embed openapi.json
var openAPI []byte

// Actions the admin API knows.
const (
	KeysCreate = "keys:create"
	KeysList   = "keys:list"
	KeysRead   = "keys:read"
	KeysRevoke = "keys:revoke"
	AuditRead  = "audit:read"
)

// Permissions is the role × action matrix. What is not listed is denied.
// Team admins act within their team; developers on their own keys.
var Permissions = map[string][]string{
	KeysCreate: {auth.RoleAdmin, auth.RoleTeamAdmin, auth.RoleDeveloper},
	KeysList:   {auth.RoleAdmin, auth.RoleTeamAdmin, auth.RoleDeveloper, auth.RoleViewer},
	KeysRead:   {auth.RoleAdmin, auth.RoleTeamAdmin, auth.RoleDeveloper, auth.RoleViewer},
	KeysRevoke: {auth.RoleAdmin, auth.RoleTeamAdmin, auth.RoleDeveloper},
	AuditRead:  {auth.RoleAdmin},
}

var writes = map[string]bool{KeysCreate: true, KeysRevoke: true}

// Handler serves /admin/v1.
type Handler struct {
	store *store.Store
	auth  *auth.Authenticator
	log   *slog.Logger
	mux   *http.ServeMux
	// MaxBody bounds request bodies.
	MaxBody int64
	// Secrets seals stored credentials; without it they cannot be set.
	Secrets *secret.Keyring
	// Limiter, if set, reports budgets' standing.
	Limiter *limits.Limiter
	// Runtime, if set, serves run-time providers and model groups.
	Runtime Runtime
	// Cache, if set, reports and purges the response cache.
	Cache ResponseCache
}

// New builds the admin API.
func New(st *store.Store, a *auth.Authenticator, log *slog.Logger) *Handler {
	h := &Handler{store: st, auth: a, log: log, mux: http.NewServeMux(), MaxBody: 1 << 20}
	h.mux.HandleFunc("GET /admin/v1/openapi.json", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write(openAPI)
	})
	h.route("POST /admin/v1/keys", KeysCreate, h.createKey)
	h.route("GET /admin/v1/keys", KeysList, h.listKeys)
	h.route("GET /admin/v1/keys/{id}", KeysRead, h.getKey)
	h.route("DELETE /admin/v1/keys/{id}", KeysRevoke, h.revokeKey)
	h.route("GET /admin/v1/audit", AuditRead, h.listAudit)
	h.teamRoutes()
	h.logRoutes()
	h.orgRoutes()
	h.credentialRoutes()
	h.budgetRoutes()
	h.modelRoutes()
	h.providerRoutes()
	h.cacheRoutes()
	h.mux.HandleFunc("/admin/", func(w http.ResponseWriter, r *http.Request) {
		writeErr(w, &api.Error{Status: http.StatusNotFound, Type: api.TypeNotFound, Code: "unknown_url", Message: "Unknown admin URL: " + r.Method + " " + r.URL.Path + "."})
	})
	return h
}

// ServeHTTP implements http.Handler.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) { h.mux.ServeHTTP(w, r) }

// route registers a handler behind authentication and the matrix.
func (h *Handler) route(pattern, action string, fn func(http.ResponseWriter, *http.Request, *auth.Principal)) {
	h.mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
		p, aerr := h.auth.Authenticate(r.Context(), r)
		if aerr != nil {
			writeErr(w, aerr)
			return
		}
		if err := Authorize(p, action); err != nil {
			writeErr(w, err)
			return
		}
		fn(w, r, p)
	})
}

// Authorize applies the matrix and the key's scopes.
func Authorize(p *auth.Principal, action string) *api.Error {
	if p.Master {
		return nil
	}
	if !slices.Contains(Permissions[action], p.Role) {
		return &api.Error{Status: http.StatusForbidden, Type: api.TypePermission, Code: "forbidden",
			Message: "The role " + p.Role + " may not " + action + "."}
	}
	need := "admin:read"
	if writes[action] {
		need = "admin:write"
	}
	if !p.HasScope(need) && !(need == "admin:read" && p.HasScope("admin:write")) {
		return &api.Error{Status: http.StatusForbidden, Type: api.TypePermission, Code: "missing_scope",
			Message: "This key lacks the " + need + " scope."}
	}
	return nil
}

func writeErr(w http.ResponseWriter, e *api.Error) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(e.Status)
	w.Write(openai.ErrorJSON(e))
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, _ := json.Marshal(v)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(b)
}

// createKeyRequest is the body of POST /admin/v1/keys.
type createKeyRequest struct {
	Name         string            `json:"name"`
	TeamID       string            `json:"team_id"`
	UserID       string            `json:"user_id"`
	Models       []string          `json:"models"`
	MaxBudgetUSD *float64          `json:"max_budget_usd"`
	BudgetPeriod string            `json:"budget_period"`
	RPM          int               `json:"rpm"`
	MaxParallel  int               `json:"max_parallel"`
	ModelLimits  store.ModelLimits `json:"model_limits"`
	TPM          int               `json:"tpm"`
	ExpiresAt    *time.Time        `json:"expires_at"`
	Role         string            `json:"role"`
	Scopes       []string          `json:"scopes"`
	Metadata     json.RawMessage   `json:"metadata"`
	LogPayloads  bool              `json:"log_payloads"`
	Cache        *bool             `json:"cache"` // false keeps the key out of the response cache
}

var validScopes = []string{"inference", "admin:read", "admin:write"}

func (h *Handler) createKey(w http.ResponseWriter, r *http.Request, p *auth.Principal) {
	var req createKeyRequest
	dec := json.NewDecoder(io.LimitReader(r.Body, h.MaxBody))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		writeErr(w, api.BadRequest("", "invalid_json", "Invalid request body: %v", err))
		return
	}
	if req.Role == "" {
		req.Role = auth.RoleDeveloper
	}
	if req.BudgetPeriod == "" {
		req.BudgetPeriod = "monthly"
	}
	if len(req.Scopes) == 0 {
		req.Scopes = []string{"inference"}
	}
	if e := validateKey(&req); e != nil {
		writeErr(w, e)
		return
	}
	// Scope: team admins create keys in their team, developers their own;
	// nobody creates a key with more power than they have.
	if !p.Master {
		if rank(req.Role) < rank(p.Role) {
			writeErr(w, &api.Error{Status: http.StatusForbidden, Type: api.TypePermission, Code: "forbidden", Message: "A key cannot be given a role above its creator's."})
			return
		}
		switch p.Role {
		case auth.RoleTeamAdmin:
			if req.TeamID == "" {
				req.TeamID = p.TeamID
			}
			if req.TeamID != p.TeamID {
				writeErr(w, &api.Error{Status: http.StatusForbidden, Type: api.TypePermission, Code: "forbidden", Message: "Team admins create keys for their own team only."})
				return
			}
		case auth.RoleDeveloper:
			req.TeamID, req.UserID = p.TeamID, p.UserID
		}
	}
	secret, prefix := auth.NewKey()
	k := &store.Key{ID: store.NewID("key_"), Name: req.Name, Hash: h.auth.Hasher().Hash(secret), Prefix: prefix, Role: req.Role,
		Scopes: strings.Join(req.Scopes, ","), TeamID: req.TeamID, UserID: req.UserID, Models: req.Models, MaxBudgetUSD: req.MaxBudgetUSD,
		BudgetPeriod: req.BudgetPeriod, RPM: req.RPM, TPM: req.TPM, MaxParallel: req.MaxParallel, ModelLimits: req.ModelLimits, Metadata: req.Metadata, LogPayloads: req.LogPayloads, NoCache: req.Cache != nil && !*req.Cache, ExpiresAt: req.ExpiresAt, CreatedAt: time.Now().UTC()}
	if err := h.store.CreateKey(r.Context(), k, p.Actor()); err != nil {
		h.storeErr(w, err)
		return
	}
	// The secret is shown this once.
	writeJSON(w, http.StatusCreated, struct {
		*store.Key
		Secret string `json:"key"`
	}{k, secret})
}

func rank(role string) int { return slices.Index(auth.Roles, role) }

// validModelLimits checks per-model limits: named models, nothing negative.
func validModelLimits(m store.ModelLimits) *api.Error {
	for name, l := range m {
		if strings.TrimSpace(name) == "" {
			return api.BadRequest("model_limits", "invalid_value", "model_limits keys must be model names.")
		}
		if !limitRange(l.RPM, l.TPM, l.MaxParallel) {
			return api.BadRequest("model_limits", "invalid_value", "model_limits for %q must be between 0 and %d.", name, math.MaxInt32)
		}
	}
	return nil
}

// limitRange reports whether every limit fits the database's integer
// columns: from 0 (no limit) to 2^31-1.
func limitRange(limits ...int) bool {
	for _, l := range limits {
		if l < 0 || l > math.MaxInt32 {
			return false
		}
	}
	return true
}

func validateKey(req *createKeyRequest) *api.Error {
	switch {
	case strings.TrimSpace(req.Name) == "":
		return api.BadRequest("name", "missing_required_parameter", "name is required.")
	case !slices.Contains(auth.Roles, req.Role):
		return api.BadRequest("role", "invalid_value", "role must be one of %s.", strings.Join(auth.Roles, ", "))
	case req.MaxBudgetUSD != nil && *req.MaxBudgetUSD < 0:
		return api.BadRequest("max_budget_usd", "invalid_value", "max_budget_usd must not be negative.")
	case !slices.Contains([]string{"", "daily", "weekly", "monthly", "total"}, req.BudgetPeriod):
		return api.BadRequest("budget_period", "invalid_value", "budget_period must be daily, weekly, monthly or total.")
	case !limitRange(req.RPM, req.TPM, req.MaxParallel):
		return api.BadRequest("rpm", "invalid_value", "rpm, tpm and max_parallel must be between 0 and %d.", math.MaxInt32)
	case req.ExpiresAt != nil && req.ExpiresAt.Before(time.Now()):
		return api.BadRequest("expires_at", "invalid_value", "expires_at is in the past.")
	case len(req.Metadata) > 0 && (req.Metadata[0] != '{'):
		return api.BadRequest("metadata", "invalid_type", "metadata must be an object.")
	}
	if e := validModelLimits(req.ModelLimits); e != nil {
		return e
	}
	for _, s := range req.Scopes {
		if !slices.Contains(validScopes, s) {
			return api.BadRequest("scopes", "invalid_value", "unknown scope %q (one of %s).", s, strings.Join(validScopes, ", "))
		}
	}
	return nil
}

// visible reports whether a principal may see a key.
func visible(p *auth.Principal, k *store.Key) bool {
	switch {
	case p.Master || p.Role == auth.RoleAdmin:
		return true
	case p.Role == auth.RoleTeamAdmin || p.Role == auth.RoleViewer:
		return p.TeamID != "" && k.TeamID == p.TeamID
	default:
		return k.ID == p.KeyID || (p.UserID != "" && k.UserID == p.UserID)
	}
}

func (h *Handler) listKeys(w http.ResponseWriter, r *http.Request, p *auth.Principal) {
	limit := 100
	if v := r.URL.Query().Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 1000 {
			writeErr(w, api.BadRequest("limit", "invalid_value", "limit must be between 1 and 1000."))
			return
		}
		limit = n
	}
	team := r.URL.Query().Get("team_id")
	if !p.Master && p.Role != auth.RoleAdmin && p.Role != auth.RoleDeveloper {
		team = p.TeamID
	}
	after := r.URL.Query().Get("after")
	var out []*store.Key
	// Filter by visibility page by page, so a developer still gets a full
	// page of their own keys.
	for len(out) < limit {
		page, err := h.store.ListKeys(r.Context(), after, limit, team)
		if err != nil {
			h.storeErr(w, err)
			return
		}
		for _, k := range page {
			if visible(p, k) && len(out) < limit {
				out = append(out, k)
			}
		}
		if len(page) < limit {
			break
		}
		after = page[len(page)-1].ID
	}
	var next *string
	if len(out) == limit {
		next = &out[len(out)-1].ID
	}
	if out == nil {
		out = []*store.Key{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"data": out, "next_after": next})
}

func (h *Handler) getKey(w http.ResponseWriter, r *http.Request, p *auth.Principal) {
	k, err := h.store.KeyByID(r.Context(), r.PathValue("id"))
	if err != nil || !visible(p, k) {
		if err == nil {
			err = store.ErrNotFound // another team's key does not exist, to them
		}
		h.storeErr(w, err)
		return
	}
	writeJSON(w, http.StatusOK, k)
}

func (h *Handler) revokeKey(w http.ResponseWriter, r *http.Request, p *auth.Principal) {
	k, err := h.store.KeyByID(r.Context(), r.PathValue("id"))
	if err != nil || !visible(p, k) {
		if err == nil {
			err = store.ErrNotFound
		}
		h.storeErr(w, err)
		return
	}
	revoked, err := h.store.RevokeKey(r.Context(), k.ID, p.Actor())
	if err != nil {
		h.storeErr(w, err)
		return
	}
	h.auth.Forget(k.Hash)
	writeJSON(w, http.StatusOK, revoked)
}

func (h *Handler) listAudit(w http.ResponseWriter, r *http.Request, _ *auth.Principal) {
	entries, err := h.store.Audit(r.Context(), 100)
	if err != nil {
		h.storeErr(w, err)
		return
	}
	if entries == nil {
		entries = []store.AuditEntry{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"data": entries})
}

func (h *Handler) storeErr(w http.ResponseWriter, err error) {
	var invalid *api.Error
	switch {
	case errors.As(err, &invalid): // a validation failure inside a store transaction
		writeErr(w, invalid)
	case errors.Is(err, store.ErrNotFound):
		writeErr(w, &api.Error{Status: http.StatusNotFound, Type: api.TypeNotFound, Code: "not_found", Message: "Not found."})
	case errors.Is(err, store.ErrUnknownRef):
		writeErr(w, api.BadRequest("team_id", "invalid_value", "The team or user does not exist."))
	case errors.Is(err, store.ErrInUse):
		writeErr(w, &api.Error{Status: http.StatusConflict, Type: api.TypeInvalidRequest, Code: "in_use", Message: "It is still in use (users or keys refer to it)."})
	case errors.Is(err, store.ErrConflict):
		writeErr(w, &api.Error{Status: http.StatusConflict, Type: api.TypeInvalidRequest, Code: "conflict", Message: "It already exists."})
	default:
		h.log.Error("admin: store error", "error", err.Error())
		writeErr(w, &api.Error{Status: http.StatusInternalServerError, Type: api.TypeServer, Message: "Internal error."})
	}
}
