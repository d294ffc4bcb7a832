package store

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strconv"

	"github.com/ccproxy-tui/ccproxy-tui/internal/acctname"
	"github.com/ccproxy-tui/ccproxy-tui/internal/provname"
)

// maxBlobSize bounds what Load reads and Save accepts; a credential blob is a
// few kilobytes, so anything near this is not one of ours.
const maxBlobSize = 1 << 20

// formatVersionJSON is FormatVersion as it appears on disk.
var formatVersionJSON = strconv.Itoa(FormatVersion)

// smallInt is how much of an unknown version number an error may quote.
var smallInt = regexp.MustCompile(`^-?[0-9]{1,6}$`)

// providerPattern is the namespace of provider names, the one rule of
// provname: lower-case, short, and unable to contain a path separator or a
// leading dot.
const providerPattern = provname.Pattern

// accountPattern is the namespace of account names, the one rule of
// acctname.
const accountPattern = acctname.Pattern

// keyName is the whole namespace of store keys: a provider's own record
// (<provider>), one of its accounts (<provider>@<account>) or the record of
// which account is active (<provider>.active). None can contain a path
// separator or start with a dot, so a key never becomes a path outside the
// credentials folder or collides with the store's bookkeeping entries.
var keyName = regexp.MustCompile(`^` + providerPattern + `(\.active|@` + accountPattern + `)?$`)

// CheckAccount applies acctname's rule, as an ErrInvalid, for callers that
// branch on the store's errors.
func CheckAccount(name string) error {
	if err := acctname.Check(name); err != nil {
		return fmt.Errorf("%w: %w", err, ErrInvalid)
	}
	return nil
}

// AccountKey is the key of one account's record of a provider.
func AccountKey(provider, account string) string { return provider + "@" + account }

// ActiveKey is the key of the record that says which of a provider's
// accounts is active.
func ActiveKey(provider string) string { return provider + ".active" }

// checkProvider rejects keys that are not valid (see keyName).
func checkProvider(provider string) error {
	if keyName.MatchString(provider) {
		return nil
	}
	return fmt.Errorf("store key %q: want a provider name (%s), optionally with @<account>: %w", shorten(provider), provname.Rule, ErrInvalid)
}

func shorten(s string) string {
	if len(s) > 64 {
		return s[:64] + "…"
	}
	return s
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

// newerVersion returns the version of a blob written by a newer build (a
// JSON object whose "version" is an integer above FormatVersion). Such a
// record is not corrupt: it is left alone for the build that wrote it.
func newerVersion(blob []byte) (int, bool) {
	if len(blob) > maxBlobSize {
		return 0, false
	}
	var v blobVersion
	if json.Unmarshal(bytes.TrimSpace(blob), &v) != nil || !smallInt.Match(v.Version) {
		return 0, false
	}
	n, err := strconv.Atoi(string(v.Version))
	if err != nil || n <= FormatVersion {
		return 0, false
	}
	return n, true
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
