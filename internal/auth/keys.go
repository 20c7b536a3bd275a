package auth

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"math/big"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/switchboard-gw/switchboard/internal/api"
	"github.com/switchboard-gw/switchboard/internal/store"
)

// KeyPrefix starts every virtual key.
const KeyPrefix = "sk-sb-"

// Roles, from most to least powerful.
const (
	RoleAdmin     = "admin"
	RoleTeamAdmin = "team_admin"
	RoleDeveloper = "developer"
	RoleViewer    = "viewer"
)

// Roles lists the valid roles.
var Roles = []string{RoleAdmin, RoleTeamAdmin, RoleDeveloper, RoleViewer}

// Principal is who a request acts as.
type Principal struct {
	Master bool
	KeyID  string
	TeamID string
	UserID string
	Role   string
	Scopes string   // comma-separated: inference, admin:read, admin:write
	Models []string // allowed models; empty allows all
	// Limits of the key.
	RPM, TPM     int
	MaxParallel  int
	ModelLimits  store.ModelLimits
	BudgetUSD    *float64
	BudgetPeriod string
	// Team is the key's team, whose limits and model list apply on top of
	// the key's own (shared with the cache: read only).
	Team *store.Team
	// Org is the team's organization, whose budget applies too.
	Org *store.Org
	// User is the key's owner, whose budget applies too.
	User *store.User
	// LogPayloads asks for the key's prompts and completions to be kept.
	LogPayloads bool
	// NoCache keeps the key's requests out of the response cache.
	NoCache bool
}

// CapturesPayloads reports whether the key or its team asked for its
// prompts and completions to be logged.
func (p *Principal) CapturesPayloads() bool {
	return p != nil && (p.LogPayloads || (p.Team != nil && p.Team.LogPayloads))
}

// Actor names the principal in audit entries and logs.
func (p *Principal) Actor() string {
	if p.Master {
		return "master"
	}
	return "key:" + p.KeyID
}

// HasScope reports whether the principal's key carries a scope.
func (p *Principal) HasScope(scope string) bool {
	if p.Master {
		return true
	}
	for _, s := range strings.Split(p.Scopes, ",") {
		if strings.TrimSpace(s) == scope {
			return true
		}
	}
	return false
}

// AllowsModel reports whether the principal may use a model name.
func (p *Principal) AllowsModel(model string) bool {
	if p.Master {
		return true
	}
	if p.Team != nil && !allows(p.Team.Models, model) {
		return false
	}
	return allows(p.Models, model)
}

// allows reports whether a model list (empty: everything) has model;
// "prefix/*" entries match by prefix.
func allows(list []string, model string) bool {
	if len(list) == 0 {
		return true
	}
	for _, m := range list {
		if m == model || (strings.HasSuffix(m, "/*") && strings.HasPrefix(model, strings.TrimSuffix(m, "*"))) {
			return true
		}
	}
	return false
}

// Hasher turns keys into the keyed hashes the store keeps.
type Hasher struct{ secret []byte }

// NewHasher uses secret as the HMAC-SHA-256 key.
func NewHasher(secret string) Hasher { return Hasher{secret: []byte(secret)} }

// Hash returns the hex HMAC of a key.
func (h Hasher) Hash(key string) string {
	m := hmac.New(sha256.New, h.secret)
	m.Write([]byte(key))
	return hex.EncodeToString(m.Sum(nil))
}

const alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

// NewKey makes a new secret key (sk-sb- and 40 random base62 characters,
// about 238 bits) and the prefix shown to recognise it.
func NewKey() (secret, prefix string) {
	var b strings.Builder
	b.WriteString(KeyPrefix)
	max := big.NewInt(int64(len(alphabet)))
	for range 40 {
		n, _ := rand.Int(rand.Reader, max)
		b.WriteByte(alphabet[n.Int64()])
	}
	secret = b.String()
	return secret, secret[:len(KeyPrefix)+6]
}

// Authenticator resolves a request's key to a principal: the master key,
// or a virtual key from the store, cached so the request path does not
// wait on the database.
type Authenticator struct {
	master MasterKey
	hasher Hasher
	store  *store.Store
	ttl    time.Duration

	mu    sync.RWMutex
	cache map[string]cached // by hash
}

type cached struct {
	key  *store.Key  // nil: no such key
	team *store.Team // the key's team, for its shared limits
	org  *store.Org  // the team's organization, for its budget
	user *store.User // the key's owner, for their budget
	at   time.Time
}

// maxCached bounds the cache, so guessing keys cannot grow it without end.
const maxCached = 100_000

