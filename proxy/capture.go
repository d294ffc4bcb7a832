package proxy

import (
	"bytes"
	"io"
	"net/http"
)

// MaxCapture bounds each body a Capture keeps; the rest passes uncopied.
const MaxCapture = 1 << 20

// Capture is what was said in one exchange beyond its counts: the client's
// request headers and body and the upstream's response headers and body,
// each body at most MaxCapture bytes. The proxy fills it only with
// Options.KeepBodies, and replaces every credential it knows (the
// provider's tokens, the proxy's api key) with "[masked]" wherever it
// appears; header names that carry credentials are the ledger's to mask.
type Capture struct {
	RequestHeader  http.Header
	RequestBody    []byte
	ResponseHeader http.Header
	ResponseBody   []byte
}

// masked is what a known credential is replaced with in a Capture.
var masked = []byte("[masked]")

// captureBody copies the first MaxCapture bytes that pass through it.
type captureBody struct {
	rc  io.ReadCloser
	buf *[]byte
}

func (c captureBody) Read(p []byte) (int, error) {
	n, err := c.rc.Read(p)
	if room := MaxCapture - len(*c.buf); room > 0 && n > 0 {
		*c.buf = append(*c.buf, p[:min(n, room)]...)
	}
	return n, err
}

func (c captureBody) Close() error { return c.rc.Close() }

// startCapture keeps the client's headers and body, before any is changed.
func (x *exchange) startCapture(r *http.Request) {
	x.capture = &Capture{RequestHeader: r.Header.Clone()}
	if x.hasBody {
		x.capture.RequestBody = bytes.Clone(x.body[:min(len(x.body), MaxCapture)])
	}
}

// captureResponse keeps the upstream's headers and tees its body.
func (x *exchange) captureResponse(resp *http.Response) {
	if x.capture == nil {
		return
	}
	x.capture.ResponseHeader = resp.Header.Clone()
	if resp.Body != nil && resp.Body != http.NoBody {
		resp.Body = captureBody{rc: resp.Body, buf: &x.capture.ResponseBody}
	}
}

// scrub replaces every secret in the capture, bodies and header values.
func (c *Capture) scrub(secrets ...string) {
	for _, s := range secrets {
		if len(s) < 8 { // too short to find without masking ordinary words
			continue
		}
		sb := []byte(s)
		c.RequestBody = bytes.ReplaceAll(c.RequestBody, sb, masked)
		c.ResponseBody = bytes.ReplaceAll(c.ResponseBody, sb, masked)
		for _, h := range []http.Header{c.RequestHeader, c.ResponseHeader} {
			for k, vs := range h {
				for i, v := range vs {
					if bytes.Contains([]byte(v), sb) {
						h[k][i] = string(masked)
					}
				}
			}
		}
	}
}
