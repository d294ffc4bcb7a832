package main

import (
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strings"
	"time"
)

// newBare is the well-built minimum the issue measures ccproxy against: a
// ReverseProxy that strips the route prefix, points at the upstream and sets
// the token, with a transport tuned the same way and pooled copy buffers.
// No door, no retry, no events, no error shapes.
func newBare(upstream *url.URL, token string) http.Handler {
	tr := &http.Transport{
		DialContext:         (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		ForceAttemptHTTP2:   true,
		MaxIdleConns:        512,
		MaxIdleConnsPerHost: 256,
		IdleConnTimeout:     90 * time.Second,
		DisableCompression:  true,
	}
	return &httputil.ReverseProxy{
		Transport:  tr,
		BufferPool: make(chanPool, 256),
		ErrorLog:   log.New(io.Discard, "", 0), // a client leaving mid-stream is expected here
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.Out.URL.Path = strings.TrimPrefix(pr.Out.URL.Path, "/claude")
			pr.Out.URL.RawPath = ""
			pr.SetURL(upstream)
			pr.Out.Header.Del("X-Api-Key")
			pr.Out.Header.Set("Authorization", "Bearer "+token)
		},
	}
}

type chanPool chan []byte

func (p chanPool) Get() []byte {
	select {
	case b := <-p:
		return b
	default:
		return make([]byte, 32<<10)
	}
}

func (p chanPool) Put(b []byte) {
	select {
	case p <- b:
	default:
	}
}
