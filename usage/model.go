package usage

import (
	"bytes"
	"encoding/json"
	"unicode/utf8"
)

// maxModel bounds the model name kept from a request body: real ones are
// short, and a client's body is not ours to store at length.
const maxModel = 128

// Model returns the top-level "model" string of a JSON request body, or ""
// when it has none. It walks the body without decoding the rest of it, and
// stops at the key, which clients put near the start.
func Model(body []byte) string {
	depth, inString, escape := 0, false, false
	keyStart := -1 // index after the opening quote of a depth-1 key
	expectKey, afterKey := false, false
	for i := 0; i < len(body); i++ {
		b := body[i]
		if inString {
			switch {
			case escape:
				escape = false
			case b == '\\':
				escape = true
			case b == '"':
				inString = false
				if keyStart >= 0 {
					afterKey = string(body[keyStart:i]) == "model"
					keyStart = -1
				}
			}
			continue
		}
		switch b {
		case '"':
			if afterKey && depth == 1 {
				return modelValue(body[i:])
			}
			inString = true
			if expectKey && depth == 1 {
				keyStart = i + 1
			}
			expectKey = false
		case '{', '[':
			depth++
			expectKey = b == '{'
			afterKey = false
		case '}', ']':
			depth--
			afterKey = false
			if depth < 1 {
				return ""
			}
		case ',':
			expectKey = true
			afterKey = false
		case ':', ' ', '\t', '\n', '\r':
		default:
			afterKey = false
		}
	}
	return ""
}

// modelValue decodes the JSON string at the start of p.
func modelValue(p []byte) string {
	end, escape := -1, false
	for i := 1; i < len(p) && i < 4*maxModel; i++ {
		if escape {
			escape = false
			continue
		}
		if p[i] == '\\' {
			escape = true
		} else if p[i] == '"' {
			end = i
			break
		}
	}
	if end < 0 {
		return ""
	}
	if bytes.IndexByte(p[1:end], '\\') < 0 && utf8.Valid(p[1:end]) && end-1 <= maxModel {
		return string(p[1:end]) // the usual name: no escapes, nothing to decode
	}
	var s string
	if json.Unmarshal(p[:end+1], &s) != nil || !utf8.ValidString(s) {
		return ""
	}
	if len(s) > maxModel {
		s = s[:maxModel]
		for !utf8.ValidString(s) {
			s = s[:len(s)-1]
		}
	}
	return s
}
