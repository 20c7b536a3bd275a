package mock

import (
	"encoding/json"
	"fmt"
	"hash/fnv"
	"math"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/tidwall/gjson"
)

// Reply is the deterministic answer the mock gives for a prompt, so tests
// can assert exact content.
func Reply(model, prompt string) string {
	p := strings.Join(strings.Fields(directiveRe.ReplaceAllString(prompt, "")), " ")
	if len(p) > 60 {
		p = p[:60] + "..."
	}
	return fmt.Sprintf("Hello from %s! You said: %q. This is a simulated reply.", model, p)
}

// ToolResultReply is the answer after tool results come back.
func ToolResultReply(results []string) string {
	return "Based on the tool results: " + strings.Join(results, "; ")
}

// Pieces splits text into stream deltas the way tokenizers tend to: words
// with their leading space.
func Pieces(text string) []string {
	var out []string
	start := 0
	for i := 1; i < len(text); i++ {
		if text[i] == ' ' {
			out = append(out, text[start:i])
			start = i
		}
	}
	if start < len(text) {
		out = append(out, text[start:])
	}
	return out
}

// CountTokens estimates tokens as about four bytes each.
func CountTokens(s string) int64 {
	if s == "" {
		return 0
	}
	return int64((len(s) + 3) / 4)
}

// ArgsFromSchema builds deterministic JSON matching a JSON Schema: the
// required properties (or all, when none are required) with a sample value.
func ArgsFromSchema(schema gjson.Result) string {
	b, _ := json.Marshal(sample(schema, 0))
	return string(b)
}

type orderedObject struct {
	keys []string
	vals []any
}

func (o orderedObject) MarshalJSON() ([]byte, error) {
	var b strings.Builder
	b.WriteByte('{')
	for i, k := range o.keys {
		if i > 0 {
			b.WriteByte(',')
		}
		kb, _ := json.Marshal(k)
		vb, err := json.Marshal(o.vals[i])
		if err != nil {
			return nil, err
		}
		b.Write(kb)
		b.WriteByte(':')
		b.Write(vb)
	}
	b.WriteByte('}')
	return []byte(b.String()), nil
}

func sample(s gjson.Result, depth int) any {
	if depth > 6 {
		return nil
	}
	if e := s.Get("enum"); e.IsArray() && len(e.Array()) > 0 {
		return e.Array()[0].Value()
	}
	typ := s.Get("type").String()
	if t := s.Get("type"); t.IsArray() {
		typ = t.Array()[0].String()
	}
	switch strings.ToLower(typ) { // Gemini clients write types in upper case
	case "string":
		return "example"
	case "number":
		return 1.5
	case "integer":
		return 1
	case "boolean":
		return true
	case "array":
		return []any{sample(s.Get("items"), depth+1)}
	case "null":
		return nil
	}
	// object (or untyped with properties)
	obj := orderedObject{}
	required := map[string]bool{}
	s.Get("required").ForEach(func(_, v gjson.Result) bool { required[v.String()] = true; return true })
	s.Get("properties").ForEach(func(k, v gjson.Result) bool {
		if len(required) == 0 || required[k.String()] {
			obj.keys = append(obj.keys, k.String())
			obj.vals = append(obj.vals, sample(v, depth+1))
		}
		return true
	})
	return obj
}

// Embedding is a deterministic unit vector: a bag of hashed words, so
// prompts that share most words point the same way.
func Embedding(text string, dims int) []float64 {
	v := make([]float64, dims)
	for _, w := range strings.Fields(strings.ToLower(text)) {
		h := fnv.New64a()
		h.Write([]byte(strings.Trim(w, ".,!?;:\"'")))
		x := h.Sum64()
		sign := 1.0
		if x&1 == 1 {
			sign = -1
		}
		v[int((x>>1)%uint64(dims))] += sign
	}
	var norm float64
	for _, x := range v {
		norm += x * x
	}
	if norm == 0 {
		v[0], norm = 1, 1
	}
	norm = math.Sqrt(norm)
	for i := range v {
		v[i] /= norm
	}
	return v
}

// id makes a stable id from the request body.
func id(prefix string, parts ...string) string {
	h := fnv.New64a()
	for _, p := range parts {
		h.Write([]byte(p))
	}
	return prefix + strconv.FormatUint(h.Sum64(), 36)
}

// directives are test controls written into the last user message, e.g.
// "[[mock:status=429]]". They let tests drive faults through the gateway.
var directiveRe = regexp.MustCompile(`\[\[mock:([a-z-]+)(?:=([^\]]*))?\]\]`)

type directives struct {
	status     int           // answer with this error status
	cutAfter   int           // stream: drop the connection after N chunks (-1: off)
	errorEvent bool          // stream: send an error event after the first chunk
	hang       bool          // never answer
	reset      bool          // drop the connection before answering
	slowFirst  time.Duration // wait this long before the first byte
	slowChunks time.Duration // stream: wait this long between chunks
	text       string        // reply with exactly this text
}

func parseDirectives(prompt string) directives {
	var d directives
	d.cutAfter = -1
	for _, m := range directiveRe.FindAllStringSubmatch(prompt, -1) {
		switch m[1] {
		case "status":
			d.status, _ = strconv.Atoi(m[2])
		case "cut-after":
			d.cutAfter, _ = strconv.Atoi(m[2])
		case "error-event":
			d.errorEvent = true
		case "hang":
			d.hang = true
		case "text":
			d.text = m[2]
		case "reset":
			d.reset = true
		case "slow-first":
			d.slowFirst, _ = time.ParseDuration(m[2])
		case "slow-chunks":
			d.slowChunks, _ = time.ParseDuration(m[2])
		}
	}
	return d
}
