// Package reqlog writes the request log off the request path: a bounded
// queue feeds a batch writer (one transaction per batch). A full queue
// never slows a request: the entry goes to a local spill file (through a
// second queue, so the request does no disk I/O), as does a batch the
// database refused twice, and the file is written to the database when
// it can take it. Only when the spill queue is full too, or there is no
// spill file, is an entry dropped — and counted. Close drains and
// flushes everything queued.
package reqlog

import (
	"context"
	"log/slog"
	"math/bits"
	"sync"
	"sync/atomic"
	"time"

	"github.com/switchboard-gw/switchboard/internal/gateway"
	"github.com/switchboard-gw/switchboard/internal/server"
	"github.com/switchboard-gw/switchboard/internal/store"
)

// Sink stores batches (the store, or a test double).
type Sink interface {
	InsertLogs(ctx context.Context, entries []store.LogEntry) error
}

// Writer batches entries into the sink.
type Writer struct {
	sink     Sink
	log      *slog.Logger
	queue    chan item
	batch    int
	interval time.Duration
	redact   *Redactor
	dropped  atomic.Int64
	written  atomic.Int64
	failed   atomic.Int64
	done     chan struct{}

	// The spill file, when configured: spillq feeds it from the request
	// path; pending counts entries in it not yet replayed.
	spill     *spill
	spillq    chan item
	spillDone chan struct{}
	spilled   atomic.Int64
	replayed  atomic.Int64
	pending   atomic.Int64
	recheck   atomic.Bool // files may wait from an earlier run
	// closing guards the queue: Enqueue after Close (a request outliving
	// the shutdown grace) counts a drop instead of panicking.
	closing sync.RWMutex
	closed  bool
}

// Options size the writer.
type Options struct {
	Queue    int           // entries waiting (default 10,000)
	Batch    int           // entries per write (default 500)
	Interval time.Duration // longest wait before a partial batch is written (default 200ms)
	// Spill, if set, is the file that takes entries the queue or the
	// database cannot (replayed from there, also after a restart).
	Spill string
	// Redact cleans captured payloads before they are stored (default:
	// the built-in rules).
	Redact *Redactor
}

// New starts a writer.
func New(sink Sink, log *slog.Logger, o Options) *Writer {
	if o.Queue <= 0 {
		o.Queue = 10_000
	}
	if o.Batch <= 0 {
		o.Batch = 500
	}
	if o.Interval <= 0 {
		o.Interval = 200 * time.Millisecond
	}
	if o.Redact == nil {
		o.Redact, _ = NewRedactor(nil)
	}
	w := &Writer{sink: sink, log: log, queue: make(chan item, o.Queue), batch: o.Batch, interval: o.Interval, done: make(chan struct{}), redact: o.Redact}
	if o.Spill != "" {
		sp, err := openSpill(o.Spill)
		if err != nil {
			log.Error("request log: no spill file; a full queue will drop entries", "path", o.Spill, "error", err.Error())
		} else {
			w.spill, w.spillq, w.spillDone = sp, make(chan item, o.Queue), make(chan struct{})
			w.recheck.Store(true)
			go w.runSpill()
		}
	}
	go w.run()
	return w
}

// item is a queued entry; its trace is encoded, its payloads redacted
// (and its id made) by the writer, off the request goroutine.
type item struct {
	e         store.LogEntry
	trace     []gateway.Attempt
	req, resp []byte
}

// Record queues a finished request's entry.
func (w *Writer) Record(r *server.Record) bool {
	return w.enqueue(item{e: FromRecord(r), trace: r.Trace, req: r.RequestBody, resp: r.ResponseBody})
}

// Enqueue hands an entry to the writer without waiting; it reports false
// (and counts a drop) when the queue is full.
func (w *Writer) Enqueue(e store.LogEntry) bool { return w.enqueue(item{e: e}) }

func (w *Writer) enqueue(it item) bool {
	w.closing.RLock()
	defer w.closing.RUnlock()
	if w.closed {
		w.dropped.Add(1)
		w.log.Warn("request log closed: entry dropped", "request_id", it.e.RequestID)
		return false
	}
	select {
	case w.queue <- it:
		return true
	default:
	}
	if w.spillq != nil {
		select {
		case w.spillq <- it:
			return true
		default:
		}
	}
	// Logged at 1, 2, 4, 8... drops: visible without flooding.
	if n := w.dropped.Add(1); n&(n-1) == 0 {
		w.log.Warn("request log queue full: entries dropped", "dropped_total", n)
	}
	return false
}

// prepare makes an entry's id, encodes its trace and redacts its
// payloads, off the request goroutine.
func (w *Writer) prepare(it *item) {
	if it.e.ID == "" {
		it.e.ID = store.NewID("log_")
	}
	if len(it.trace) > 0 {
		it.e.Trace = trace(it.trace)
	}
	if len(it.req) > 0 {
		it.e.RequestBody = w.redact.Apply(it.req)
	}
	if len(it.resp) > 0 {
		it.e.ResponseBody = w.redact.Apply(it.resp)
	}
}

