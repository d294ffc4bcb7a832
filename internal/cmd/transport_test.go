package cmd

import (
	"context"
	"errors"
	"net/http"
	"os"
	"strings"
	"sync/atomic"
	"testing"
)

// noNetwork fails every request and dial, and counts them.
type noNetwork struct{ calls atomic.Int32 }

func (n *noNetwork) RoundTrip(*http.Request) (*http.Response, error) {
	n.calls.Add(1)
	return nil, errors.New("no network in this test")
}

func TestCleartextIssuerIsRefusedBeforeAnyConnection(t *testing.T) {
	h := newHarness(t, nil)
	doc := "[providers.corp]\ntype = \"oidc\"\nclient_id = \"ccproxy\"\nissuer = \"http://sso.example.com\"\n"
	if err := os.WriteFile(h.cfgPath, []byte(doc), 0o600); err != nil {
		t.Fatal(err)
	}
	var dials atomic.Int32
	nn := &noNetwork{}
	for _, argv := range [][]string{
		{"auth", "login", "corp", "--no-browser"},
		{"auth", "login", "corp", "--device"},
		{"auth", "refresh", "corp"},
		{"serve"},
	} {
		f := h.factory()
		f.HTTPClient = &http.Client{Transport: nn}
		f.OpenBrowser = func(string) (bool, error) { dials.Add(1); return false, nil }
		root := NewCmdRoot(f, nil)
		root.SetContext(testContext(t))
		before := h.errOut.String()
		if code := Execute(root, argv, h.errOut, f.Logger); code != 1 {
			t.Errorf("%v: exit %d, want 1", argv, code)
		}
		msg := strings.TrimPrefix(h.errOut.String(), before)
		for _, want := range []string{h.cfgPath + ":4", "providers.corp.issuer", "https://", "allow_insecure_http"} {
			if !strings.Contains(msg, want) {
				t.Errorf("%v: %q does not mention %q", argv, msg, want)
			}
		}
	}
	if n := nn.calls.Load() + dials.Load(); n != 0 {
		t.Errorf("%d requests were attempted", n)
	}
}

func TestInsecureHTTPAllowedIsWarnedOnEveryStart(t *testing.T) {
	h := newHarness(t, nil)
	h.writeConfig("allow_insecure_http = true\n")
	for range 2 {
		before := h.errOut.String()
		h.run(context.Background(), "auth", "status", "corp")
		if msg := strings.TrimPrefix(h.errOut.String(), before); !strings.Contains(msg, "allow_insecure_http = true") {
			t.Errorf("no warning on this start: %q", msg)
		}
	}
}
