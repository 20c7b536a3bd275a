package admin

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/switchboard-gw/switchboard/internal/api"
	"github.com/switchboard-gw/switchboard/internal/auth"
	"github.com/switchboard-gw/switchboard/internal/store"
)

// Actions on the request log and usage rollups.
const (
	LogsRead  = "logs:read"
	UsageRead = "usage:read"
)

func init() {
	every := []string{auth.RoleAdmin, auth.RoleTeamAdmin, auth.RoleDeveloper, auth.RoleViewer}
	Permissions[LogsRead] = every
	Permissions[UsageRead] = every
}

func (h *Handler) logRoutes() {
	h.route("GET /admin/v1/logs", LogsRead, h.listLogs)
	h.route("GET /admin/v1/logs/{request_id}", LogsRead, h.getLog)
	h.route("GET /admin/v1/usage", UsageRead, h.usage)
}

// logEntry is a log row as the API shows it, with its trace (every
// upstream attempt), the client's metadata and its tags inline.
type logEntry struct {
	store.LogEntry
	Trace    json.RawMessage `json:"trace"`
	Metadata json.RawMessage `json:"metadata"`
	Tags     []string        `json:"tags"`
}

func showLog(e store.LogEntry) logEntry {
	out := logEntry{LogEntry: e, Trace: json.RawMessage(e.Trace), Metadata: json.RawMessage("null"), Tags: []string{}}
	if e.Metadata != "" {
		out.Metadata = json.RawMessage(e.Metadata)
	}
	for _, t := range strings.Split(e.Tags, ",") {
		if t = strings.TrimSpace(t); t != "" {
			out.Tags = append(out.Tags, t)
		}
	}
	return out
}

// scope narrows a query to what the caller may see: everything for
// admins, their team for team admins and viewers, their own keys for
// developers. A developer naming a key they do not own sees nothing.
func (h *Handler) scope(r *http.Request, p *auth.Principal, teamID, keyID string) (team, key string, aerr *api.Error) {
	switch {
	case p.Master || p.Role == auth.RoleAdmin:
		return teamID, keyID, nil
	case p.Role == auth.RoleTeamAdmin || p.Role == auth.RoleViewer:
		if p.TeamID == "" {
			return "", "", &api.Error{Status: http.StatusForbidden, Type: api.TypePermission, Code: "forbidden", Message: "This key belongs to no team."}
		}
		return p.TeamID, keyID, nil
	default:
		if keyID == "" || keyID == p.KeyID {
			return "", p.KeyID, nil
		}
		k, err := h.store.KeyByID(r.Context(), keyID)
		if err != nil || !visible(p, k) {
			return "", "", &api.Error{Status: http.StatusNotFound, Type: api.TypeNotFound, Code: "not_found", Message: "No key " + keyID + "."}
		}
		return "", keyID, nil
	}
}

func (h *Handler) listLogs(w http.ResponseWriter, r *http.Request, p *auth.Principal) {
	q := r.URL.Query()
	f := store.LogFilter{Limit: 100, Model: q.Get("model"), Provider: q.Get("provider"), Before: q.Get("before"), Cache: q.Get("cache"), UserID: q.Get("user_id")}
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 1000 {
			writeErr(w, api.BadRequest("limit", "invalid_value", "limit must be between 1 and 1000."))
			return
		}
		f.Limit = n
	}
	if v := q.Get("status"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 100 || n > 599 {
			writeErr(w, api.BadRequest("status", "invalid_value", "status must be an HTTP status code."))
			return
		}
		f.Status = n
	}
	for name, dst := range map[string]*time.Time{"from": &f.From, "to": &f.To} {
		if v := q.Get(name); v != "" {
			t, err := time.Parse(time.RFC3339, v)
			if err != nil {
				writeErr(w, api.BadRequest(name, "invalid_value", "%s must be an RFC 3339 time, such as 2026-11-25T00:00:00Z.", name))
				return
			}
			*dst = t
		}
	}
	var aerr *api.Error
	if f.TeamID, f.KeyID, aerr = h.scope(r, p, q.Get("team_id"), q.Get("key_id")); aerr != nil {
		writeErr(w, aerr)
		return
	}
	rows, err := h.store.Logs(r.Context(), f)
	if err != nil {
		h.storeErr(w, err)
		return
	}
	out := make([]logEntry, len(rows))
	for i, e := range rows {
		out[i] = showLog(e)
	}
	var next *string
	if len(rows) == f.Limit {
		next = &rows[len(rows)-1].ID
	}
	writeJSON(w, http.StatusOK, map[string]any{"data": out, "next_before": next})
}

// getLog shows one request in full, with the feedback given for it, if
// the caller may see it (others' are not found).
func (h *Handler) getLog(w http.ResponseWriter, r *http.Request, p *auth.Principal) {
	e, err := h.store.LogByRequestID(r.Context(), r.PathValue("request_id"))
	if err == nil {
		team, key, aerr := h.scope(r, p, "", "")
		if aerr != nil || (team != "" && e.TeamID != team) || (key != "" && e.KeyID != key) {
			err = store.ErrNotFound
		}
	}
	if err != nil {
		h.storeErr(w, err)
		return
	}
	feedback, err := h.store.FeedbackFor(r.Context(), e.RequestID)
	if err != nil {
		h.storeErr(w, err)
		return
	}
	writeJSON(w, http.StatusOK, struct {
		logEntry
		Feedback []store.Feedback `json:"feedback"`
	}{showLog(e), feedback})
}

func (h *Handler) usage(w http.ResponseWriter, r *http.Request, p *auth.Principal) {
	q := r.URL.Query()
	f := store.UsageFilter{GroupBy: q.Get("group_by")}
	if f.GroupBy == "" {
		f.GroupBy = "model"
	}
	if f.GroupBy != "model" && f.GroupBy != "key" && f.GroupBy != "team" && f.GroupBy != "user" {
		writeErr(w, api.BadRequest("group_by", "invalid_value", "group_by must be model, key, team or user."))
		return
	}
	today := time.Now().UTC()
	f.From, f.To = today.AddDate(0, 0, -30).Format(time.DateOnly), today.Format(time.DateOnly)
	for name, dst := range map[string]*string{"from": &f.From, "to": &f.To} {
		if v := q.Get(name); v != "" {
			t, err := time.Parse(time.DateOnly, v)
			if err != nil {
				if t, err = time.Parse(time.RFC3339, v); err != nil {
					writeErr(w, api.BadRequest(name, "invalid_value", "%s must be a day (2026-11-25) or an RFC 3339 time.", name))
					return
				}
			}
			*dst = t.UTC().Format(time.DateOnly)
		}
	}
	var aerr *api.Error
	if f.TeamID, f.KeyID, aerr = h.scope(r, p, q.Get("team_id"), q.Get("key_id")); aerr != nil {
		writeErr(w, aerr)
		return
	}
	rows, err := h.store.Usage(r.Context(), f)
	if err != nil {
		h.storeErr(w, err)
		return
	}
	if rows == nil {
		rows = []store.UsageRow{}
	}
	var total store.UsageRow
	total.Group = "total"
	for _, row := range rows {
		total.Requests += row.Requests
		total.Errors += row.Errors
		total.InputTokens += row.InputTokens
		total.OutputTokens += row.OutputTokens
		total.CostUSD += row.CostUSD
	}
	writeJSON(w, http.StatusOK, map[string]any{"group_by": f.GroupBy, "from": f.From, "to": f.To, "data": rows, "total": total})
}
