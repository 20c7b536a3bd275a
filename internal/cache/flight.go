package cache

import "sync"

// Flights lets the first of identical concurrent misses (on this replica)
// ask the upstream while the others wait for its answer to be stored.
type Flights struct {
	mu sync.Mutex
	m  map[Key]chan struct{}
}

// Join reports whether the caller leads the flight for k. A leader must
// call done once the answer is stored (or could not be); a follower
// waits on wait, then looks the key up again.
func (f *Flights) Join(k Key) (leader bool, wait <-chan struct{}, done func()) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if ch, ok := f.m[k]; ok {
		return false, ch, func() {}
	}
	if f.m == nil {
		f.m = map[Key]chan struct{}{}
	}
	ch := make(chan struct{})
	f.m[k] = ch
	var once sync.Once
	return true, ch, func() {
		once.Do(func() {
			f.mu.Lock()
			delete(f.m, k)
			f.mu.Unlock()
			close(ch)
		})
	}
}
