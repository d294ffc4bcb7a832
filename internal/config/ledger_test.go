package config

import (
	"strings"
	"testing"
	"time"
)

func TestLedgerSection(t *testing.T) {
	for _, tc := range []struct {
		name, toml string
		want       Ledger
		wantErr    string
	}{
		{"defaults", ``, Ledger{Enabled: true, Retention: Duration{90 * 24 * time.Hour}}, ""},
		{"days", "[ledger]\nretention = \"7d\"\nbodies = true\n", Ledger{Enabled: true, Retention: Duration{7 * 24 * time.Hour}, Bodies: true}, ""},
		{"hours", "[ledger]\nretention = \"36h\"\n", Ledger{Enabled: true, Retention: Duration{36 * time.Hour}}, ""},
		{"off", "[ledger]\nenabled = false\n", Ledger{Retention: Duration{90 * 24 * time.Hour}}, ""},
		{"keep all", "[ledger]\nretention = \"0d\"\n", Ledger{Enabled: true}, ""},
		{"not a duration", "[ledger]\nretention = \"ninety days\"\n", Ledger{}, "ledger.retention"},
		{"negative days", "[ledger]\nretention = \"-3d\"\n", Ledger{}, "ledger.retention"},
		{"unknown key", "[ledger]\npath = \"/tmp/x.db\"\n", Ledger{}, "ledger.path: unknown key"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := Default()
			err := Parse("config.toml", []byte(tc.toml), &cfg)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("Parse: %v, want an error naming %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if cfg.Ledger != tc.want {
				t.Errorf("Ledger = %+v, want %+v", cfg.Ledger, tc.want)
			}
		})
	}
}
