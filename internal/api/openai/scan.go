package openai

import (
	"strings"
	"unsafe"

	"github.com/tidwall/gjson"

	"github.com/switchboard-gw/switchboard/internal/api"
)

// ChatFields are the parts of a chat completion request the gateway needs
// to route it. ScanChat finds them without decoding the body, so the fast
// path can forward the client's bytes.
type ChatFields struct {
	Model        string
	Stream       bool
	IncludeUsage bool // stream_options.include_usage
	MaxTokens    int64
	N            int64

	modelStart, modelEnd int // byte span of the model value, quotes included
	hasStreamOptions     bool
}

type kind uint8

const (
	kString kind = 1 << iota
	kNumber
	kBool
	kObject
	kArray
	kNull
)

// chatFieldKinds lists the JSON kinds each known field accepts; unknown
// fields pass through untouched for providers that understand them.
var chatFieldKinds = map[string]kind{
	"model":                 kString,
	"messages":              kArray,
	"stream":                kBool | kNull,
	"stream_options":        kObject | kNull,
	"temperature":           kNumber | kNull,
	"top_p":                 kNumber | kNull,
	"frequency_penalty":     kNumber | kNull,
	"presence_penalty":      kNumber | kNull,
	"max_tokens":            kNumber | kNull,
	"max_completion_tokens": kNumber | kNull,
	"n":                     kNumber | kNull,
	"seed":                  kNumber | kNull,
	"top_logprobs":          kNumber | kNull,
	"logprobs":              kBool | kNull,
	"stop":                  kString | kArray | kNull,
	"tools":                 kArray | kNull,
	"tool_choice":           kString | kObject | kNull,
	"parallel_tool_calls":   kBool | kNull,
	"response_format":       kObject | kNull,
	"user":                  kString | kNull,
	"logit_bias":            kObject | kNull,
	"reasoning_effort":      kString | kNull,
	"metadata":              kObject | kNull,
	"store":                 kBool | kNull,
	"modalities":            kArray | kNull,
	"service_tier":          kString | kNull,
	"verbosity":             kString | kNull,
}

var kindNames = map[kind]string{kString: "a string", kNumber: "a number", kBool: "a boolean", kObject: "an object", kArray: "an array", kNull: "null"}

func kindOf(r gjson.Result) kind {
	switch r.Type {
	case gjson.String:
		return kString
	case gjson.Number:
		return kNumber
	case gjson.True, gjson.False:
		return kBool
	case gjson.Null:
		return kNull
	}
	if r.IsArray() {
		return kArray
	}
	return kObject
}

func describe(k kind) string {
	s := ""
	for bit := kString; bit <= kNull; bit <<= 1 {
		if k&bit != 0 {
			if s != "" {
				s += " or "
			}
			s += kindNames[bit]
		}
	}
	return s
}

var validRoles = map[string]bool{"system": true, "developer": true, "user": true, "assistant": true, "tool": true, "function": true}

// bstr views b as a string without copying; the caller keeps b unchanged
// while any result derived from it is alive.
func bstr(b []byte) string { return unsafe.String(unsafe.SliceData(b), len(b)) }

