package admin

import (
	"context"
	"net/http"
	"time"

	"github.com/switchboard-gw/switchboard/internal/api"
	"github.com/switchboard-gw/switchboard/internal/auth"
	"github.com/switchboard-gw/switchboard/internal/cache"
	"github.com/switchboard-gw/switchboard/internal/server"
)

// Cache actions: admins only (entries hold every tenant's answers).
const (
	CacheRead  = "cache:read"
	CachePurge = "cache:purge"
)

func init() {
	Permissions[CacheRead] = []string{auth.RoleAdmin}
	Permissions[CachePurge] = []string{auth.RoleAdmin}
	writes[CachePurge] = true
}

// ResponseCache is the server's response cache.
type ResponseCache interface {
	Stats(ctx context.Context) (server.CacheStats, error)
	Purge(ctx context.Context, f cache.Filter) (int, error)
}

func (h *Handler) cacheRoutes() {
	h.route("GET /admin/v1/cache/stats", CacheRead, h.cacheStats)
	h.route("DELETE /admin/v1/cache", CachePurge, h.purgeCache)
}

func (h *Handler) cacheStats(w http.ResponseWriter, r *http.Request, _ *auth.Principal) {
	if h.Cache == nil {
		writeErr(w, &api.Error{Status: http.StatusServiceUnavailable, Type: api.TypeServer, Code: "unavailable", Message: "No response cache here."})
		return
	}
	st, err := h.Cache.Stats(r.Context())
	if err != nil {
		h.storeErr(w, err)
		return
	}
	writeJSON(w, http.StatusOK, st)
}

// purgeCache removes entries by model group, scope (key:ID, team:ID,
// org:ID, global) and age; with no filter, everything.
func (h *Handler) purgeCache(w http.ResponseWriter, r *http.Request, p *auth.Principal) {
	if h.Cache == nil {
		writeErr(w, &api.Error{Status: http.StatusServiceUnavailable, Type: api.TypeServer, Code: "unavailable", Message: "No response cache here."})
		return
	}
	q := r.URL.Query()
	f := cache.Filter{Group: q.Get("model"), Scope: q.Get("scope")}
	if v := q.Get("older_than"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			writeErr(w, api.BadRequest("older_than", "invalid_value", "older_than must be a positive duration such as 10m or 24h."))
			return
		}
		f.OlderThan = d
	}
	n, err := h.Cache.Purge(r.Context(), f)
	if err != nil {
		h.storeErr(w, err)
		return
	}
	what := map[string]any{"model": f.Group, "scope": f.Scope, "older_than": q.Get("older_than"), "purged": n}
	if err := h.store.Note(r.Context(), p.Actor(), "cache.purge", "cache", what); err != nil {
		h.log.Error("audit of a cache purge failed", "error", err.Error())
	}
	writeJSON(w, http.StatusOK, map[string]any{"purged": n})
}
