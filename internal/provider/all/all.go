// Package all registers every provider type. Import it for its side effect.
package all

import (
	_ "github.com/switchboard-gw/switchboard/internal/provider/anthropic" // anthropic
	_ "github.com/switchboard-gw/switchboard/internal/provider/bedrock"   // bedrock
	_ "github.com/switchboard-gw/switchboard/internal/provider/cohere"    // cohere
	_ "github.com/switchboard-gw/switchboard/internal/provider/gemini"    // gemini, vertex
	_ "github.com/switchboard-gw/switchboard/internal/provider/openai"    // openai, azure and the OpenAI-compatible presets
)
