package cache

import (
	"math/rand/v2"
	"strconv"
	"testing"
	"time"
)

// BenchmarkSemanticSearch measures the exact (brute-force) search of one
// partition — one tenant's prompts for one group and context — at sizes
// and with the 1,536 dimensions of common embedding models.
func BenchmarkSemanticSearch(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 2))
	vec := func() []float32 {
		v := make([]float32, 1536)
		for i := range v {
			v[i] = rng.Float32() - 0.5
		}
		return Normalize(v)
	}
	for _, n := range []int{100, 1_000, 10_000} {
		x := &Index{parts: map[string][]*semEntry{}, ids: map[string]bool{}}
		for i := range n {
			x.add(strconv.Itoa(i), "p", vec(), &Entry{}, time.Now().Add(time.Hour))
		}
		q := vec()
		b.Run(strconv.Itoa(n), func(b *testing.B) {
			for range b.N {
				x.Search("p", q, 0.95)
			}
		})
	}
}

// Search finds the most similar entry at or above the threshold, only in
// its partition, never an expired one.
func TestSemanticSearch(t *testing.T) {
	x := &Index{parts: map[string][]*semEntry{}, ids: map[string]bool{}}
	a, b := Normalize([]float32{1, 0, 0}), Normalize([]float32{0.9, 0.1, 0})
	far := Normalize([]float32{0, 1, 0})
	x.add("a", "p", a, &Entry{RequestID: "a"}, time.Now().Add(time.Hour))
	x.add("far", "p", far, &Entry{RequestID: "far"}, time.Now().Add(time.Hour))
	x.add("old", "p", b, &Entry{RequestID: "old"}, time.Now().Add(-time.Second))
	x.add("other", "q", b, &Entry{RequestID: "other"}, time.Now().Add(time.Hour))
	if m := x.Search("p", b, 0.9); m == nil || m.Entry.RequestID != "a" || m.Similarity < 0.99 {
		t.Errorf("near: %+v", m)
	}
	if m := x.Search("p", b, 0.999); m != nil {
		t.Errorf("above the threshold: %+v", m)
	}
	if m := x.Search("r", b, 0.1); m != nil {
		t.Errorf("another partition: %+v", m)
	}
	if x.Len() != 3 {
		t.Errorf("live entries: %d", x.Len())
	}
	if v, err := DecodeVector(encodeVector(b)); err != nil || dot(v, b) < 0.9999 {
		t.Errorf("vector round trip: %v %v", v, err)
	}
}
