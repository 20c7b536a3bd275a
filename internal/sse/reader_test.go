package sse

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"
)

func readAll(t testing.TB, r io.Reader) ([]Event, error) {
	rd := NewReader(r)
	var out []Event
	for {
		ev, err := rd.Next()
		if err != nil {
			if err == io.EOF {
				return out, nil
			}
			return out, err
		}
		out = append(out, Event{Type: bytes.Clone(ev.Type), Data: bytes.Clone(ev.Data)})
	}
}

func TestReader(t *testing.T) {
	cases := []struct {
		name, in string
		want     []string // "type|data"
		err      error
	}{
		{"openai", "data: {\"a\":1}\n\ndata: [DONE]\n\n", []string{`|{"a":1}`, "|[DONE]"}, nil},
		{"named events", "event: ping\ndata: {}\n\nevent: message_stop\ndata: {\"type\":\"message_stop\"}\n\n", []string{"ping|{}", `message_stop|{"type":"message_stop"}`}, nil},
		{"crlf (gemini)", "data: {\"x\":1}\r\n\r\ndata: {\"x\":2}\r\n\r\n", []string{`|{"x":1}`, `|{"x":2}`}, nil},
		{"comments and unknown fields", ": keep-alive\nid: 7\nretry: 100\ndata: a\n\n", []string{"|a"}, nil},
		{"multi-line data", "data: a\ndata: b\n\n", []string{"|a\nb"}, nil},
		{"no space after colon", "data:x\n\n", []string{"|x"}, nil},
		{"last event without blank line", "data: a\n\ndata: b\n", []string{"|a", "|b"}, nil},
		{"truncated mid-line", "data: a\n\ndata: {\"par", []string{"|a"}, ErrTruncated},
		{"empty", "", nil, nil},
		{"blank lines only", "\n\n\n", nil, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			// One byte at a time too: events must not depend on read sizes.
			for _, r := range []io.Reader{strings.NewReader(c.in), iotest.OneByteReader(strings.NewReader(c.in))} {
				evs, err := readAll(t, r)
				if !errors.Is(err, c.err) {
					t.Fatalf("err = %v, want %v", err, c.err)
				}
				var got []string
				for _, e := range evs {
					got = append(got, string(e.Type)+"|"+string(e.Data))
				}
				if strings.Join(got, ";") != strings.Join(c.want, ";") {
					t.Errorf("got %q, want %q", got, c.want)
				}
			}
		})
	}
}

// Lines far over bufio.Scanner's 64 KiB default arrive whole.
func TestReaderLongLines(t *testing.T) {
	long := `{"arguments":"` + strings.Repeat("x", 1<<20) + `"}`
	evs, err := readAll(t, strings.NewReader("data: "+long+"\n\ndata: [DONE]\n\n"))
	if err != nil || len(evs) != 2 || string(evs[0].Data) != long {
		t.Fatalf("got %d events, err %v", len(evs), err)
	}
}

func TestReaderReadError(t *testing.T) {
	boom := errors.New("connection reset")
	_, err := readAll(t, io.MultiReader(strings.NewReader("data: a\n\n"), iotest.ErrReader(boom)))
	if !errors.Is(err, boom) {
		t.Fatalf("err = %v", err)
	}
}

func TestWriter(t *testing.T) {
	var b bytes.Buffer
	WriteData(&b, []byte(`{"a":1}`))
	WriteEvent(&b, "ping", []byte(`{}`))
	if b.String() != "data: {\"a\":1}\n\nevent: ping\ndata: {}\n\n" {
		t.Errorf("wrote %q", b.String())
	}
	evs, _ := readAll(t, &b)
	if len(evs) != 2 || string(evs[1].Type) != "ping" {
		t.Errorf("round trip: %+v", evs)
	}
}

// FuzzReader: any input either parses or fails cleanly, and what the
// writer writes reads back the same.
func FuzzReader(f *testing.F) {
	for _, s := range []string{"data: a\n\n", "event: x\ndata: y\r\n\r\n", ": c\n", "data: [DONE]\n\n", "data:", "\r\n\n\r", "data: a\ndata: b\n"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		evs, _ := readAll(t, bytes.NewReader(in))
		var b bytes.Buffer
		for _, e := range evs {
			if bytes.ContainsAny(e.Data, "\r\n") || bytes.ContainsAny(e.Type, "\r\n") {
				continue
			}
			if len(e.Type) > 0 {
				WriteEvent(&b, string(e.Type), e.Data)
			} else {
				WriteData(&b, e.Data)
			}
			back, err := readAll(t, bytes.NewReader(b.Bytes()))
			if err != nil || len(back) != 1 || !bytes.Equal(back[0].Data, e.Data) || !bytes.Equal(back[0].Type, e.Type) {
				t.Fatalf("round trip of %q/%q: %v %q", e.Type, e.Data, err, back)
			}
			b.Reset()
		}
	})
}
