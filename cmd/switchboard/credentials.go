package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"

	"github.com/switchboard-gw/switchboard/internal/secret"
	"github.com/switchboard-gw/switchboard/internal/store"
)

const credentialsUsage = `Usage:
  switchboard credentials reencrypt [--config FILE]
Re-seals every stored provider credential with the current encryption key
(encryption_key), opening old values with previous_encryption_keys. Run it
after a rotation, then drop the old key from previous_encryption_keys.
`

func credentialsCmd(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) error {
	if len(args) == 0 || args[0] != "reencrypt" {
		fmt.Fprint(stderr, credentialsUsage)
		return usageError{errors.New("credentials: expected the reencrypt subcommand")}
	}
	fs := flag.NewFlagSet("credentials reencrypt", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfgPath := fs.String("config", "", "YAML config `file`")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	cfg, err := loadConfig(*cfgPath, getenv)
	if err != nil {
		return err
	}
	ring, err := secret.ForConfig(cfg)
	if err != nil {
		return err
	}
	st, err := store.Open(ctx, cfg.Database)
	if err != nil {
		return err
	}
	defer st.Close()
	n, err := st.ResealCredentials(ctx, func(name, sealed string) (string, bool, error) {
		if ring.Current(sealed) {
			return sealed, false, nil
		}
		plain, err := ring.Open(sealed, name)
		if err != nil {
			return "", false, fmt.Errorf("credential %q: %w", name, err)
		}
		return ring.Seal(plain, name), true, nil
	}, "cli")
	if err != nil {
		return fmt.Errorf("credentials: nothing changed: %w", err)
	}
	fmt.Fprintf(stdout, "re-encrypted %d credential(s)\n", n)
	return nil
}
