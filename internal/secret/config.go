package secret

import (
	"context"
	"fmt"
	"maps"
	"strings"

	"github.com/switchboard-gw/switchboard/internal/config"
)

// CredentialRef prefixes a provider setting that names a stored
// credential instead of holding the secret: `api_key: credential:openai`.
const CredentialRef = "credential:"

// ForConfig builds the keyring the configuration names.
func ForConfig(cfg *config.Config) (*Keyring, error) {
	primary := cfg.EncryptionKey
	if primary == "" {
		primary = cfg.SecretKey
	}
	if primary == "" {
		primary = "derived-from-master:" + cfg.MasterKey
	}
	return New(primary, cfg.PreviousEncryptionKeys...)
}

// ResolveProviders replaces every credential reference in the providers'
// secret settings with the opened credential. A missing or unreadable
// credential is an error naming the provider: nothing starts half
// configured.
func ResolveProviders(ctx context.Context, cfg *config.Config, k *Keyring, sealed func(ctx context.Context, name string) (string, error)) error {
	for i := range cfg.Providers {
		p := &cfg.Providers[i]
		settings := map[string]*string{"api_key": &p.APIKey, "access_key_id": &p.AccessKeyID, "secret_access_key": &p.SecretAccessKey}
		if len(p.Headers) > 0 {
			p.Headers = maps.Clone(p.Headers) // the caller's copy of the config shares the map
		}
		for h, v := range p.Headers {
			if strings.HasPrefix(v, CredentialRef) {
				plain, err := open(ctx, k, sealed, v)
				if err != nil {
					return fmt.Errorf("providers[%d] (%s).headers.%s: %w", i, p.Name, h, err)
				}
				p.Headers[h] = plain
			}
		}
		for field, v := range settings {
			if !strings.HasPrefix(*v, CredentialRef) {
				continue
			}
			plain, err := open(ctx, k, sealed, *v)
			if err != nil {
				return fmt.Errorf("providers[%d] (%s).%s: %w", i, p.Name, field, err)
			}
			*v = plain
		}
	}
	return nil
}

// open reads and opens the credential a reference names.
func open(ctx context.Context, k *Keyring, sealed func(ctx context.Context, name string) (string, error), ref string) (string, error) {
	name := strings.TrimPrefix(ref, CredentialRef)
	s, err := sealed(ctx, name)
	if err != nil {
		return "", fmt.Errorf("credential %q: %w", name, err)
	}
	plain, err := k.Open(s, name)
	if err != nil {
		return "", fmt.Errorf("credential %q: %w", name, err)
	}
	return plain, nil
}
