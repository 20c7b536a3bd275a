package secret

import (
	"errors"
	"strings"
	"testing"
)

func TestSealOpen(t *testing.T) {
	k, err := New("primary-key")
	if err != nil {
		t.Fatal(err)
	}
	s := k.Seal("sk-live-123", "openai")
	if strings.Contains(s, "sk-live-123") || !k.Current(s) {
		t.Fatalf("sealed %q", s)
	}
	if s2 := k.Seal("sk-live-123", "openai"); s2 == s {
		t.Error("two seals of one value are equal (nonce reused)")
	}
	if got, err := k.Open(s, "openai"); err != nil || got != "sk-live-123" {
		t.Fatalf("open: %q %v", got, err)
	}
	if _, err := k.Open(s, "anthropic"); err == nil {
		t.Error("opened under another name")
	}
	tampered := s[:len(s)-2] + "AA"
	if _, err := k.Open(tampered, "openai"); err == nil {
		t.Error("opened a tampered value")
	}
	for _, bad := range []string{"", "plain", "v1.x", "v2.abcd.AAAA", "v1." + k.primary + ".!!!"} {
		if _, err := k.Open(bad, "openai"); err == nil {
			t.Errorf("opened %q", bad)
		}
	}
	if _, err := New(""); err == nil {
		t.Error("empty key accepted")
	}
}

// After rotation the new key seals, the old one still opens, and a ring
// without the old key says so.
func TestRotation(t *testing.T) {
	old, _ := New("old-key")
	sealed := old.Seal("v", "n")
	ring, _ := New("new-key", "old-key")
	if ring.Current(sealed) {
		t.Error("old value reported current")
	}
	if got, err := ring.Open(sealed, "n"); err != nil || got != "v" {
		t.Fatalf("old value under rotation: %q %v", got, err)
	}
	if !ring.Current(ring.Seal("v", "n")) {
		t.Error("new seal not current")
	}
	fresh, _ := New("new-key")
	if _, err := fresh.Open(sealed, "n"); !errors.Is(err, ErrUnknownKey) {
		t.Errorf("missing old key: %v", err)
	}
}

func TestDeriveKey(t *testing.T) {
	raw := "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=" // 32 bytes
	if k := DeriveKey(raw); len(k) != 32 || k[31] != 31 {
		t.Errorf("base64 key not used as is: %x", k)
	}
	if a, b := DeriveKey("pass"), DeriveKey("pass2"); len(a) != 32 || string(a) == string(b) {
		t.Error("derived keys")
	}
}