// runSpill appends what overflowed the queue to the spill file.
func (w *Writer) runSpill() {
	defer close(w.spillDone)
	buf := make([]store.LogEntry, 0, w.batch)
	for it := range w.spillq {
		w.prepare(&it)
		buf = append(buf[:0], it.e)
		// Take what else is waiting, up to a batch, in the same write.
		for len(buf) < w.batch && len(w.spillq) > 0 {
			next, ok := <-w.spillq
			if !ok {
				break
			}
			w.prepare(&next)
			buf = append(buf, next.e)
		}
		w.toSpill(buf)
	}
}

// toSpill writes entries to the spill file, counting them as dropped if
// even that fails.
func (w *Writer) toSpill(entries []store.LogEntry) bool {
	if err := w.spill.append(entries); err != nil {
		w.dropped.Add(int64(len(entries)))
		w.log.Error("request log: spill file write failed; entries dropped", "entries", len(entries), "error", err.Error())
		return false
	}
	// Logged each time the total passes a power of two.
	if n := w.spilled.Add(int64(len(entries))); bits.Len64(uint64(n)) != bits.Len64(uint64(n-int64(len(entries)))) {
		w.log.Warn("request log: entries spilled to the local file, to be written later", "spilled_total", n)
	}
	w.pending.Add(int64(len(entries)))
	return true
}

// replaySpill writes spilled entries to the database; on a failure the
// rest stays in the file for the next try.
func (w *Writer) replaySpill() {
	if w.spill == nil || (w.pending.Load() == 0 && !w.recheck.Swap(false)) {
		return
	}
	for _, path := range w.spill.take() {
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		n, err := replay(ctx, path, w.sink, w.batch)
		cancel()
		w.replayed.Add(int64(n))
		w.written.Add(int64(n))
		w.pending.Add(-int64(n))
		if err != nil {
			w.log.Warn("request log: replaying the spill file failed; will retry", "path", path, "stored", n, "error", err.Error())
			return
		}
		if n > 0 {
			w.log.Info("request log: spilled entries written", "entries", n)
		}
	}
	if w.pending.Load() < 0 { // entries from an earlier run
		w.pending.Store(0)
	}
}

// Spilled counts entries written to the spill file; Replayed those
// written from it to the database.
func (w *Writer) Spilled() int64  { return w.spilled.Load() }
func (w *Writer) Replayed() int64 { return w.replayed.Load() }

// Dropped counts entries refused because the queue was full.
func (w *Writer) Dropped() int64 { return w.dropped.Load() }

// Written counts entries stored.
func (w *Writer) Written() int64 { return w.written.Load() }

// QueueDepth is the number of entries waiting.
func (w *Writer) QueueDepth() int { return len(w.queue) }

func (w *Writer) run() {
	defer close(w.done)
	buf := make([]store.LogEntry, 0, w.batch)
	tick := time.NewTicker(w.interval)
	defer tick.Stop()
	flush := func() {
		if len(buf) == 0 {
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		err := w.sink.InsertLogs(ctx, buf)
		cancel()
		if err != nil {
			// One retry, then the batch is counted as failed and logged.
			time.Sleep(100 * time.Millisecond)
			ctx, cancel = context.WithTimeout(context.Background(), 30*time.Second)
			err = w.sink.InsertLogs(ctx, buf)
			cancel()
		}
		switch {
		case err == nil:
			w.written.Add(int64(len(buf)))
		case w.spill != nil && w.toSpill(buf):
			w.log.Warn("request log: batch refused by the database, kept in the spill file", "entries", len(buf), "error", err.Error())
		default:
			w.failed.Add(int64(len(buf)))
			w.log.Error("request log: batch lost", "entries", len(buf), "error", err.Error())
		}
		buf = buf[:0]
	}
	for {
		select {
		case it, ok := <-w.queue:
			if !ok {
				flush()
				return
			}
			w.prepare(&it)
			buf = append(buf, it.e)
			if len(buf) >= w.batch {
				flush()
			}
		case <-tick.C:
			flush()
			w.replaySpill()
		}
	}
}

// Close stops accepting entries, writes everything queued and waits.
// Spilled entries are written too if the database takes them; otherwise
// they stay in the file for the next start.
func (w *Writer) Close() {
	w.closing.Lock()
	if !w.closed {
		w.closed = true
		close(w.queue)
		if w.spillq != nil {
			close(w.spillq)
		}
	}
	w.closing.Unlock()
	<-w.done
	if w.spill != nil {
		<-w.spillDone
		w.recheck.Store(true)
		w.replaySpill()
		w.spill.close()
	}
}

// Failed counts entries lost because the sink failed twice.
func (w *Writer) Failed() int64 { return w.failed.Load() }