// NewAuthenticator checks keys against the master key and, when st is
// set, the store's virtual keys; entries are re-read after ttl so a key
// revoked on another replica stops working within it.
func NewAuthenticator(master string, h Hasher, st *store.Store, ttl time.Duration) *Authenticator {
	if ttl <= 0 {
		ttl = 30 * time.Second
	}
	return &Authenticator{master: NewMasterKey(master), hasher: h, store: st, ttl: ttl, cache: map[string]cached{}}
}

// masterPrincipal is the master key's caller, shared: principals are
// never changed once made.
var masterPrincipal = &Principal{Master: true, Role: RoleAdmin}

// Authenticate finds who a request is. Errors are 401s.
func (a *Authenticator) Authenticate(ctx context.Context, r *http.Request) (*Principal, *api.Error) {
	key := KeyFromRequest(r)
	if key == "" {
		return nil, api.Unauthorized("Missing API key. Send it as 'Authorization: Bearer KEY'.")
	}
	if a.master.Matches(key) {
		return masterPrincipal, nil
	}
	if a.store == nil || !strings.HasPrefix(key, KeyPrefix) {
		return nil, api.Unauthorized("Incorrect API key provided.")
	}
	c, err := a.lookup(ctx, a.hasher.Hash(key))
	if err != nil {
		return nil, &api.Error{Status: http.StatusServiceUnavailable, Type: api.TypeServer, Code: "auth_unavailable",
			Message: "Could not check the API key; try again.", Cause: err}
	}
	k := c.key
	switch {
	case k == nil:
		return nil, api.Unauthorized("Incorrect API key provided.")
	case k.RevokedAt != nil:
		return nil, &api.Error{Status: http.StatusUnauthorized, Type: api.TypeAuthentication, Code: "key_revoked", Message: "This API key has been revoked."}
	case k.ExpiresAt != nil && time.Now().After(*k.ExpiresAt):
		return nil, &api.Error{Status: http.StatusUnauthorized, Type: api.TypeAuthentication, Code: "key_expired", Message: "This API key has expired."}
	}
	return &Principal{KeyID: k.ID, TeamID: k.TeamID, UserID: k.UserID, Role: k.Role, Scopes: k.Scopes, Models: k.Models,
		RPM: k.RPM, TPM: k.TPM, MaxParallel: k.MaxParallel, ModelLimits: k.ModelLimits, BudgetUSD: k.MaxBudgetUSD, BudgetPeriod: k.BudgetPeriod, Team: c.team, Org: c.org, User: c.user, LogPayloads: k.LogPayloads, NoCache: k.NoCache}, nil
}

func (a *Authenticator) lookup(ctx context.Context, hash string) (cached, error) {
	a.mu.RLock()
	c, ok := a.cache[hash]
	a.mu.RUnlock()
	if ok && time.Since(c.at) < a.ttl {
		return c, nil
	}
	k, err := a.store.KeyByHash(ctx, hash)
	if errors.Is(err, store.ErrNotFound) {
		k, err = nil, nil
	}
	if err != nil {
		return cached{}, err
	}
	c = cached{key: k, at: time.Now()}
	if k != nil && k.TeamID != "" {
		if c.team, err = a.store.TeamByID(ctx, k.TeamID); err != nil && !errors.Is(err, store.ErrNotFound) {
			return cached{}, err
		}
	}
	if k != nil && k.UserID != "" {
		if c.user, err = a.store.UserByID(ctx, k.UserID); err != nil && !errors.Is(err, store.ErrNotFound) {
			return cached{}, err
		}
	}
	if c.team != nil && c.team.OrgID != "" {
		if c.org, err = a.store.OrgByID(ctx, c.team.OrgID); err != nil && !errors.Is(err, store.ErrNotFound) {
			return cached{}, err
		}
	}
	a.mu.Lock()
	if len(a.cache) >= maxCached {
		a.cache = map[string]cached{}
	}
	a.cache[hash] = c
	a.mu.Unlock()
	return c, nil
}

// Purge empties the cache, so a changed team takes effect at once on this
// replica (others within the cache TTL).
func (a *Authenticator) Purge() {
	a.mu.Lock()
	a.cache = map[string]cached{}
	a.mu.Unlock()
}

// Forget drops a key from the cache at once (after a local revoke).
func (a *Authenticator) Forget(hash string) {
	a.mu.Lock()
	delete(a.cache, hash)
	a.mu.Unlock()
}

// Hasher returns the hasher new keys must be stored with.
func (a *Authenticator) Hasher() Hasher { return a.hasher }

// DeriveSecret makes a hashing secret from the master key, for configs
// that set no secret_key.
func DeriveSecret(master string) string {
	m := hmac.New(sha256.New, []byte(master))
	m.Write([]byte("switchboard/virtual-key-hashing/v1"))
	return hex.EncodeToString(m.Sum(nil))
}
