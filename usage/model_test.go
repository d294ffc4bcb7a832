package usage

import (
	"strings"
	"testing"
)

func TestModel(t *testing.T) {
	for _, tc := range []struct{ name, body, want string }{
		{"first", `{"model":"claude-sonnet-4-5","messages":[]}`, "claude-sonnet-4-5"},
		{"after nested", `{"messages":[{"role":"user","model":"inner","content":"say \"model\""}],"metadata":{"model":"x"}, "model" : "gpt-5-codex"}`, "gpt-5-codex"},
		{"escaped", `{"model":"a\u002fb"}`, "a/b"},
		{"missing", `{"messages":[]}`, ""},
		{"not a string", `{"model":42}`, ""},
		{"null", `{"model":null,"x":"y"}`, ""},
		{"not json", `model=foo`, ""},
		{"empty", ``, ""},
		{"array body", `["model","x"]`, ""},
		{"truncated", `{"model":"abc`, ""},
		{"cut to the bound", `{"model":"` + strings.Repeat("m", 300) + `"}`, strings.Repeat("m", maxModel)},
		{"far too long", `{"model":"` + strings.Repeat("m", 600) + `"}`, ""},
		{"long but bounded", `{"model":"` + strings.Repeat("é", 100) + `"}`, strings.Repeat("é", 64)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := Model([]byte(tc.body)); got != tc.want {
				t.Errorf("Model(%q) = %q, want %q", tc.body, got, tc.want)
			}
		})
	}
}

func FuzzModel(f *testing.F) {
	f.Add([]byte(`{"model":"claude-sonnet-4-5","messages":[]}`))
	f.Add([]byte(`{"a":{"model":"x"},"model":"y"}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		if m := Model(body); len(m) > maxModel {
			t.Fatalf("model of %d bytes", len(m))
		}
	})
}
