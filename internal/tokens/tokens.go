// Package tokens counts tokens offline, for providers that report no usage
// and for token-count endpoints. Counts use OpenAI's o200k_base encoding,
// embedded in the binary; for other model families they are estimates,
// and the request log marks them so.
package tokens

import (
	"sync"

	"github.com/tiktoken-go/tokenizer"
)

var (
	once  sync.Once
	codec tokenizer.Codec
)

func load() {
	c, err := tokenizer.Get(tokenizer.O200kBase)
	if err == nil {
		codec = c
	}
}

// Count returns the number of tokens in text.
func Count(text string) int64 {
	if text == "" {
		return 0
	}
	once.Do(load)
	if codec == nil {
		return int64((len(text) + 3) / 4) // the vocabulary is embedded; this is a last resort
	}
	n, err := codec.Count(text)
	if err != nil {
		return int64((len(text) + 3) / 4)
	}
	return int64(n)
}

// CountAll sums Count over texts.
func CountAll(texts []string) int64 {
	var n int64
	for _, t := range texts {
		n += Count(t)
	}
	return n
}
