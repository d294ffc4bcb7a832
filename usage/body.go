package usage

import (
	"errors"
	"io"
)

// Body wraps a response body so that every byte read through it is also
// fed to its Counter. It adds no buffering: each Read returns what the
// underlying body gave, when it gave it.
type Body struct {
	rc      io.ReadCloser
	counter *Counter
	read    int64
	err     error
}

// NewBody returns rc counted by c.
func NewBody(rc io.ReadCloser, c *Counter) *Body {
	b := &Body{}
	b.Reset(rc, c)
	return b
}

// Reset makes b count rc with c from the start, so that a Body kept in a
// larger struct serves without an allocation of its own.
func (b *Body) Reset(rc io.ReadCloser, c *Counter) { *b = Body{rc: rc, counter: c} }

// Read reads from the wrapped body and counts what came.
func (b *Body) Read(p []byte) (int, error) {
	n, err := b.rc.Read(p)
	if n > 0 {
		b.read += int64(n)
		b.counter.Write(p[:n])
	}
	if err != nil && !errors.Is(err, io.EOF) && b.err == nil {
		b.err = err
	}
	return n, err
}

// Close closes the wrapped body and tells the Counter the body is over,
// whether it was read to the end or abandoned.
func (b *Body) Close() error {
	b.counter.Finish()
	return b.rc.Close()
}

// BytesRead is how many body bytes passed through.
func (b *Body) BytesRead() int64 { return b.read }

// Err is the first read error other than io.EOF: the upstream cut the
// body short (or the read was cancelled because the client left).
func (b *Body) Err() error { return b.err }
