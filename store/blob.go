package store

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strconv"
)

// maxBlobSize bounds what Load reads and Save accepts; a credential blob is a
// few kilobytes, so anything near this is not one of ours.
const maxBlobSize = 1 << 20

// formatVersionJSON is FormatVersion as it appears on disk.
var formatVersionJSON = strconv.Itoa(FormatVersion)

// smallInt is how much of an unknown version number an error may quote.
var smallInt = regexp.MustCompile(`^-?[0-9]{1,6}$`)

// providerName is the whole namespace of provider keys: lower-case, short, and
// unable to contain a path separator or a leading dot.
var providerName = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,63}$`)

// checkProvider rejects names that are not valid provider keys, so that a
// name can never become a path outside the credentials folder or collide with
// the store's own bookkeeping entries.
func checkProvider(provider string) error {
	if providerName.MatchString(provider) {
		return nil
	}
	shown := provider
	if len(shown) > 64 {
		shown = shown[:64] + "…"
	}
	return fmt.Errorf("provider name %q: want lower-case letters, digits, '-' or '_' (max 64): %w", shown, ErrInvalid)
}

// blobVersion is the one field every blob must carry.
type blobVersion struct {
	Version json.RawMessage `json:"version"`
}

// checkBlob reports why blob cannot be trusted, or "" when it is a JSON object
// whose "version" is FormatVersion. The reason never quotes the blob: error
// messages end up on screens and in logs, and the blob holds tokens.
func checkBlob(blob []byte) string {
	if len(blob) > maxBlobSize {
		return "larger than " + strconv.Itoa(maxBlobSize) + " bytes"
	}
	trimmed := bytes.TrimSpace(blob)
	if len(trimmed) == 0 {
		return "empty"
	}
	var v blobVersion
	if err := json.Unmarshal(trimmed, &v); err != nil {
		var syn *json.SyntaxError
		switch {
		case errors.As(err, &syn) && syn.Offset >= int64(len(trimmed)):
			return "truncated JSON"
		case errors.As(err, &syn):
			return "not valid JSON"
		case trimmed[0] != '{':
			return "not a JSON object"
		default:
			return "malformed version field"
		}
	}
	if trimmed[0] != '{' {
		return "not a JSON object"
	}
	if v.Version == nil {
		return "no version field"
	}
	if string(v.Version) != formatVersionJSON {
		shown := "that is not a small integer"
		if smallInt.Match(v.Version) {
			shown = string(v.Version)
		}
		return "unknown version " + shown + " (this build reads version " + formatVersionJSON + ")"
	}
	return ""
}

// checkSave is what every backend runs before storing anything.
func checkSave(provider string, blob []byte) error {
	if err := checkProvider(provider); err != nil {
		return err
	}
	if reason := checkBlob(blob); reason != "" {
		return fmt.Errorf("save %s: refusing to store a blob that is %s: %w", provider, reason, ErrInvalid)
	}
	return nil
}
