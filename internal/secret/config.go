package secret

import (
	"context"
	"fmt"
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
		for field, v := range map[string]*string{"api_key": &p.APIKey, "access_key_id": &p.AccessKeyID, "secret_access_key": &p.SecretAccessKey} {
			name, ok := strings.CutPrefix(*v, CredentialRef)
			if !ok {
				continue
			}
			s, err := sealed(ctx, name)
			if err != nil {
				return fmt.Errorf("providers[%d] (%s).%s: credential %q: %w", i, p.Name, field, name, err)
			}
			plain, err := k.Open(s, name)
			if err != nil {
				return fmt.Errorf("providers[%d] (%s).%s: credential %q: %w", i, p.Name, field, name, err)
			}
			*v = plain
		}
	}
	return nil
}
