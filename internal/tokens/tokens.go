// Package tokens counts tokens offline, for providers that report no usage
// and for token-count endpoints. Counts use OpenAI's o200k_base encoding,
// embedded in the binary; for other model families they are estimates,
// and the request log marks them so. Admission, which must not spend
// milliseconds on a long prompt, uses Estimate instead.
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

// Estimate is a fast token count meant to be high, for admission (rate
// limits and budget reservations, both settled later at the real count).
// Count runs at a few MB/s, which would spend tens of milliseconds of CPU
// on a 100 KB prompt before it is even admitted; Estimate walks the bytes
// once. It splits the text roughly as o200k_base does, and counts each
// piece at or above what the encoding needs for it: a word (with its
// leading space, split where a capital follows a lower-case letter) as
// one token per 4 letters, digits in threes,
// punctuation in twos, each whitespace run as one, and text outside ASCII
// at a token per 2 bytes.
func Estimate(text string) int64 {
	var n int64
	for i := 0; i < len(text); {
		c := text[i]
		j := i + 1
		switch {
		case c >= 0x80:
			for j < len(text) && text[j] >= 0x80 {
				j++
			}
			n += int64(j-i+1) / 2
		case isLetter(c), c == ' ' && j < len(text) && isLetter(text[j]):
			// A capital after a lower-case letter starts a new piece.
			for j < len(text) && isLetter(text[j]) && !(text[j] < 'a' && text[j-1] >= 'a') {
				j++
			}
			n += int64(j-i+3) / 4
		case c >= '0' && c <= '9':
			for j < len(text) && text[j] >= '0' && text[j] <= '9' {
				j++
			}
			n += int64(j-i+2) / 3
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			for j < len(text) && (text[j] == ' ' || text[j] == '\t' || text[j] == '\n' || text[j] == '\r') {
				j++
			}
			n++
		default:
			for j < len(text) && isPunct(text[j]) {
				j++
			}
			n += int64(j-i+1) / 2
		}
		i = j
	}
	return n
}

func isLetter(c byte) bool { return c|0x20 >= 'a' && c|0x20 <= 'z' }

func isPunct(c byte) bool {
	return c < 0x80 && c > ' ' && !isLetter(c) && (c < '0' || c > '9')
}

// EstimateAll sums Estimate over texts.
func EstimateAll(texts []string) int64 {
	var n int64
	for _, t := range texts {
		n += Estimate(t)
	}
	return n
}
