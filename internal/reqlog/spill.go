package reqlog

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"sync"
	"time"

	"github.com/switchboard-gw/switchboard/internal/store"
)

// spill is a local file of entries the database could not take in time —
// the queue was full, or a batch failed twice — kept as JSON lines and
// written to the database later, so an outage or a burst loses nothing.
// New entries go to path; a replay first renames it to path.replay.N, so
// appends never wait on the database.
type spill struct {
	path string
	mu   sync.Mutex
	f    *os.File
	w    *bufio.Writer
}

func openSpill(path string) (*spill, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, err
	}
	return &spill{path: path}, nil
}

// append writes entries at the end of the current file and flushes them
// to the operating system.
func (s *spill) append(entries []store.LogEntry) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.f == nil {
		f, err := os.OpenFile(s.path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
		if err != nil {
			return err
		}
		s.f, s.w = f, bufio.NewWriterSize(f, 64<<10)
	}
	enc := json.NewEncoder(s.w)
	for i := range entries {
		if err := enc.Encode(spilled(entries[i])); err != nil {
			return err
		}
	}
	return s.w.Flush()
}

// take closes the current file and hands back every file waiting to be
// replayed, oldest first; appends meanwhile start a new file.
func (s *spill) take() []string {
	s.mu.Lock()
	if s.f != nil {
		s.w.Flush()
		s.f.Sync()
		s.f.Close()
		s.f, s.w = nil, nil
	}
	if _, err := os.Stat(s.path); err == nil {
		os.Rename(s.path, s.path+".replay."+strconv.FormatInt(time.Now().UnixNano(), 10))
	}
	s.mu.Unlock()
	files, _ := filepath.Glob(s.path + ".replay.*")
	sort.Strings(files)
	return files
}

// close syncs the current file: what is spilled survives the process.
func (s *spill) close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.f != nil {
		s.w.Flush()
		s.f.Sync()
		s.f.Close()
		s.f, s.w = nil, nil
	}
}

// spilledEntry is a LogEntry with every field, the unexported-in-JSON
// ones included, for the round trip through the file.
type spilledEntry struct {
	store.LogEntry
	Metadata string `json:"spill_metadata"`
	Tags     string `json:"spill_tags"`
	Trace    string `json:"spill_trace"`
}

func spilled(e store.LogEntry) spilledEntry {
	return spilledEntry{LogEntry: e, Metadata: e.Metadata, Tags: e.Tags, Trace: e.Trace}
}

// replay stores a spilled file in batches and removes it. On a failure
// the entries not yet stored stay in the file for the next try, and the
// count of entries stored so far is returned with the error.
func replay(ctx context.Context, path string, sink Sink, batch int) (int, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 64<<10), 16<<20)
	var entries []store.LogEntry
	for sc.Scan() {
		var e spilledEntry
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			continue // a torn last line from a crash: the rest is good
		}
		e.LogEntry.Metadata, e.LogEntry.Tags, e.LogEntry.Trace = e.Metadata, e.Tags, e.Trace
		entries = append(entries, e.LogEntry)
	}
	f.Close()
	if err := sc.Err(); err != nil {
		return 0, err
	}
	stored := 0
	for start := 0; start < len(entries); start += batch {
		chunk := entries[start:min(start+batch, len(entries))]
		if err := sink.InsertLogs(ctx, chunk); err != nil {
			return stored, errors.Join(err, rewrite(path, entries[start:]))
		}
		stored += len(chunk)
	}
	return stored, os.Remove(path)
}

// rewrite replaces a replay file with the entries still to store.
func rewrite(path string, rest []store.LogEntry) error {
	tmp := path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	w := bufio.NewWriter(f)
	enc := json.NewEncoder(w)
	for i := range rest {
		enc.Encode(spilled(rest[i]))
	}
	if err := errors.Join(w.Flush(), f.Sync(), f.Close()); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}
