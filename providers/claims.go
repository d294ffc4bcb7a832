package providers

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"time"
)

// jwtClaims decodes the payload of a JWT without checking its signature.
// It is used only for tokens received straight from the provider's token
// endpoint over TLS, or read from the official CLI's own file, to learn
// identity and expiry; OIDC providers verify their id_tokens (oidc.go).
func jwtClaims(raw string) (map[string]any, error) {
	parts := strings.Split(raw, ".")
	if len(parts) != 3 {
		return nil, errors.New("not a JWT")
	}
	payload, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(parts[1], "="))
	if err != nil {
		return nil, errors.New("JWT payload is not base64url")
	}
	var claims map[string]any
	if err := json.Unmarshal(payload, &claims); err != nil {
		return nil, errors.New("JWT payload is not a JSON object")
	}
	return claims, nil
}

// jwtExpiry is the exp claim of a JWT, or zero when it has none.
func jwtExpiry(raw string) time.Time {
	claims, err := jwtClaims(raw)
	if err != nil {
		return time.Time{}
	}
	exp, ok := claims["exp"].(float64)
	// Past year 5138 is not a Unix time in seconds.
	if !ok || exp <= 0 || exp > 1e11 {
		return time.Time{}
	}
	return time.Unix(int64(exp), 0).UTC()
}

// objectField reads a JSON object a token response carried, whatever form
// the token parser kept it in (decoded map, raw JSON, or a JSON string).
func objectField(v any) map[string]any {
	switch x := v.(type) {
	case map[string]any:
		return x
	case json.RawMessage:
		var m map[string]any
		if json.Unmarshal(x, &m) == nil {
			return m
		}
	case []byte:
		var m map[string]any
		if json.Unmarshal(x, &m) == nil {
			return m
		}
	case string:
		var m map[string]any
		if json.Unmarshal([]byte(x), &m) == nil {
			return m
		}
	}
	return nil
}

func stringField(m map[string]any, k string) string {
	s, _ := m[k].(string)
	return s
}

// stringValue reads a token-response field that should be a string.
func stringValue(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case json.RawMessage:
		var s string
		if json.Unmarshal(x, &s) == nil {
			return s
		}
	}
	return ""
}
