// Package cache keeps answers to repeated requests: an exact cache keyed
// by a canonical hash of everything that changes an answer, scoped per
// tenant, in process (size-bounded in bytes) or in Redis when replicas
// share it.
package cache

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"math"
	"slices"
	"strconv"
)

// ignored are request fields that do not change the answer: who asked,
// how it is delivered, bookkeeping. The model is replaced by the group.
var ignored = map[string]bool{
	"model": true, "stream": true, "stream_options": true, "user": true, "metadata": true, "store": true,
	"service_tier": true, "prompt_cache_key": true, "safety_identifier": true,
}

// Request is what identifies an answer.
type Request struct {
	Inbound   string // the client's format: chat, messages, responses
	Group     string // the model group
	Scope     string // tenant: key:ID, team:ID, org:ID or global
	Namespace string // the client's optional namespace
	Body      []byte // the request body in the internal (OpenAI) shape
}

// Key is a request's cache key.
type Key [sha256.Size]byte

// KeyFor hashes the request canonically: JSON object keys sorted,
// whitespace dropped, numbers written one way (1, 1.0 and 1e0 are equal),
// ignored fields left out. It also reports whether the request is
// deterministic (asks for temperature 0), whose answers may be reused
// without changing what the client would get.
func KeyFor(r Request) (k Key, deterministic bool, err error) {
	dec := json.NewDecoder(bytes.NewReader(r.Body))
	dec.UseNumber()
	var body map[string]any
	if err := dec.Decode(&body); err != nil {
		return k, false, err
	}
	if t, ok := body["temperature"].(json.Number); ok {
		f, err := t.Float64()
		deterministic = err == nil && f == 0
	}
	h := sha256.New()
	var b bytes.Buffer
	for _, part := range []string{"v1", r.Inbound, r.Group, r.Scope, r.Namespace} {
		b.WriteString(strconv.Quote(part))
		b.WriteByte(0)
	}
	for _, name := range sortedKeys(body) {
		if ignored[name] {
			continue
		}
		b.WriteString(strconv.Quote(name))
		b.WriteByte(':')
		if err := canonical(&b, body[name]); err != nil {
			return k, false, err
		}
		b.WriteByte(',')
	}
	h.Write(b.Bytes())
	copy(k[:], h.Sum(nil))
	return k, deterministic, nil
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

var errNumber = errors.New("cache: unreadable number")

// canonical writes v in one form whatever form it came in.
func canonical(b *bytes.Buffer, v any) error {
	switch x := v.(type) {
	case nil:
		b.WriteString("null")
	case bool:
		b.WriteString(strconv.FormatBool(x))
	case string:
		b.WriteString(strconv.Quote(x))
	case json.Number:
		if i, err := x.Int64(); err == nil {
			b.WriteString(strconv.FormatInt(i, 10))
			return nil
		}
		f, err := x.Float64()
		if err != nil || math.IsInf(f, 0) {
			return errNumber
		}
		if f == math.Trunc(f) && math.Abs(f) < 1<<53 {
			b.WriteString(strconv.FormatInt(int64(f), 10))
			return nil
		}
		b.WriteString(strconv.FormatFloat(f, 'g', -1, 64))
	case []any:
		b.WriteByte('[')
		for i, e := range x {
			if i > 0 {
				b.WriteByte(',')
			}
			if err := canonical(b, e); err != nil {
				return err
			}
		}
		b.WriteByte(']')
	case map[string]any:
		b.WriteByte('{')
		for i, k := range sortedKeys(x) {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteString(strconv.Quote(k))
			b.WriteByte(':')
			if err := canonical(b, x[k]); err != nil {
				return err
			}
		}
		b.WriteByte('}')
	}
	return nil
}
