// Package secret encrypts credentials at rest with AES-256-GCM. Sealed
// values name the key that sealed them, so keys can rotate: the primary
// key seals, older keys still open until everything is re-sealed.
package secret

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
)

// Keyring holds the primary key and the previous ones.
type Keyring struct {
	primary string // key id
	keys    map[string]cipher.AEAD
}

// ErrUnknownKey means a value was sealed with a key the keyring lacks.
var ErrUnknownKey = errors.New("secret: sealed with an unknown key (is a previous encryption key missing?)")

// DeriveKey turns a configured key into 32 bytes: base64 of exactly 32
// bytes is used as is, anything else is hashed with a label.
func DeriveKey(s string) []byte {
	if b, err := base64.StdEncoding.DecodeString(s); err == nil && len(b) == 32 {
		return b
	}
	m := hmac.New(sha256.New, []byte(s))
	m.Write([]byte("switchboard/credential-encryption/v1"))
	return m.Sum(nil)
}

// New builds a keyring from the primary key and any previous keys.
func New(primary string, previous ...string) (*Keyring, error) {
	if primary == "" {
		return nil, errors.New("secret: no encryption key")
	}
	k := &Keyring{keys: map[string]cipher.AEAD{}}
	for i, s := range append([]string{primary}, previous...) {
		key := DeriveKey(s)
		block, err := aes.NewCipher(key)
		if err != nil {
			return nil, err
		}
		aead, err := cipher.NewGCM(block)
		if err != nil {
			return nil, err
		}
		sum := sha256.Sum256(key)
		id := hex.EncodeToString(sum[:4])
		k.keys[id] = aead
		if i == 0 {
			k.primary = id
		}
	}
	return k, nil
}

// Seal encrypts plaintext bound to context (a credential's name, so a
// sealed value cannot be moved to another row): "v1.<key id>.<base64>".
func (k *Keyring) Seal(plaintext, context string) string {
	aead := k.keys[k.primary]
	nonce := make([]byte, aead.NonceSize(), aead.NonceSize()+len(plaintext)+aead.Overhead())
	rand.Read(nonce)
	out := aead.Seal(nonce, nonce, []byte(plaintext), []byte(context))
	return "v1." + k.primary + "." + base64.RawStdEncoding.EncodeToString(out)
}

// Open decrypts a sealed value.
func (k *Keyring) Open(sealed, context string) (string, error) {
	parts := strings.SplitN(sealed, ".", 3)
	if len(parts) != 3 || parts[0] != "v1" {
		return "", errors.New("secret: not a sealed value")
	}
	aead, ok := k.keys[parts[1]]
	if !ok {
		return "", ErrUnknownKey
	}
	raw, err := base64.RawStdEncoding.DecodeString(parts[2])
	if err != nil || len(raw) < aead.NonceSize() {
		return "", errors.New("secret: malformed sealed value")
	}
	plain, err := aead.Open(nil, raw[:aead.NonceSize()], raw[aead.NonceSize():], []byte(context))
	if err != nil {
		return "", fmt.Errorf("secret: cannot decrypt (tampered, or sealed for another name): %w", err)
	}
	return string(plain), nil
}

// Current reports whether a value is sealed with the primary key.
func (k *Keyring) Current(sealed string) bool {
	return strings.HasPrefix(sealed, "v1."+k.primary+".")
}
