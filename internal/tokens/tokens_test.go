package tokens

import (
	"strings"
	"testing"
)

func TestCount(t *testing.T) {
	for text, want := range map[string]int64{"": 0, "hello": 1, "Hello, world!": 4, "The quick brown fox jumps over the lazy dog.": 10} {
		if got := Count(text); got != want {
			t.Errorf("Count(%q) = %d, want %d", text, got, want)
		}
	}
}

// Exact counting against admission's estimate.
func BenchmarkCount(b *testing.B) {
	short := "Say hello in five words."
	long := strings.Repeat("The quick brown fox jumps over the lazy dog, then naps. ", 70) // ~4 KB
	for name, text := range map[string]string{"short": short, "4KB": long} {
		b.Run("count/"+name, func(b *testing.B) {
			b.SetBytes(int64(len(text)))
			b.ReportAllocs()
			for b.Loop() {
				Count(text)
			}
		})
		b.Run("estimate/"+name, func(b *testing.B) {
			b.SetBytes(int64(len(text)))
			b.ReportAllocs()
			for b.Loop() {
				Estimate(text)
			}
		})
	}
}

// Admission's estimate is on the high side of the exact count for prose,
// code, JSON, digits and non-Latin text (so reservations cover what the
// prompt really costs) without being wildly so. Random strings such as
// base64 are the exception: BPE splits them finer than any word.
func TestEstimate(t *testing.T) {
	for _, text := range []string{
		"Say hello in five words.",
		"The quick brown fox jumps over the lazy dog. " + strings.Repeat("Budgets work by reservation, not read-then-write. ", 20),
		"func main() {\n\tfor i := 0; i < 10; i++ {\n\t\tfmt.Println(i * 2)\n\t}\n}\n",
		`{"type":"function","function":{"name":"get_weather","parameters":{"type":"object","properties":{"city":{"type":"string"}}}}}`,
		"日本語のテキストも数えます。東京は晴れです。", "Ünïcödé façade naïve café", "1234567890 3.14159 2026-11-25",
	} {
		if est, exact := Estimate(text), Count(text); est < exact || est > 2*exact {
			t.Errorf("Estimate(%.30q) = %d, want between %d (exact) and twice that", text, est, exact)
		}
	}
	if got := EstimateAll([]string{"hello", "12345", ""}); got != 2+2 {
		t.Errorf("EstimateAll = %d, want 2+2+0", got)
	}
}

// Estimate never exceeds one token per byte and never goes negative,
// whatever the bytes.
func FuzzEstimate(f *testing.F) {
	for _, seed := range []string{"", " ", "a", "Hello, World!", "\xff\xfe", "日本", "aB cD", "\t\n\r  x", "12345678901"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, text string) {
		if n := Estimate(text); n < 0 || n > int64(len(text)) || (len(text) > 0 && n == 0) {
			t.Errorf("Estimate(%q) = %d", text, n)
		}
	})
}
