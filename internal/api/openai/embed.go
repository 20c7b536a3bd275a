package openai

import (
	"github.com/tidwall/gjson"
	"strings"

	"github.com/switchboard-gw/switchboard/internal/api"
)

// EmbedFields are the parts of an embeddings request the gateway reads.
type EmbedFields struct {
	Model          string
	Base64         bool // encoding_format: "base64"
	Dimensions     int64
	modelStart     int
	modelEnd       int
	hasEncodingFmt bool
}

// ScanEmbeddings validates an embeddings request without decoding it.
func ScanEmbeddings(body []byte) (EmbedFields, *api.Error) {
	var f EmbedFields
	if !gjson.ValidBytes(body) {
		return f, api.BadRequest("", "invalid_json", "We could not parse the JSON body of your request. The body must be valid JSON.")
	}
	root := gjson.Parse(bstr(body))
	if !root.IsObject() {
		return f, api.BadRequest("", "invalid_json", "The request body must be a JSON object.")
	}
	var err *api.Error
	seenInput := false
	root.ForEach(func(key, v gjson.Result) bool {
		switch key.Str {
		case "model":
			if v.Type != gjson.String {
				err = api.BadRequest("model", "invalid_type", "Invalid type for 'model': expected a string.")
				break
			}
			f.Model, f.modelStart, f.modelEnd = strings.Clone(v.Str), v.Index, v.Index+len(v.Raw)
		case "input":
			seenInput = true
			err = checkEmbedInput(v)
		case "encoding_format":
			f.hasEncodingFmt = true
			switch {
			case v.Type == gjson.String && v.Str == "base64":
				f.Base64 = true
			case v.Type == gjson.String && v.Str == "float", v.Type == gjson.Null:
			default:
				err = api.BadRequest("encoding_format", "invalid_value", "Invalid value for 'encoding_format': expected 'float' or 'base64'.")
			}
		case "dimensions":
			if v.Type == gjson.Null {
				break
			}
			if v.Type != gjson.Number || v.Num < 1 || v.Num != float64(int64(v.Num)) {
				err = api.BadRequest("dimensions", "invalid_value", "Invalid value for 'dimensions': expected a positive integer.")
				break
			}
			f.Dimensions = v.Int()
		case "user":
			if v.Type != gjson.String && v.Type != gjson.Null {
				err = api.BadRequest("user", "invalid_type", "Invalid type for 'user': expected a string.")
			}
		}
		return err == nil
	})
	if err != nil {
		return f, err
	}
	if f.Model == "" {
		return f, api.BadRequest("model", "missing_required_parameter", "You must provide a model parameter.")
	}
	if !seenInput {
		return f, api.BadRequest("input", "missing_required_parameter", "Missing required parameter: 'input'.")
	}
	return f, nil
}

func checkEmbedInput(v gjson.Result) *api.Error {
	switch {
	case v.Type == gjson.String:
		if v.Str == "" {
			return api.BadRequest("input", "invalid_value", "'input' cannot be an empty string.")
		}
		return nil
	case v.IsArray():
		n := 0
		var err *api.Error
		v.ForEach(func(_, item gjson.Result) bool {
			n++
			if item.Type != gjson.String && item.Type != gjson.Number && !item.IsArray() {
				err = api.BadRequest("input", "invalid_type", "Invalid type for 'input[%d]': expected a string or an array of token ids.", n-1)
			}
			return err == nil
		})
		if err == nil && n == 0 {
			err = api.BadRequest("input", "invalid_value", "'input' cannot be an empty array.")
		}
		return err
	}
	return api.BadRequest("input", "invalid_type", "Invalid type for 'input': expected a string or an array.")
}

// RewriteEmbeddings returns body with the model replaced.
func RewriteEmbeddings(body []byte, f *EmbedFields, model string) []byte {
	out := make([]byte, 0, len(body)+len(model)+2)
	out = append(out, body[:f.modelStart]...)
	out = AppendString(out, model)
	return append(out, body[f.modelEnd:]...)
}

// Inputs returns the input texts of an embeddings body (token-id inputs are
// returned as their JSON text).
func Inputs(body []byte) []string {
	v := gjson.GetBytes(body, "input")
	if v.Type == gjson.String {
		return []string{v.Str}
	}
	var out []string
	v.ForEach(func(_, item gjson.Result) bool {
		if item.Type == gjson.String {
			out = append(out, item.Str)
		} else {
			out = append(out, item.Raw)
		}
		return true
	})
	return out
}
