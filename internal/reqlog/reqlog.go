// Package reqlog writes the request log off the request path: a bounded
// queue feeds a batch writer (one transaction per batch). A full queue
// never slows a request: the entry is counted as dropped. Close drains
// and flushes everything queued.
package reqlog

import (
	"context"
	"log/slog"
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
	dropped  atomic.Int64
	written  atomic.Int64
	failed   atomic.Int64
	done     chan struct{}
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
	w := &Writer{sink: sink, log: log, queue: make(chan item, o.Queue), batch: o.Batch, interval: o.Interval, done: make(chan struct{})}
	go w.run()
	return w
}

// item is a queued entry; its trace is encoded (and its id made) by the
// writer, off the request goroutine.
type item struct {
	e     store.LogEntry
	trace []gateway.Attempt
}

// Record queues a finished request's entry.
func (w *Writer) Record(r *server.Record) bool {
	return w.enqueue(item{e: FromRecord(r), trace: r.Trace})
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
		// Logged at 1, 2, 4, 8... drops: visible without flooding.
		if n := w.dropped.Add(1); n&(n-1) == 0 {
			w.log.Warn("request log queue full: entries dropped", "dropped_total", n)
		}
		return false
	}
}

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
		if err != nil {
			w.failed.Add(int64(len(buf)))
			w.log.Error("request log: batch lost", "entries", len(buf), "error", err.Error())
		} else {
			w.written.Add(int64(len(buf)))
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
			if it.e.ID == "" {
				it.e.ID = store.NewID("log_")
			}
			if len(it.trace) > 0 {
				it.e.Trace = trace(it.trace)
			}
			buf = append(buf, it.e)
			if len(buf) >= w.batch {
				flush()
			}
		case <-tick.C:
			flush()
		}
	}
}

// Close stops accepting entries, writes everything queued and waits.
func (w *Writer) Close() {
	w.closing.Lock()
	if !w.closed {
		w.closed = true
		close(w.queue)
	}
	w.closing.Unlock()
	<-w.done
}

// Failed counts entries lost because the sink failed twice.
func (w *Writer) Failed() int64 { return w.failed.Load() }
