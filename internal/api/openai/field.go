package openai

import "github.com/tidwall/gjson"

// SetTopLevelString returns a copy of a JSON object with the string value of
// key replaced, bytes around it untouched; ok is false when the key is
// absent. Pass-through paths use it to rewrite "model".
func SetTopLevelString(body []byte, key, value string) (out []byte, ok bool) {
	v := gjson.GetBytes(body, key)
	if !v.Exists() || v.Index <= 0 {
		return nil, false
	}
	out = make([]byte, 0, len(body)+len(value)+2)
	out = append(out, body[:v.Index]...)
	out = AppendString(out, value)
	return append(out, body[v.Index+len(v.Raw):]...), true
}
