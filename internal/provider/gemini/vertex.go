package gemini

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"strings"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/google"

	"github.com/switchboard-gw/switchboard/internal/config"
	"github.com/switchboard-gw/switchboard/internal/provider"
)

// vertexScope is the OAuth2 scope Vertex AI calls need.
const vertexScope = "https://www.googleapis.com/auth/cloud-platform"

// newVertex builds a Vertex AI client: project and location from the
// config, OAuth2 tokens from a service-account credentials file or, without
// one, Google's default credentials (GOOGLE_APPLICATION_CREDENTIALS, the
// metadata server).
func newVertex(cfg config.Provider, hc *http.Client) (provider.Provider, error) {
	if cfg.Project == "" {
		return nil, fmt.Errorf("project is required for vertex")
	}
	location := cfg.Location
	if location == "" {
		location = "us-central1"
	}
	base := cfg.BaseURL
	switch {
	case base != "":
	case location == "global":
		base = "https://aiplatform.googleapis.com"
	default:
		base = "https://" + location + "-aiplatform.googleapis.com"
	}
	// Token requests use the shared client too, so they honour proxies
	// and connection pooling.
	ctx := context.WithValue(context.Background(), oauth2.HTTPClient, hc)
	var ts oauth2.TokenSource
	if cfg.CredentialsFile != "" {
		data, err := os.ReadFile(cfg.CredentialsFile)
		if err != nil {
			return nil, fmt.Errorf("credentials_file: %w", err)
		}
		creds, err := google.CredentialsFromJSONWithType(ctx, data, google.ServiceAccount, vertexScope)
		if err != nil {
			return nil, fmt.Errorf("credentials_file %s: %w", cfg.CredentialsFile, err)
		}
		ts = creds.TokenSource
	} else {
		creds, err := google.FindDefaultCredentials(ctx, vertexScope)
		if err != nil {
			return nil, fmt.Errorf("no credentials_file and no Google default credentials: %w", err)
		}
		ts = creds.TokenSource
	}
	c := newClient(cfg, hc)
	c.prefix = strings.TrimRight(base, "/") + "/v1/projects/" + cfg.Project + "/locations/" + location + "/publishers/google/models/"
	c.tokens = oauth2.ReuseTokenSource(nil, ts)
	c.vertex = true
	return c, nil
}
