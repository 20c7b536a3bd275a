package reqlog

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"path/filepath"
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

// With the database stalled, what overflows the queue goes to the spill
// file and is written once the database answers: every accepted entry is
// stored exactly once, and what could not be accepted is counted exactly.
func TestSpillOnOverflow(t *testing.T) {
	s := &sink{gate: make(chan struct{})}
	path := filepath.Join(t.TempDir(), "spill", "log.spill")
	w := New(s, quiet, Options{Queue: 50, Batch: 10, Interval: 10 * time.Millisecond, Spill: path})
	accepted := 0
	start := time.Now()
	for i := range 1000 {
		if w.Enqueue(entry(i)) {
			accepted++
		}
		if i%50 == 0 {
			time.Sleep(time.Millisecond) // let the spill goroutine keep up
		}
	}
	if time.Since(start) > 3*time.Second {
		t.Errorf("enqueue blocked")
	}
	// The two queues hold 100; anything beyond went through the spill
	// file while the database was stalled. (How much more depends on the
	// disk and the machine's load, not on the writer.)
	if int(w.Dropped()) != 1000-accepted || accepted <= 100 {
		t.Errorf("accepted %d, dropped %d of 1000", accepted, w.Dropped())
	}
	deadline := time.Now().Add(5 * time.Second)
	for w.Spilled() < int64(accepted-60) && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if w.Spilled() == 0 {
		t.Fatal("nothing spilled")
	}
	close(s.gate)
	w.Close()
	n, _ := s.count()
	if n != accepted || int(w.Written()) != accepted || w.Replayed() != w.Spilled() {
		t.Errorf("stored %d (written %d) of %d accepted; spilled %d, replayed %d", n, w.Written(), accepted, w.Spilled(), w.Replayed())
	}
	seen := map[string]bool{}
	s.mu.Lock()
	for _, b := range s.batches {
		for _, e := range b {
			if seen[e.ID] {
				t.Errorf("%s stored twice", e.ID)
			}
			seen[e.ID] = true
		}
	}
	s.mu.Unlock()
	if files, _ := filepath.Glob(path + "*"); len(files) != 0 {
		t.Errorf("spill files left: %v", files)
	}
}

// A database that refuses batches: they are kept in the spill file, not
// lost, and written once it recovers — also by the next process, if this
// one stops first. Every field survives the round trip.
func TestSpillSurvivesOutageAndRestart(t *testing.T) {
	path := filepath.Join(t.TempDir(), "log.spill")
	down := &sink{failures: 1 << 30}
	w := New(down, quiet, Options{Batch: 5, Interval: 10 * time.Millisecond, Spill: path})
	want := map[string]store.LogEntry{}
	for i := range 12 {
		e := entry(i)
		e.Metadata, e.Tags, e.Trace, e.CostUSD, e.CreatedAt = `{"run":1}`, "a,b", `[{"provider":"p"}]`, 0.25, time.UnixMilli(1700000000000+int64(i)).UTC()
		want[e.ID] = e
		w.Enqueue(e)
	}
	w.Close()
	if w.Failed() != 0 || w.Spilled() != 12 || w.Written() != 0 {
		t.Fatalf("failed %d, spilled %d, written %d", w.Failed(), w.Spilled(), w.Written())
	}
	up := &sink{}
	w2 := New(up, quiet, Options{Batch: 5, Interval: 10 * time.Millisecond, Spill: path})
	deadline := time.Now().Add(5 * time.Second)
	for w2.Replayed() < 12 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	w2.Close()
	if w2.Replayed() != 12 {
		t.Fatalf("replayed %d of 12", w2.Replayed())
	}
	up.mu.Lock()
	defer up.mu.Unlock()
	got := 0
	for _, b := range up.batches {
		for _, e := range b {
			got++
			if w := want[e.ID]; w != e {
				t.Errorf("round trip changed the entry:\n got %+v\nwant %+v", e, w)
			}
		}
	}
	if got != 12 {
		t.Errorf("%d entries stored", got)
	}
	if files, _ := filepath.Glob(path + "*"); len(files) != 0 {
		t.Errorf("spill files left: %v", files)
	}
}
