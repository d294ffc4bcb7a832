package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"
)

// loadClient is the one client every run shares: keep-alive, enough idle
// connections for the highest concurrency, no transparent gzip.
var loadClient = &http.Client{Transport: &http.Transport{
	MaxIdleConns:        2048,
	MaxIdleConnsPerHost: 1024,
	DisableCompression:  true,
}}

const (
	jsonBody   = `{"model":"fake-model","max_tokens":64,"messages":[{"role":"user","content":"Say hello."}]}`
	streamBody = `{"model":"fake-model","max_tokens":64,"stream":true,"messages":[{"role":"user","content":"Say hello."}]}`
)

// result is one load run: completed requests, their latencies, wall time.
type result struct {
	n       int
	errs    int
	lastErr error
	lat     []time.Duration
	elapsed time.Duration
}

func (r result) rps() float64 { return float64(r.n) / r.elapsed.Seconds() }

func (r result) pct(p float64) time.Duration {
	if len(r.lat) == 0 {
		return 0
	}
	return r.lat[min(len(r.lat)-1, int(float64(len(r.lat))*p))]
}

func (r *result) merge(o result) {
	r.n += o.n
	r.errs += o.errs
	if o.lastErr != nil {
		r.lastErr = o.lastErr
	}
	r.lat = append(r.lat, o.lat...)
	r.elapsed += o.elapsed
}

// call does one request and reads the whole response. For a stream it
// returns the time to the first event as well.
func call(ctx context.Context, url string, stream bool, hdr map[string]string) (total, first time.Duration, err error) {
	body := jsonBody
	if stream {
		body = streamBody
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, strings.NewReader(body))
	if err != nil {
		return 0, 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Anthropic-Version", "2023-06-01")
	req.Header.Set("X-Api-Key", "client-placeholder")
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	start := time.Now()
	resp, err := loadClient.Do(req)
	if err != nil {
		return 0, 0, err
	}
	defer resp.Body.Close()
	if stream {
		br := bufio.NewReader(resp.Body)
		if _, err := br.ReadSlice('\n'); err != nil {
			return 0, 0, fmt.Errorf("first event: %w", err)
		}
		first = time.Since(start)
		_, err = io.Copy(io.Discard, br)
	} else {
		_, err = io.Copy(io.Discard, resp.Body)
	}
	if err == nil && resp.StatusCode != http.StatusOK {
		err = fmt.Errorf("status %d", resp.StatusCode)
	}
	return time.Since(start), first, err
}

// run drives url with c closed-loop workers for d and collects latencies.
func run(url string, c int, d time.Duration, stream bool) result {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	var (
		mu  sync.Mutex
		res result
		wg  sync.WaitGroup
	)
	start := time.Now()
	for range c {
		wg.Go(func() {
			lat := make([]time.Duration, 0, 4096)
			errs := 0
			var lastErr error
			for ctx.Err() == nil {
				t, _, err := call(context.Background(), url, stream, nil)
				if err != nil {
					errs++
					lastErr = err
					continue
				}
				lat = append(lat, t)
			}
			mu.Lock()
			res.lat = append(res.lat, lat...)
			res.errs += errs
			if lastErr != nil {
				res.lastErr = lastErr
			}
			mu.Unlock()
		})
	}
	wg.Wait()
	res.elapsed = time.Since(start)
	res.n = len(res.lat)
	slices.Sort(res.lat)
	return res
}
