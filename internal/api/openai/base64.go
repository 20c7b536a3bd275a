package openai

import (
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"math"
)

// EmbeddingsToBase64 rewrites every data[].embedding float array as base64
// of little-endian float32, which is what encoding_format: "base64" means.
func EmbeddingsToBase64(body []byte) ([]byte, error) {
	var doc map[string]json.RawMessage
	if err := json.Unmarshal(body, &doc); err != nil {
		return nil, err
	}
	var data []map[string]json.RawMessage
	if err := json.Unmarshal(doc["data"], &data); err != nil {
		return nil, err
	}
	for _, item := range data {
		var vec []float64
		if err := json.Unmarshal(item["embedding"], &vec); err != nil {
			continue // already a string
		}
		enc, _ := json.Marshal(EncodeFloats(vec))
		item["embedding"] = enc
	}
	var err error
	if doc["data"], err = json.Marshal(data); err != nil {
		return nil, err
	}
	return json.Marshal(doc)
}

// EncodeFloats encodes a vector as base64 little-endian float32.
func EncodeFloats(vec []float64) string {
	buf := make([]byte, 4*len(vec))
	for i, v := range vec {
		binary.LittleEndian.PutUint32(buf[4*i:], math.Float32bits(float32(v)))
	}
	return base64.StdEncoding.EncodeToString(buf)
}

// DecodeFloats decodes base64 little-endian float32.
func DecodeFloats(s string) ([]float32, error) {
	raw, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		return nil, err
	}
	out := make([]float32, len(raw)/4)
	for i := range out {
		out[i] = math.Float32frombits(binary.LittleEndian.Uint32(raw[4*i:]))
	}
	return out, nil
}