// ScanChat validates the shape of a chat completion request and returns its
// routing fields. It reads the body once and allocates only the model name.
func ScanChat(body []byte) (ChatFields, *api.Error) {
	var f ChatFields
	if !gjson.ValidBytes(body) {
		return f, api.BadRequest("", "invalid_json", "We could not parse the JSON body of your request. The body must be valid JSON.")
	}
	root := gjson.Parse(bstr(body))
	if !root.IsObject() {
		return f, api.BadRequest("", "invalid_json", "The request body must be a JSON object.")
	}
	var err *api.Error
	seenModel, seenMessages := false, false
	root.ForEach(func(key, value gjson.Result) bool {
		want, known := chatFieldKinds[key.Str]
		if !known {
			return true
		}
		if kindOf(value)&want == 0 {
			err = api.BadRequest(key.Str, "invalid_type", "Invalid type for '%s': expected %s, but got %s.", key.Str, describe(want), describe(kindOf(value)))
			return false
		}
		switch key.Str {
		case "model":
			seenModel = true
			f.Model = strings.Clone(value.Str) // value.Str points into the pooled body
			f.modelStart = value.Index
			f.modelEnd = value.Index + len(value.Raw)
		case "messages":
			seenMessages = true
			err = checkMessages(value)
		case "stream":
			f.Stream = value.Type == gjson.True
		case "stream_options":
			f.hasStreamOptions = true
			f.IncludeUsage = value.Get("include_usage").Type == gjson.True
		case "max_tokens", "max_completion_tokens":
			if value.Type == gjson.Number {
				if value.Num < 1 || value.Num != float64(int64(value.Num)) {
					err = api.BadRequest(key.Str, "invalid_value", "'%s' must be a positive integer.", key.Str)
				}
				f.MaxTokens = value.Int()
			}
		case "n":
			if value.Type == gjson.Number {
				if value.Num < 1 || value.Num > 128 || value.Num != float64(int64(value.Num)) {
					err = api.BadRequest("n", "invalid_value", "'n' must be an integer between 1 and 128.")
				}
				f.N = value.Int()
			}
		}
		return err == nil
	})
	if err != nil {
		return f, err
	}
	if !seenModel || f.Model == "" {
		return f, api.BadRequest("model", "missing_required_parameter", "You must provide a model parameter.")
	}
	if !seenMessages {
		return f, api.BadRequest("messages", "missing_required_parameter", "Missing required parameter: 'messages'.")
	}
	if f.modelEnd <= f.modelStart || f.modelEnd > len(body) {
		// gjson could not place the value (it always can for a valid
		// object); fall back to a lookup that reports the index.
		v := gjson.GetBytes(body, "model")
		f.modelStart, f.modelEnd = v.Index, v.Index+len(v.Raw)
	}
	return f, nil
}

func checkMessages(msgs gjson.Result) *api.Error {
	var err *api.Error
	i := 0
	msgs.ForEach(func(_, m gjson.Result) bool {
		if !m.IsObject() {
			err = api.BadRequest("messages", "invalid_type", "Invalid type for 'messages[%d]': expected an object.", i)
			return false
		}
		role := m.Get("role")
		if role.Type != gjson.String || !validRoles[role.Str] {
			err = api.BadRequest("messages", "invalid_value", "Invalid value for 'messages[%d].role': expected one of system, developer, user, assistant, tool.", i)
			return false
		}
		if c := m.Get("content"); c.Exists() && c.Type != gjson.String && c.Type != gjson.Null && !c.IsArray() {
			err = api.BadRequest("messages", "invalid_type", "Invalid type for 'messages[%d].content': expected a string or an array of content parts.", i)
			return false
		}
		i++
		return true
	})
	if err == nil && i == 0 {
		err = api.BadRequest("messages", "invalid_value", "Invalid 'messages': empty array. Expected an array with minimum length 1.")
	}
	return err
}

// RewriteChat returns a copy of body with the model replaced and, when
// forceUsage is set, stream_options.include_usage turned on. It allocates
// once, the size of the result.
func RewriteChat(body []byte, f *ChatFields, model string, forceUsage bool) []byte {
	insert := forceUsage && !f.hasStreamOptions
	extra := len(model) + 8
	if insert {
		extra += len(usageOption)
	}
	out := make([]byte, 0, len(body)+extra)
	start := 0
	if insert {
		brace := indexByte(body, '{')
		out = append(out, body[:brace+1]...)
		out = append(out, usageOption...)
		start = brace + 1
	}
	out = append(out, body[start:f.modelStart]...)
	out = AppendString(out, model)
	out = append(out, body[f.modelEnd:]...)
	if forceUsage && f.hasStreamOptions && !f.IncludeUsage {
		out = setIncludeUsage(out)
	}
	return out
}

const usageOption = `"stream_options":{"include_usage":true},`

func indexByte(b []byte, c byte) int {
	for i, x := range b {
		if x == c {
			return i
		}
	}
	return -1
}

// AppendString appends s as a JSON string.
func AppendString(dst []byte, s string) []byte {
	const hex = "0123456789abcdef"
	dst = append(dst, '"')
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"' || c == '\\':
			dst = append(dst, '\\', c)
		case c < 0x20:
			dst = append(dst, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
		default:
			dst = append(dst, c)
		}
	}
	return append(dst, '"')
}
