// Package auth turns a request's credentials into an identity. For now it
// knows the master key; virtual keys join it with the governance work.
package auth

import (
	"crypto/sha256"
	"crypto/subtle"
	"net/http"
	"strings"
)

// KeyFromRequest reads the client's key from Authorization: Bearer,
// x-api-key (Anthropic clients) or x-goog-api-key (Gemini clients).
func KeyFromRequest(r *http.Request) string {
	if h := r.Header.Get("Authorization"); h != "" {
		if len(h) > 7 && strings.EqualFold(h[:7], "bearer ") {
			return strings.TrimSpace(h[7:])
		}
		return ""
	}
	if k := r.Header.Get("X-Api-Key"); k != "" {
		return k
	}
	return r.Header.Get("X-Goog-Api-Key")
}

// MasterKey checks keys against the master key in constant time. Both
// sides are hashed first so the comparison does not leak the key's length.
type MasterKey struct {
	digest [sha256.Size]byte
	set    bool
}

// NewMasterKey wraps the configured key; an empty key matches nothing.
func NewMasterKey(key string) MasterKey {
	if key == "" {
		return MasterKey{}
	}
	return MasterKey{digest: sha256.Sum256([]byte(key)), set: true}
}

// Matches reports whether key is the master key.
func (m MasterKey) Matches(key string) bool {
	if !m.set || key == "" {
		return false
	}
	d := sha256.Sum256([]byte(key))
	return subtle.ConstantTimeCompare(d[:], m.digest[:]) == 1
}
