package proxy

import (
	"encoding/json"
	"net/http"
	"strconv"
	"time"
)

// Error formats a Target may ask for with ErrorFormat. Clients parse errors
// with their own SDK, so the proxy answers in the shape that SDK expects.
const (
	FormatAnthropic = "anthropic"
	FormatOpenAI    = "openai"
)

// apiError is one error the proxy itself answers with.
type apiError struct {
	status     int
	kind       string // Anthropic error.type / OpenAI error.type
	code       string // OpenAI error.code
	msg        string
	retryAfter time.Duration
}

type anthropicBody struct {
	Type  string `json:"type"`
	Error struct {
		Type    string `json:"type"`
		Message string `json:"message"`
	} `json:"error"`
}

type openAIBody struct {
	Error struct {
		Message string `json:"message"`
		Type    string `json:"type"`
		Code    string `json:"code"`
	} `json:"error"`
}

// writeError answers e in the given format (OpenAI's, the most widely parsed,
// when the format is unknown, e.g. for a request to no provider).
func writeError(w http.ResponseWriter, format string, e apiError) {
	var body any
	if format == FormatAnthropic {
		var b anthropicBody
		b.Type = "error"
		b.Error.Type = anthropicType(e.status)
		b.Error.Message = e.msg
		body = b
	} else {
		var b openAIBody
		b.Error.Message, b.Error.Type, b.Error.Code = e.msg, e.kind, e.code
		body = b
	}
	if x, ok := w.(*exchange); ok {
		x.errKind = e.code
	}
	buf, _ := json.Marshal(body)
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(len(buf)))
	h.Set("X-Content-Type-Options", "nosniff")
	if e.retryAfter > 0 {
		h.Set("Retry-After", strconv.Itoa(int((e.retryAfter+time.Second-1)/time.Second)))
	}
	w.WriteHeader(e.status)
	_, _ = w.Write(buf)
}

// anthropicType maps a status to the error.type Anthropic's API uses for it.
func anthropicType(status int) string {
	switch status {
	case http.StatusBadRequest:
		return "invalid_request_error"
	case http.StatusUnauthorized:
		return "authentication_error"
	case http.StatusForbidden:
		return "permission_error"
	case http.StatusNotFound:
		return "not_found_error"
	case http.StatusRequestEntityTooLarge:
		return "request_too_large"
	case http.StatusTooManyRequests:
		return "rate_limit_error"
	case http.StatusServiceUnavailable:
		return "overloaded_error"
	default:
		return "api_error"
	}
}
