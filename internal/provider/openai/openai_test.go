package openai

import (
	"net/http"
	"strings"
	"testing"

	"github.com/switchboard-gw/switchboard/internal/config"
	"github.com/switchboard-gw/switchboard/internal/provider"
)

// Every preset registers with its default base URL and auth, and refuses
// to start without a key unless it is a local server.
func TestPresets(t *testing.T) {
	for _, p := range presets {
		spec, ok := provider.Lookup(p.typ)
		if !ok {
			t.Fatalf("%s not registered", p.typ)
		}
		_, err := spec.New(config.Provider{Name: p.typ, Type: p.typ}, http.DefaultClient)
		if p.keyless != (err == nil) {
			t.Errorf("%s without a key: %v", p.typ, err)
		}
		prov, err := spec.New(config.Provider{Name: p.typ, Type: p.typ, APIKey: "k", Headers: map[string]string{"X-Extra": "1"}}, http.DefaultClient)
		if err != nil {
			t.Fatal(err)
		}
		c := prov.(*Client)
		if got := c.endpoint("chat/completions", "m"); got != p.baseURL+"/chat/completions" || !strings.HasPrefix(got, "http") {
			t.Errorf("%s endpoint = %s", p.typ, got)
		}
		if c.header.Get("Authorization") != "Bearer k" || c.header.Get("X-Extra") != "1" {
			t.Errorf("%s headers = %v", p.typ, c.header)
		}
		if !p.keyless && spec.Env.KeyVar == "" {
			t.Errorf("%s has no env var", p.typ)
		}
	}
	spec, _ := provider.Lookup("azure")
	prov, err := spec.New(config.Provider{Name: "az", Type: "azure", APIKey: "k", BaseURL: "https://r.openai.azure.com/"}, http.DefaultClient)
	if err != nil {
		t.Fatal(err)
	}
	c := prov.(*Client)
	if got := c.endpoint("embeddings", "my dep"); got != "https://r.openai.azure.com/openai/deployments/my%20dep/embeddings?api-version="+DefaultAzureAPIVersion {
		t.Errorf("azure endpoint = %s", got)
	}
	if c.header.Get("api-key") != "k" || c.header.Get("Authorization") != "" {
		t.Errorf("azure headers = %v", c.header)
	}
}
