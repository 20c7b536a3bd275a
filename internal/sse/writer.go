package sse

import "io"

var (
	dataPrefix  = []byte("data: ")
	eventPrefix = []byte("event: ")
	eventEnd    = []byte("\n\n")
	newline     = []byte("\n")
	// Done is the terminal data of an OpenAI stream.
	Done = []byte("[DONE]")
)

// WriteData writes one "data:" event. data must not contain a newline
// (JSON from encoding/json never does).
func WriteData(w io.Writer, data []byte) error {
	if _, err := w.Write(dataPrefix); err != nil {
		return err
	}
	if _, err := w.Write(data); err != nil {
		return err
	}
	_, err := w.Write(eventEnd)
	return err
}

// WriteEvent writes a named event, as Anthropic streams use.
func WriteEvent(w io.Writer, typ string, data []byte) error {
	if _, err := w.Write(eventPrefix); err != nil {
		return err
	}
	if _, err := io.WriteString(w, typ); err != nil {
		return err
	}
	if _, err := w.Write(newline); err != nil {
		return err
	}
	return WriteData(w, data)
}
