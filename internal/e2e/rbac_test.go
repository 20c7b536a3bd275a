package e2e

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/tidwall/gjson"

	"github.com/switchboard-gw/switchboard/internal/mock"
)

// The permission matrix, written out by hand: which roles may reach each
// admin route. Every route the OpenAPI document lists must appear here,
// so a new route cannot ship without a decision.
var routeRoles = map[string][]string{
	"POST /admin/v1/keys":                 {"admin", "team_admin", "developer"},
	"GET /admin/v1/keys":                  {"admin", "team_admin", "developer", "viewer"},
	"GET /admin/v1/keys/{id}":             {"admin", "team_admin", "developer", "viewer"},
	"DELETE /admin/v1/keys/{id}":          {"admin", "team_admin", "developer"},
	"GET /admin/v1/audit":                 {"admin"},
	"POST /admin/v1/teams":                {"admin"},
	"GET /admin/v1/teams":                 {"admin", "team_admin", "developer", "viewer"},
	"GET /admin/v1/teams/{id}":            {"admin", "team_admin", "developer", "viewer"},
	"PATCH /admin/v1/teams/{id}":          {"admin", "team_admin"},
	"DELETE /admin/v1/teams/{id}":         {"admin"},
	"POST /admin/v1/users":                {"admin", "team_admin"},
	"GET /admin/v1/users":                 {"admin", "team_admin", "viewer"},
	"GET /admin/v1/users/{id}":            {"admin", "team_admin", "viewer"},
	"PATCH /admin/v1/users/{id}":          {"admin", "team_admin"},
	"DELETE /admin/v1/users/{id}":         {"admin", "team_admin"},
	"GET /admin/v1/logs":                  {"admin", "team_admin", "developer", "viewer"},
	"GET /admin/v1/logs/{request_id}":     {"admin", "team_admin", "developer", "viewer"},
	"GET /admin/v1/usage":                 {"admin", "team_admin", "developer", "viewer"},
	"POST /admin/v1/organizations":        {"admin"},
	"GET /admin/v1/organizations":         {"admin"},
	"GET /admin/v1/organizations/{id}":    {"admin"},
	"PATCH /admin/v1/organizations/{id}":  {"admin"},
	"DELETE /admin/v1/organizations/{id}": {"admin"},
	"GET /admin/v1/credentials":           {"admin"},
	"PUT /admin/v1/credentials/{name}":    {"admin"},
	"DELETE /admin/v1/credentials/{name}": {"admin"},
	"GET /admin/v1/budgets/{subject}":     {"admin", "team_admin", "developer", "viewer"},
	"GET /admin/v1/models":                {"admin", "team_admin", "developer", "viewer"},
	"PUT /admin/v1/models/{name}":         {"admin"},
	"DELETE /admin/v1/models/{name}":      {"admin"},
	"GET /admin/v1/providers":             {"admin"},
	"PUT /admin/v1/providers/{name}":      {"admin"},
	"DELETE /admin/v1/providers/{name}":   {"admin"},
	"GET /admin/v1/cache/stats":           {"admin"},
	"DELETE /admin/v1/cache":              {"admin"},
	"GET /admin/v1/openapi.json":          {"admin", "team_admin", "developer", "viewer", "no key"},
}

// Every admin route × every role: allowed roles get past the matrix
// (whatever the handler then says about the made-up ids and empty
// bodies), the others get 403 from it; no key gets 401; a key with only
// admin:read may not write. Nothing is changed by the walk.
func TestAdminRouteMatrix(t *testing.T) {
	_, up := startMock(t, mock.Options{})
	gw := governedGateways(t, up)["sqlite"]
	db := gw.store.DB()
	if _, err := db.Exec(`INSERT INTO teams (id, name, created_at) VALUES ('team_a', 'team_a', 0)`); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`INSERT INTO users (id, email, role, team_id, created_at) VALUES ('user_dev', 'dev@example.com', 'developer', 'team_a', 0)`); err != nil {
		t.Fatal(err)
	}
	keys := map[string]string{"no key": ""}
	for _, role := range []string{"admin", "team_admin", "developer", "viewer"} {
		body := `{"name":"` + role + `","role":"` + role + `","team_id":"team_a","scopes":["admin:read","admin:write"]`
		if role == "developer" {
			body += `,"user_id":"user_dev"`
		}
		status, k := adminCall(t, gw.URL, masterKey, "POST", "/admin/v1/keys", body+"}")
		if status != 201 {
			t.Fatalf("%s: %d %s", role, status, k.Raw)
		}
		keys[role] = k.Get("key").String()
	}
	_, readOnly := adminCall(t, gw.URL, masterKey, "POST", "/admin/v1/keys", `{"name":"reader","role":"admin","scopes":["admin:read"]}`)
	_, auditBefore := adminCall(t, gw.URL, masterKey, "GET", "/admin/v1/audit?limit=1000", "")

	resp, err := http.Get(gw.URL + "/admin/v1/openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Paths map[string]map[string]json.RawMessage `json:"paths"`
	}
	json.NewDecoder(resp.Body).Decode(&doc)
	resp.Body.Close()
	fill := strings.NewReplacer("{request_id}", "req-nope", "{id}", "nope_0", "{name}", "nope-0", "{subject}", "key:nope_0")
	walked := 0
	for path, ops := range doc.Paths {
		for method := range ops {
			if method == "parameters" {
				continue
			}
			route := strings.ToUpper(method) + " " + path
			allowed, ok := routeRoles[route]
			if !ok {
				t.Errorf("%s is documented but has no row in the matrix", route)
				continue
			}
			walked++
			body := ""
			if m := strings.ToUpper(method); m == "POST" || m == "PUT" || m == "PATCH" {
				body = "{}"
			}
			for role, key := range keys {
				status, out := adminCall(t, gw.URL, key, strings.ToUpper(method), fill.Replace(path), body)
				denied := status == 401 || status == 403 && out.Get("error.code").String() == "forbidden"
				switch {
				case slices.Contains(allowed, role) && denied:
					t.Errorf("%s as %s: denied (%d %s)", route, role, status, out.Get("error.message").String())
				case !slices.Contains(allowed, role) && role == "no key" && status != 401:
					t.Errorf("%s without a key: %d, want 401", route, status)
				case !slices.Contains(allowed, role) && role != "no key" && (status != 403 || out.Get("error.code").String() != "forbidden"):
					t.Errorf("%s as %s: %d %s, want 403 from the matrix", route, role, status, out.Raw)
				}
			}
			// Scopes: a read-only admin key reads but never writes.
			status, out := adminCall(t, gw.URL, readOnly.Get("key").String(), strings.ToUpper(method), fill.Replace(path), body)
			if write := strings.ToUpper(method) != "GET"; write != (status == 403 && out.Get("error.code").String() == "missing_scope") {
				t.Errorf("%s with an admin:read key: %d %s", route, status, out.Raw)
			}
		}
	}
	if walked != len(routeRoles) {
		t.Errorf("walked %d routes, the matrix has %d rows", walked, len(routeRoles))
	}
	// Only the cache purge (of an empty cache) may leave a trace.
	changes := func(audit gjson.Result) int { return len(audit.Get(`data.#(action!="cache.purge")#`).Array()) }
	if _, audit := adminCall(t, gw.URL, masterKey, "GET", "/admin/v1/audit?limit=1000", ""); changes(audit) != changes(auditBefore) {
		t.Errorf("the walk changed something: %d audit entries before, %d after", changes(auditBefore), changes(audit))
	}
}
