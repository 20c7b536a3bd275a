package reqlog

import (
	"strings"
	"testing"

	"github.com/switchboard-gw/switchboard/internal/config"
)

func TestRedactor(t *testing.T) {
	r, err := NewRedactor([]config.RedactRule{{Pattern: `ACME-\d{6}`, Replace: "[account]"}, {Pattern: `secret project \w+`}})
	if err != nil {
		t.Fatal(err)
	}
	for in, want := range map[string]string{
		`{"content":"mail jane.doe+x@example.co.uk now"}`:                       `{"content":"mail [REDACTED:email] now"}`,
		`card 4111 1111 1111 1111 or 4111-1111-1111-1111`:                       `card [REDACTED:card] or [REDACTED:card]`,
		`key sk-proj-abcdefghijklmnop1234 and sk-ant-api03-XYZxyz0123456789abc`: `key [REDACTED:key] and [REDACTED:key]`,
		`aws AKIAIOSFODNN7EXAMPLE`:                                              `aws [REDACTED:key]`,
		`Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0`:            `Authorization: Bearer [REDACTED:key]`,
		`account ACME-123456 in secret project falcon`:                          `account [account] in [REDACTED]`,
		`order 12345 of 3 items costs 42.50`:                                    `order 12345 of 3 items costs 42.50`,
	} {
		if got := r.Apply([]byte(in)); got != want {
			t.Errorf("%s\n got %s\nwant %s", in, got, want)
		}
	}
	if _, err := NewRedactor([]config.RedactRule{{Pattern: "("}}); err == nil {
		t.Error("a bad pattern was accepted")
	}
	// JSON stays JSON: replacements hold no quotes or backslashes.
	if got := r.Apply([]byte(`{"a":"x@y.io"}`)); strings.Count(got, `"`) != 4 {
		t.Errorf("quotes changed: %s", got)
	}
}
