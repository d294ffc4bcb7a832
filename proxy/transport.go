package proxy

import (
	"net"
	"net/http"
	"time"
)

// newTransport builds the one upstream transport the proxy reuses for its
// whole life. It is sized for many concurrent long streams to the same API
// host. There is deliberately no overall timeout: a model's stream may run
// for many minutes, and the client's disconnect cancels it instead. With
// an idle watch (watched) silence before the headers is the watch's to
// cut; without one the transport gives up on headers after 11 minutes.
func newTransport(watched bool) *http.Transport {
	headerTimeout := 11 * time.Minute
	if watched {
		headerTimeout = 0 // one timer less a request: the watch cuts sooner
	}
	d := &net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}
	return &http.Transport{
		Proxy:                 http.ProxyFromEnvironment, // corporate egress proxies; never used for loopback
		DialContext:           d.DialContext,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          512,
		MaxIdleConnsPerHost:   256,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   10 * time.Second,
		ExpectContinueTimeout: time.Second,
		// A non-streaming completion only sends its headers when the whole
		// answer is ready, which the APIs allow to take up to ten minutes.
		ResponseHeaderTimeout: headerTimeout,
		// The client's Accept-Encoding is dropped (decorate) and the
		// transport asks for gzip and inflates it: the usage counter must
		// read the answer's bytes, and loopback to the client costs nothing.
		DisableCompression: false,
	}
}

// copyBuffer is the size of the buffer each response is copied through.
// A stream holds its buffer for as long as it runs, and a model's events
// are a few hundred bytes: 8 KiB rather than httputil's 32 KiB keeps 500
// open streams 12 MiB smaller, and a large JSON answer only takes a few
// more reads.
const copyBuffer = 8 << 10

// bufferPool recycles the copy buffers of httputil.ReverseProxy. A
// channel free list stores slices without the allocation a sync.Pool of
// []byte would cost on every Put.
type bufferPool chan []byte

func (p bufferPool) Get() []byte {
	select {
	case b := <-p:
		return b
	default:
		return make([]byte, copyBuffer)
	}
}

func (p bufferPool) Put(b []byte) {
	select {
	case p <- b:
	default:
	}
}
