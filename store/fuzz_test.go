package store

import (
	"encoding/json"
	"testing"
)

// FuzzCheckBlob feeds arbitrary stored blobs to the check every Load runs:
// it must never panic, and whatever it passes is a JSON object of this
// build's version, so no caller ever decodes something else.
func FuzzCheckBlob(f *testing.F) {
	for _, s := range []string{
		`{"version":1,"provider":"claude","access_token":"a"}`, `{"version":2}`, `{"version":"1"}`, `[1]`,
		`{"version":1`, ``, `   `, `{"version":1}{"version":1}`, `{"version":1e0}`, `null`, "\xff\xfe",
		`{"version":99999999999999999999}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, blob []byte) {
		reason := checkBlob(blob)
		if reason != "" {
			if len(reason) > 200 {
				t.Fatalf("reason is %d bytes long: it may quote the blob", len(reason))
			}
			return
		}
		var v struct {
			Version json.Number `json:"version"`
		}
		if err := json.Unmarshal(blob, &v); err != nil || v.Version != "1" {
			t.Fatalf("passed %q (version %q, %v)", blob, v.Version, err)
		}
	})
}
