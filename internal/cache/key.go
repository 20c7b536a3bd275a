// Package cache keeps answers to repeated requests: an exact cache keyed
// by a canonical hash of everything that changes an answer, scoped per
// tenant, in process (size-bounded in bytes) or in Redis when replicas
// share it.
package cache

import (
	"crypto/sha256"
	"errors"
	"math"
	"slices"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/tidwall/gjson"
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
// whitespace dropped, strings decoded, numbers written one way (1.0 and
// 1e0 are 1; integers keep every digit), ignored fields left out. It also
// reports whether the request is deterministic (asks for temperature 0),
// whose answers may be reused without changing what the client would
// get. It reads the body in place, without decoding it into values.
func KeyFor(r Request) (k Key, deterministic bool, err error) {
	if !gjson.ValidBytes(r.Body) {
		return k, false, errInvalid
	}
	body := gjson.ParseBytes(r.Body)
	if !body.IsObject() {
		return k, false, errInvalid
	}
	if t := body.Get("temperature"); t.Type == gjson.Number {
		deterministic = t.Num == 0
	}
	buf := bufPool.Get().(*[]byte)
	b := (*buf)[:0]
	for _, part := range []string{"v2", r.Inbound, r.Group, r.Scope, r.Namespace} {
		b = strconv.AppendQuote(b, part)
		b = append(b, 0)
	}
	b = canonical(b, body, true)
	k = sha256.Sum256(b)
	*buf = b
	bufPool.Put(buf)
	return k, deterministic, nil
}

var (
	errInvalid = errors.New("cache: the body is not a JSON object")
	bufPool    = sync.Pool{New: func() any { b := make([]byte, 0, 4096); return &b }}
)

// member is one object member while its object's keys are sorted.
type member struct {
	key string
	val gjson.Result
}

// canonical appends v in one form whatever form it came in; top marks
// the request object, whose ignored fields are left out.
func canonical(b []byte, v gjson.Result, top bool) []byte {
	switch v.Type {
	case gjson.Null:
		return append(b, "null"...)
	case gjson.True:
		return append(b, "true"...)
	case gjson.False:
		return append(b, "false"...)
	case gjson.String:
		return strconv.AppendQuote(b, validUTF8(v.Str))
	case gjson.Number:
		return number(b, v.Raw)
	}
	if v.IsArray() {
		b = append(b, '[')
		first := true
		v.ForEach(func(_, e gjson.Result) bool {
			if !first {
				b = append(b, ',')
			}
			first = false
			b = canonical(b, e, false)
			return true
		})
		return append(b, ']')
	}
	var members []member
	v.ForEach(func(key, val gjson.Result) bool {
		if !top || !ignored[key.Str] {
			members = append(members, member{key.Str, val})
		}
		return true
	})
	// Sorted stably, so of repeated keys the last one written wins, as
	// in every JSON decoder the providers use.
	slices.SortStableFunc(members, func(a, b member) int { return strings.Compare(a.key, b.key) })
	b = append(b, '{')
	wrote := false
	for i, m := range members {
		if i+1 < len(members) && members[i+1].key == m.key {
			continue
		}
		if wrote {
			b = append(b, ',')
		}
		wrote = true
		b = strconv.AppendQuote(b, validUTF8(m.key))
		b = append(b, ':')
		b = canonical(b, m.val, false)
	}
	return append(b, '}')
}

// number writes a JSON number canonically: integers as written (every
// digit kept), others through float64 ("1.0" and "1e0" become "1").
func number(b []byte, raw string) []byte {
	if !strings.ContainsAny(raw, ".eE") {
		if raw == "-0" {
			return append(b, '0')
		}
		return append(b, raw...)
	}
	f, err := strconv.ParseFloat(raw, 64)
	if err != nil || math.IsInf(f, 0) {
		return append(b, raw...)
	}
	if f == math.Trunc(f) && math.Abs(f) < 1<<53 {
		return strconv.AppendInt(b, int64(f), 10)
	}
	return strconv.AppendFloat(b, f, 'g', -1, 64)
}

// validUTF8 replaces each invalid byte with U+FFFD, as JSON decoders do,
// so such strings key the same however they reach the cache.
func validUTF8(s string) string {
	if utf8.ValidString(s) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b.WriteRune(utf8.RuneError)
		} else {
			b.WriteString(s[i : i+size])
		}
		i += size
	}
	return b.String()
}
