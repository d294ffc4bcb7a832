package proxy

import (
	"bytes"
	"net/http"
	"strings"
	"testing"

	"github.com/ccproxy-tui/ccproxy-tui/internal/fake"
)

// TestCaptureKeepsBodiesButNoCredential: with KeepBodies, the event holds
// what was said, with the provider's token and the proxy's key masked
// wherever the client put them; without it, nothing.
func TestCaptureKeepsBodiesButNoCredential(t *testing.T) {
	const key = "proxy-api-key-5e1f0c"
	for _, keep := range []bool{true, false} {
		r := newRig(t, fake.UpstreamOptions{}, Options{APIKey: key, KeepBodies: keep}, "tok-A-secret-access")
		events, cancel := r.srv.Subscribe(1)
		body := `{"model":"m","messages":[{"role":"user","content":"my token is tok-A-secret-access and my key ` + key + `"}]}`
		req := r.req(t, http.MethodPost, "/claude/v1/messages", body)
		req.Header.Set("Authorization", "Bearer "+key)
		req.Header.Set("X-Trace", "carries "+key)
		req.Header.Set("Anthropic-Version", "2023-06-01")
		resp, got := r.do(t, req)
		if resp.StatusCode != 200 {
			t.Fatalf("status %d: %s", resp.StatusCode, got)
		}
		ev := nextEvent(t, events)
		cancel()
		if !keep {
			if ev.Capture != nil {
				t.Errorf("KeepBodies off, yet the event carries %+v", ev.Capture)
			}
			continue
		}
		c := ev.Capture
		if c == nil {
			t.Fatal("KeepBodies on, no capture")
		}
		all := string(c.RequestBody) + string(c.ResponseBody)
		for _, h := range []http.Header{c.RequestHeader, c.ResponseHeader} {
			for k, vs := range h {
				all += k + ": " + strings.Join(vs, ",") + "\n"
			}
		}
		for _, secret := range []string{"tok-A-secret-access", key} {
			if strings.Contains(all, secret) {
				t.Errorf("the capture holds %q:\n%s", secret, all)
			}
		}
		if !strings.Contains(string(c.RequestBody), `"content":"my token is [masked] and my key [masked]"`) ||
			!bytes.Equal(c.ResponseBody, got) || c.RequestHeader.Get("Anthropic-Version") != "2023-06-01" ||
			c.ResponseHeader.Get("Content-Type") == "" {
			t.Errorf("capture %+v\nclient got %s", c, got)
		}
	}
}

func TestCaptureStopsAtItsBound(t *testing.T) {
	r := newRig(t, fake.UpstreamOptions{}, Options{KeepBodies: true, MaxBody: 4 * MaxCapture}, "tok-A")
	events, cancel := r.srv.Subscribe(1)
	defer cancel()
	big := `{"model":"m","pad":"` + strings.Repeat("x", 2*MaxCapture) + `"}`
	r.do(t, r.req(t, http.MethodPost, "/claude/v1/messages", big))
	if ev := nextEvent(t, events); ev.Capture == nil || len(ev.Capture.RequestBody) != MaxCapture || ev.BytesIn != int64(len(big)) {
		t.Errorf("kept %d bytes of a %d-byte body", len(ev.Capture.RequestBody), len(big))
	}
}
