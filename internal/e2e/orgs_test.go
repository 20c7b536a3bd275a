package e2e

import (
	"math"
	"testing"

	"github.com/tidwall/gjson"

	"github.com/switchboard-gw/switchboard/internal/mock"
	"github.com/switchboard-gw/switchboard/internal/pricing"
)

// Organizations: admin-only CRUD with audited changes; an organization's
// budget is shared by every team in it and holds under concurrency.
func TestOrganizations(t *testing.T) {
	_, up := startMock(t, mock.Options{})
	gw := gatewayOver(t, pricedConfig, map[string]string{"A": up})
	p, _ := pricing.Default().Lookup("gpt-4o-mini")
	worst := (float64(promptTokensOf(`{"messages":[{"role":"user","content":"hi"}]}`))*p.Input + 4096*p.Output) / 1e6
	budget := usd(30 * worst)

	for _, bad := range []string{`{"name":""}`, `{"name":"x","max_budget_usd":-3}`, `{"name":"x","budget_period":"yearly"}`, `{"name":"x","teams":[]}`, `{`} {
		if status, out := adminCall(t, gw.URL, masterKey, "POST", "/admin/v1/organizations", bad); status != 400 {
			t.Errorf("%s: %d %s", bad, status, out.Raw)
		}
	}
	status, org := adminCall(t, gw.URL, masterKey, "POST", "/admin/v1/organizations", `{"name":"acme","max_budget_usd":`+budget+`}`)
	if status != 201 || org.Get("budget_period").String() != "monthly" {
		t.Fatalf("%d %s", status, org.Raw)
	}
	oid := org.Get("id").String()
	if status, _ := adminCall(t, gw.URL, masterKey, "POST", "/admin/v1/organizations", `{"name":"acme"}`); status != 409 {
		t.Errorf("duplicate name: %d", status)
	}
	// Two teams of the organization, each with a budget of its own far
	// above the organization's, and two keys each.
	var keys, teams []string
	for _, name := range []string{"north", "south"} {
		status, team := adminCall(t, gw.URL, masterKey, "POST", "/admin/v1/teams", `{"name":"`+name+`","org_id":"`+oid+`","max_budget_usd":100}`)
		if status != 201 {
			t.Fatalf("%d %s", status, team.Raw)
		}
		teams = append(teams, team.Get("id").String())
		for range 2 {
			keys = append(keys, newKey(t, gw.URL, `{"name":"k","team_id":"`+team.Get("id").String()+`"}`))
		}
	}
	if ok, refused := budgetBurst(t, gw.URL, keys, 120); ok < 30 {
		t.Errorf("%d ok, %d refused", ok, refused)
	}
	checkLedger(t, gw, "org:"+oid, "monthly", 30*worst)
	// Each team's remaining budget is a metric, equal to its standing.
	m := scrape(t, gw.URL)
	for _, team := range teams {
		_, standing := adminCall(t, gw.URL, masterKey, "GET", "/admin/v1/budgets/team:"+team, "")
		got := sample(m, "switchboard_budget_remaining_usd", map[string]string{"team": team})
		if want := standing.Get("remaining_usd").Float(); math.Abs(got-want) > 1e-12 || want >= 100 || want <= 0 {
			t.Errorf("team %s: metric %v, standing %v", team, got, want)
		}
	}

	// Raising the budget applies at once.
	status, org = adminCall(t, gw.URL, masterKey, "PATCH", "/admin/v1/organizations/"+oid, `{"max_budget_usd":null}`)
	if status != 200 || org.Get("max_budget_usd").Type != gjson.Null || org.Get("name").String() != "acme" {
		t.Fatalf("%d %s", status, org.Raw)
	}
	if status, _, out := chatAs(gw.URL, keys[0], "gpt"); status != 200 {
		t.Errorf("after lifting the budget: %d %s", status, out)
	}
	if status, _ := adminCall(t, gw.URL, masterKey, "PATCH", "/admin/v1/organizations/"+oid, `{"budget_period":"hourly"}`); status != 400 {
		t.Errorf("bad period: %d", status)
	}

	// Moving a team into an organization with no budget left binds its
	// keys at once; the team it left is unaffected. Only admins move
	// teams, and only into organizations that exist.
	_, broke := adminCall(t, gw.URL, masterKey, "POST", "/admin/v1/organizations", `{"name":"broke","max_budget_usd":0}`)
	south := teams[1]
	if status, out := adminCall(t, gw.URL, masterKey, "PATCH", "/admin/v1/teams/"+south, `{"org_id":"org_nope"}`); status != 400 {
		t.Errorf("unknown organization: %d %s", status, out.Raw)
	}
	southLead := newKey(t, gw.URL, `{"name":"south lead","role":"team_admin","team_id":"`+south+`","scopes":["admin:read","admin:write"]}`)
	if status, _ := adminCall(t, gw.URL, southLead, "PATCH", "/admin/v1/teams/"+south, `{"org_id":""}`); status != 403 {
		t.Errorf("a team admin moved their team: %d", status)
	}
	status, moved := adminCall(t, gw.URL, masterKey, "PATCH", "/admin/v1/teams/"+south, `{"org_id":"`+broke.Get("id").String()+`"}`)
	if status != 200 || moved.Get("org_id").String() != broke.Get("id").String() || moved.Get("name").String() != "south" {
		t.Fatalf("move: %d %s", status, moved.Raw)
	}
	if status, _, _ := chatAs(gw.URL, keys[2], "gpt"); status != 429 {
		t.Errorf("a key of the moved team: %d, want 429 from its new organization's budget", status)
	}
	if status, _, _ := chatAs(gw.URL, keys[0], "gpt"); status != 200 {
		t.Errorf("a key of the team left behind: %d", status)
	}
	if status, out := adminCall(t, gw.URL, masterKey, "PATCH", "/admin/v1/teams/"+south, `{"org_id":""}`); status != 200 || out.Get("org_id").Exists() && out.Get("org_id").String() != "" {
		t.Errorf("detach: %d %s", status, out.Raw)
	}
	if status, _, _ := chatAs(gw.URL, keys[2], "gpt"); status != 200 {
		t.Errorf("a key of a team with no organization: %d", status)
	}
	if status, _ := adminCall(t, gw.URL, masterKey, "DELETE", "/admin/v1/organizations/"+broke.Get("id").String(), ""); status != 204 {
		t.Errorf("delete the emptied organization: %d", status)
	}

	// Only admins manage organizations.
	lead := newKey(t, gw.URL, `{"name":"lead","role":"team_admin","scopes":["admin:read","admin:write"]}`)
	for _, c := range [][2]string{{"GET", "/admin/v1/organizations"}, {"POST", "/admin/v1/organizations"}, {"DELETE", "/admin/v1/organizations/" + oid}} {
		if status, _ := adminCall(t, gw.URL, lead, c[0], c[1], `{"name":"mine"}`); status != 403 {
			t.Errorf("team admin %s %s: %d", c[0], c[1], status)
		}
	}
	// An organization with teams cannot be deleted; an empty one can.
	if status, _ := adminCall(t, gw.URL, masterKey, "DELETE", "/admin/v1/organizations/"+oid, ""); status != 409 {
		t.Errorf("delete in use: %d", status)
	}
	_, empty := adminCall(t, gw.URL, masterKey, "POST", "/admin/v1/organizations", `{"name":"empty"}`)
	if status, _ := adminCall(t, gw.URL, masterKey, "DELETE", "/admin/v1/organizations/"+empty.Get("id").String(), ""); status != 204 {
		t.Errorf("delete empty: %d", status)
	}
	if status, _ := adminCall(t, gw.URL, masterKey, "GET", "/admin/v1/organizations/"+empty.Get("id").String(), ""); status != 404 {
		t.Errorf("deleted org still readable: %d", status)
	}
	_, list := adminCall(t, gw.URL, masterKey, "GET", "/admin/v1/organizations", "")
	if list.Get("data.#").Int() != 1 {
		t.Errorf("list: %s", list.Raw)
	}
	_, audit := adminCall(t, gw.URL, masterKey, "GET", "/admin/v1/audit", "")
	for _, action := range []string{"org.create", "org.update", "org.delete"} {
		if !audit.Get(`data.#(action=="` + action + `")`).Exists() {
			t.Errorf("no %s in the audit log", action)
		}
	}
}
