package reqlog

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/switchboard-gw/switchboard/internal/store"
)

// sink records batches; gate, when set, holds every write until closed;
// failures makes the first writes fail.
type sink struct {
	mu       sync.Mutex
	batches  [][]store.LogEntry
	gate     chan struct{}
	failures int
}

func (s *sink) InsertLogs(_ context.Context, entries []store.LogEntry) error {
	if s.gate != nil {
		<-s.gate
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.failures > 0 {
		s.failures--
		return errors.New("database down")
	}
	s.batches = append(s.batches, append([]store.LogEntry(nil), entries...))
	return nil
}

func (s *sink) count() (entries, batches int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, b := range s.batches {
		entries += len(b)
	}
	return entries, len(s.batches)
}

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

func entry(i int) store.LogEntry {
	return store.LogEntry{ID: store.NewID("log_"), RequestID: "req", Attempts: i}
}

// Close writes everything queued, in batches of the configured size, even
// with a flush interval far longer than the test.
func TestCloseDrains(t *testing.T) {
	s := &sink{}
	w := New(s, quiet, Options{Queue: 5000, Batch: 100, Interval: time.Hour})
	for i := range 1234 {
		if !w.Enqueue(entry(i)) {
			t.Fatal("queue full")
		}
	}
	w.Close()
	n, batches := s.count()
	if n != 1234 || w.Written() != 1234 || w.Dropped() != 0 {
		t.Errorf("written %d (counter %d), dropped %d", n, w.Written(), w.Dropped())
	}
	if batches < 13 {
		t.Errorf("%d batches for 1234 entries of at most 100", batches)
	}
	s.mu.Lock()
	for _, b := range s.batches {
		if len(b) > 100 {
			t.Errorf("batch of %d", len(b))
		}
	}
	s.mu.Unlock()
}

// A partial batch is written after the interval, without Close.
func TestIntervalFlush(t *testing.T) {
	s := &sink{}
	w := New(s, quiet, Options{Batch: 500, Interval: 20 * time.Millisecond})
	defer w.Close()
	w.Enqueue(entry(1))
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		if n, _ := s.count(); n == 1 {
			return
		}
	}
	t.Fatal("entry not flushed by the interval")
}

// With the sink stalled, the queue fills and every further entry is
// refused at once and counted; nothing blocks and nothing is lost silently.
func TestOverflowCountsDrops(t *testing.T) {
	s := &sink{gate: make(chan struct{})}
	w := New(s, quiet, Options{Queue: 50, Batch: 10, Interval: time.Hour})
	accepted := 0
	start := time.Now()
	for i := range 1000 {
		if w.Enqueue(entry(i)) {
			accepted++
		}
	}
	if time.Since(start) > 2*time.Second {
		t.Errorf("enqueue blocked")
	}
	// The writer holds at most one batch outside the queue.
	if accepted < 50 || accepted > 60 {
		t.Errorf("accepted %d with a queue of 50", accepted)
	}
	if int(w.Dropped()) != 1000-accepted {
		t.Errorf("dropped %d, accepted %d of 1000", w.Dropped(), accepted)
	}
	close(s.gate)
	w.Close()
	if n, _ := s.count(); n != accepted || int(w.Written()) != accepted {
		t.Errorf("stored %d of %d accepted", n, accepted)
	}
}

// A failed write is retried once; only a second failure loses the batch,
// and that is counted.
func TestRetryThenCountFailure(t *testing.T) {
	s := &sink{failures: 1}
	w := New(s, quiet, Options{Batch: 10, Interval: time.Hour})
	for i := range 10 {
		w.Enqueue(entry(i))
	}
	w.Close()
	if n, _ := s.count(); n != 10 || w.Failed() != 0 {
		t.Errorf("after one failure: stored %d, failed %d", n, w.Failed())
	}
	s = &sink{failures: 2}
	w = New(s, quiet, Options{Batch: 10, Interval: time.Hour})
	for i := range 10 {
		w.Enqueue(entry(i))
	}
	w.Close()
	if n, _ := s.count(); n != 0 || w.Failed() != 10 {
		t.Errorf("after two failures: stored %d, failed %d", n, w.Failed())
	}
}

// An entry arriving after Close is counted as dropped, without a panic.
func TestEnqueueAfterClose(t *testing.T) {
	w := New(&sink{}, quiet, Options{})
	w.Close()
	w.Close()
	if w.Enqueue(entry(1)) || w.Dropped() != 1 {
		t.Errorf("late entry: dropped %d", w.Dropped())
	}
}

type pruner struct {
	mu      sync.Mutex
	cutoffs []time.Time
}

func (p *pruner) PruneLogs(_ context.Context, cutoff time.Time) (int64, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.cutoffs = append(p.cutoffs, cutoff)
	return 1, nil
}

// Prune runs at once and then every interval, with the retention's cutoff,
// and stops with its context.
func TestPrune(t *testing.T) {
	p := &pruner{}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { Prune(ctx, p, 48*time.Hour, 10*time.Millisecond, quiet); close(done) }()
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		p.mu.Lock()
		n := len(p.cutoffs)
		p.mu.Unlock()
		if n >= 3 {
			break
		}
	}
	cancel()
	<-done
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.cutoffs) < 3 {
		t.Fatalf("%d prunes", len(p.cutoffs))
	}
	if age := time.Since(p.cutoffs[0]); age < 47*time.Hour || age > 49*time.Hour {
		t.Errorf("cutoff %v ago, want 48h", age)
	}
}
