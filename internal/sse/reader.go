// Package sse reads and writes server-sent events. The reader has no line
// length limit (a tool call's arguments can arrive as one very long data
// line) and hands out slices of its own buffer, so passing events through
// costs no copy.
package sse

import (
	"bufio"
	"bytes"
	"errors"
	"io"
)

// Event is one dispatched event. Its slices are valid until the next call
// to Next.
type Event struct {
	Type []byte // the "event:" field; empty when absent
	Data []byte // "data:" lines joined by "\n"
}

// ErrTruncated reports a stream that ended in the middle of a line.
var ErrTruncated = errors.New("sse: stream ended in the middle of an event")

// Reader parses an event stream.
type Reader struct {
	br    *bufio.Reader
	data  []byte
	typ   []byte
	long  []byte // assembles lines longer than the bufio buffer
	err   error
	ready bool
}

// NewReader reads events from r.
func NewReader(r io.Reader) *Reader {
	return &Reader{br: bufio.NewReaderSize(r, 4<<10)}
}

// Next returns the next event, io.EOF after the last one, or ErrTruncated
// (or the read error) when the stream broke.
func (r *Reader) Next() (Event, error) {
	if r.err != nil {
		return Event{}, r.err
	}
	r.data = r.data[:0]
	r.typ = r.typ[:0]
	r.ready = false
	for {
		line, err := r.readLine()
		if err != nil {
			if err == io.EOF && line == nil {
				// A complete last line without the blank line after it still
				// counts: many servers end that way.
				if r.ready {
					r.err = io.EOF
					return r.event(), nil
				}
				r.err = io.EOF
				return Event{}, io.EOF
			}
			if err == io.EOF {
				err = ErrTruncated
			}
			r.err = err
			return Event{}, err
		}
		if len(line) == 0 {
			if r.ready {
				return r.event(), nil
			}
			continue
		}
		r.field(line)
	}
}

func (r *Reader) event() Event {
	data := r.data
	if len(data) > 0 && data[len(data)-1] == '\n' {
		data = data[:len(data)-1]
	}
	return Event{Type: r.typ, Data: data}
}

func (r *Reader) field(line []byte) {
	name, value, found := bytes.Cut(line, []byte{':'})
	if found && len(value) > 0 && value[0] == ' ' {
		value = value[1:]
	}
	switch string(name) {
	case "": // comment
	case "data":
		r.data = append(r.data, value...)
		r.data = append(r.data, '\n')
		r.ready = true
	case "event":
		r.typ = append(r.typ[:0], value...)
		r.ready = true
	}
}

// readLine returns one line without its terminator. At a clean end it
// returns (nil, io.EOF); a last line with no terminator returns (line, io.EOF).
func (r *Reader) readLine() ([]byte, error) {
	line, err := r.br.ReadSlice('\n')
	if err == bufio.ErrBufferFull {
		r.long = append(r.long[:0], line...)
		for err == bufio.ErrBufferFull {
			line, err = r.br.ReadSlice('\n')
			r.long = append(r.long, line...)
		}
		line = r.long
	}
	if err != nil {
		if err == io.EOF && len(line) == 0 {
			return nil, io.EOF
		}
		if err == io.EOF {
			return line, io.EOF
		}
		return nil, err
	}
	line = line[:len(line)-1]
	if n := len(line); n > 0 && line[n-1] == '\r' {
		line = line[:n-1]
	}
	return line, nil
}
