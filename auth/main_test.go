package auth

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package's tests if any goroutine outlives them: the
// scheduler, the callback servers and the managers all own goroutines.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
