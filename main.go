// Command ccproxy-tui logs in to LLM subscriptions with OAuth, keeps their
// tokens fresh and serves them to local tools through an embedded proxy.
package main

import (
	"fmt"
	"os"
)

func main() {
	fmt.Fprintln(os.Stderr, "ccproxy-tui: the command line is being built; see README.md for what works today")
	os.Exit(1)
}
