package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/switchboard-gw/switchboard/internal/auth"
	"github.com/switchboard-gw/switchboard/internal/config"
	"github.com/switchboard-gw/switchboard/internal/provider"
	"github.com/switchboard-gw/switchboard/internal/store"
)

// loadConfig reads --config FILE or, without it, the environment.
func loadConfig(path string, getenv func(string) string) (*config.Config, error) {
	if path != "" {
		return config.Load(path, getenv)
	}
	return config.FromEnv(getenv, provider.EnvSpecs())
}

// openStore opens the configured database (migrating it) and returns the
// key hasher for it.
func openStore(ctx context.Context, path string, getenv func(string) string) (*store.Store, auth.Hasher, error) {
	cfg, err := loadConfig(path, getenv)
	if err != nil {
		return nil, auth.Hasher{}, err
	}
	st, err := store.Open(ctx, cfg.Database)
	if err != nil {
		return nil, auth.Hasher{}, err
	}
	secret := cfg.SecretKey
	if secret == "" {
		secret = auth.DeriveSecret(cfg.MasterKey)
	}
	return st, auth.NewHasher(secret), nil
}

func migrateCmd(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) error {
	fs := flag.NewFlagSet("migrate", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfgPath := fs.String("config", "", "YAML config `file`")
	if err := fs.Parse(args); err != nil {
		return err
	}
	st, _, err := openStore(ctx, *cfgPath, getenv)
	if err != nil {
		return err
	}
	defer st.Close()
	fmt.Fprintf(stdout, "database at schema version %d\n", store.Version())
	return nil
}

const keysUsage = `Usage:
  switchboard keys create --name NAME [--models a,b] [--rpm N] [--tpm N] [--budget USD --period monthly]
                          [--role developer] [--scopes inference] [--team ID] [--user ID] [--expires 720h]
  switchboard keys list
  switchboard keys revoke ID
All take --config FILE (default: the environment).
`

func keysCmd(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, keysUsage)
		return usageError{errors.New("keys: a subcommand is required")}
	}
	fs := flag.NewFlagSet("keys "+args[0], flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfgPath := fs.String("config", "", "YAML config `file`")
	name := fs.String("name", "", "key name")
	models := fs.String("models", "", "comma-separated allowed models (default: all)")
	rpm := fs.Int("rpm", 0, "requests per minute (0: unlimited)")
	tpm := fs.Int("tpm", 0, "tokens per minute (0: unlimited)")
	budget := fs.Float64("budget", -1, "budget in USD (default: none)")
	period := fs.String("period", "monthly", "budget period: daily, weekly, monthly, total")
	role := fs.String("role", auth.RoleDeveloper, "role: admin, team_admin, developer, viewer")
	scopes := fs.String("scopes", "inference", "comma-separated scopes: inference, admin:read, admin:write")
	team := fs.String("team", "", "team id")
	user := fs.String("user", "", "user id")
	expires := fs.Duration("expires", 0, "lifetime, e.g. 720h (default: none)")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	st, hasher, err := openStore(ctx, *cfgPath, getenv)
	if err != nil {
		return err
	}
	defer st.Close()
	switch args[0] {
	case "create":
		if *name == "" {
			return usageError{errors.New("keys create: --name is required")}
		}
		if !contains(auth.Roles, *role) {
			return usageError{fmt.Errorf("keys create: unknown role %q", *role)}
		}
		secret, prefix := auth.NewKey()
		k := &store.Key{ID: store.NewID("key_"), Name: *name, Hash: hasher.Hash(secret), Prefix: prefix, Role: *role, Scopes: *scopes,
			TeamID: *team, UserID: *user, RPM: *rpm, TPM: *tpm, CreatedAt: time.Now().UTC()}
		if *models != "" {
			k.Models = strings.Split(*models, ",")
		}
		if *budget >= 0 {
			k.MaxBudgetUSD, k.BudgetPeriod = budget, *period
		}
		if *expires > 0 {
			at := time.Now().Add(*expires).UTC()
			k.ExpiresAt = &at
		}
		if err := st.CreateKey(ctx, k, "cli"); err != nil {
			return fmt.Errorf("keys create: %w", err)
		}
		fmt.Fprintf(stdout, "id:  %s\nkey: %s\n(the key is shown once; store it now)\n", k.ID, secret)
	case "list":
		tw := tabwriter.NewWriter(stdout, 2, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tNAME\tPREFIX\tROLE\tMODELS\tSTATUS")
		after := ""
		for {
			page, err := st.ListKeys(ctx, after, 500, "")
			if err != nil {
				return err
			}
			for _, k := range page {
				status := "active"
				switch {
				case k.RevokedAt != nil:
					status = "revoked"
				case k.ExpiresAt != nil && time.Now().After(*k.ExpiresAt):
					status = "expired"
				}
				m := strings.Join(k.Models, ",")
				if m == "" {
					m = "*"
				}
				fmt.Fprintf(tw, "%s\t%s\t%s…\t%s\t%s\t%s\n", k.ID, k.Name, k.Prefix, k.Role, m, status)
			}
			if len(page) < 500 {
				break
			}
			after = page[len(page)-1].ID
		}
		tw.Flush()
	case "revoke":
		if fs.NArg() != 1 {
			return usageError{errors.New("keys revoke: give the key id")}
		}
		if _, err := st.RevokeKey(ctx, fs.Arg(0), "cli"); err != nil {
			return fmt.Errorf("keys revoke: %w", err)
		}
		fmt.Fprintf(stdout, "revoked %s\n", fs.Arg(0))
	default:
		fmt.Fprint(stderr, keysUsage)
		return usageError{fmt.Errorf("keys: unknown subcommand %q", args[0])}
	}
	return nil
}

// adminCmd: "admin bootstrap" creates the first admin user and an admin key.
func adminCmd(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) error {
	if len(args) == 0 || args[0] != "bootstrap" {
		return usageError{errors.New("usage: switchboard admin bootstrap --email EMAIL [--name NAME] [--config FILE]")}
	}
	fs := flag.NewFlagSet("admin bootstrap", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfgPath := fs.String("config", "", "YAML config `file`")
	email := fs.String("email", "", "the first admin's email")
	name := fs.String("name", "", "the first admin's name")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	if !strings.Contains(*email, "@") {
		return usageError{errors.New("admin bootstrap: --email is required")}
	}
	st, hasher, err := openStore(ctx, *cfgPath, getenv)
	if err != nil {
		return err
	}
	defer st.Close()
	users, err := st.ListUsers(ctx, "", 1000, "")
	if err != nil {
		return err
	}
	for _, u := range users {
		if u.Role == auth.RoleAdmin {
			return fmt.Errorf("admin bootstrap: an admin already exists (%s); create more through the admin API", u.Email)
		}
	}
	u := &store.User{ID: store.NewID("user_"), Email: strings.ToLower(*email), Name: *name, Role: auth.RoleAdmin, CreatedAt: time.Now().UTC()}
	if err := st.CreateUser(ctx, u, "cli"); err != nil {
		return fmt.Errorf("admin bootstrap: %w", err)
	}
	secret, prefix := auth.NewKey()
	k := &store.Key{ID: store.NewID("key_"), Name: "bootstrap admin", Hash: hasher.Hash(secret), Prefix: prefix, Role: auth.RoleAdmin,
		Scopes: "inference,admin:read,admin:write", UserID: u.ID, CreatedAt: time.Now().UTC()}
	if err := st.CreateKey(ctx, k, "cli"); err != nil {
		return fmt.Errorf("admin bootstrap: %w", err)
	}
	fmt.Fprintf(stdout, "admin user %s (%s)\nadmin key:  %s\n(the key is shown once; store it now)\n", u.ID, u.Email, secret)
	return nil
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
