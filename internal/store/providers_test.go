package store

import (
	"context"
	"errors"
	"slices"
	"testing"
)

// A provider is stored with its credentials in one transaction, and
// deleting it removes exactly the credentials named with its prefix —
// neither wildcards nor case match anything else. Every change moves the
// runtime version replicas poll.
func TestProviderDefinitions(t *testing.T) {
	ctx := context.Background()
	for engine, s := range stores(t) {
		t.Run(engine, func(t *testing.T) {
			v0, err := s.RuntimeVersion(ctx)
			if err != nil {
				t.Fatal(err)
			}
			for _, name := range []string{"a_b", "aXb", "A_b"} {
				creds := []*Credential{{Name: "provider." + name + ".api_key", Sealed: "sealed-" + name}}
				if err := s.PutProvider(ctx, &Definition{Name: name, Definition: `{"type":"openai"}`}, creds, "test"); err != nil {
					t.Fatal(err)
				}
			}
			v1, _ := s.RuntimeVersion(ctx)
			if v1 == v0 {
				t.Errorf("version did not move: %s", v1)
			}
			defs, _ := s.Providers(ctx)
			if len(defs) != 3 {
				t.Fatalf("providers: %+v", defs)
			}
			if err := s.DeleteProvider(ctx, "a_b", "provider.a_b.", "test"); err != nil {
				t.Fatal(err)
			}
			all, _ := s.Credentials(ctx)
			var names []string
			for _, c := range all {
				names = append(names, c.Name)
			}
			if !slices.Equal(names, []string{"provider.A_b.api_key", "provider.aXb.api_key"}) {
				t.Errorf("credentials after deleting a_b: %v", names)
			}
			if err := s.DeleteProvider(ctx, "a_b", "provider.a_b.", "test"); !errors.Is(err, ErrNotFound) {
				t.Errorf("delete again: %v", err)
			}
			if v2, _ := s.RuntimeVersion(ctx); v2 == v1 {
				t.Errorf("version did not move on delete: %s", v2)
			}
		})
	}
}
