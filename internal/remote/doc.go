// Package remote tells whether the program runs in an SSH session and, if
// so, which ssh -L command lets a browser on the user's own computer reach
// a loopback port here. The CLI and the dashboard give the same advice.
// It only reads the environment; it never runs ssh.
package remote
