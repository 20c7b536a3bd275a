package tokens

import "testing"

func TestCount(t *testing.T) {
	for text, want := range map[string]int64{"": 0, "hello": 1, "Hello, world!": 4, "The quick brown fox jumps over the lazy dog.": 10} {
		if got := Count(text); got != want {
			t.Errorf("Count(%q) = %d, want %d", text, got, want)
		}
	}
}
