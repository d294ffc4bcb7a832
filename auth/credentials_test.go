package auth

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"
)

func TestMasking(t *testing.T) {
	tok := func(n int) string {
		var b strings.Builder
		for i := range n {
			b.WriteByte("abcdefghijklmnopqrstuvwxyz0123456789"[i%36])
		}
		return b.String()
	}
	tests := []struct {
		n       int
		access  string
		refresh string
	}{
		{0, "", ""},
		{1, "*", "*"},
		{8, "********", "********"},
		{16, "****************", "abcd...mnop"},
		{17, "abcdefgh...jklmnopq", "abcd...nopq"},
		{100, "abcdefgh...uvwxyz01", "abcd...yz01"},
	}
	for _, tc := range tests {
		t.Run(fmt.Sprintf("len %d", tc.n), func(t *testing.T) {
			s := tok(tc.n)
			if got := MaskAccess(s); got != tc.access {
				t.Errorf("MaskAccess = %q, want %q", got, tc.access)
			}
			if got := MaskRefresh(s); got != tc.refresh {
				t.Errorf("MaskRefresh = %q, want %q", got, tc.refresh)
			}
			snap := Credentials{AccessToken: s, RefreshToken: s}.Snapshot()
			if snap.AccessTokenPreview != tc.access || snap.RefreshTokenPreview != tc.refresh || snap.HasRefreshToken != (tc.n > 0) {
				t.Errorf("Snapshot previews %q %q has=%v", snap.AccessTokenPreview, snap.RefreshTokenPreview, snap.HasRefreshToken)
			}
			if tc.n > 16 && (strings.Contains(tc.access, s) || strings.Contains(tc.refresh, s)) {
				t.Error("preview holds the whole token")
			}
		})
	}
}

func TestCredentialsNeverPrintTokens(t *testing.T) {
	c := Credentials{
		Version: 1, Provider: "claude",
		AccessToken:  "sk-ant-oat01-ACCESSSECRETACCESSSECRET-tail",
		RefreshToken: "sk-ant-ort01-REFRESHSECRETREFRESHSECRET-tail",
		IDToken:      "eyJhbGciOi.IDTOKENSECRETPAYLOAD.signature",
		ExpiresAt:    time.Date(2026, 11, 23, 2, 0, 0, 0, time.UTC),
		AccountID:    "acct-1",
		Extra:        map[string]string{"copilot_token": "EXTRASECRETVALUE"},
	}
	secrets := []string{"ACCESSSECRET", "REFRESHSECRET", "IDTOKENSECRET", "EXTRASECRET"}
	outputs := map[string]string{}
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%d"} {
		outputs[verb] = fmt.Sprintf(verb, c)
		outputs["pointer "+verb] = fmt.Sprintf(verb, &c)
		outputs["in struct "+verb] = fmt.Sprintf(verb, struct{ C Credentials }{c})
		outputs["in slice "+verb] = fmt.Sprintf(verb, []Credentials{c})
	}
	outputs["Println"] = fmt.Sprintln(c)
	outputs["Error wrap"] = fmt.Errorf("saving %v", c).Error()
	var buf bytes.Buffer
	slog.New(slog.NewJSONHandler(&buf, nil)).Info("login", "creds", c, "ptr", &c)
	outputs["slog json"] = buf.String()
	buf.Reset()
	slog.New(slog.NewTextHandler(&buf, nil)).Info("login", slog.Any("creds", c))
	outputs["slog text"] = buf.String()
	snap, _ := json.Marshal(c.Snapshot())
	outputs["snapshot json"] = string(snap)

	for name, out := range outputs {
		for _, s := range secrets {
			if strings.Contains(out, s) {
				t.Errorf("%s reveals %s: %s", name, s, out)
			}
		}
	}
	if !strings.Contains(outputs["%v"], MaskAccess(c.AccessToken)) || !strings.Contains(outputs["slog json"], "claude") {
		t.Errorf("masked output should still identify the credentials: %q / %q", outputs["%v"], outputs["slog json"])
	}
}
