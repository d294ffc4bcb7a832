// Package iostreams holds the three standard streams a command writes to and
// answers "is this a terminal, may I prompt?" so commands never reach for
// os.Stdout and tests can swap in buffers.
package iostreams

import (
	"bytes"
	"io"
	"os"

	"github.com/mattn/go-isatty"
)

// IO is a command's view of the terminal.
type IO struct {
	In     io.Reader
	Out    io.Writer
	ErrOut io.Writer

	stdinTTY  bool
	stdoutTTY bool
	stderrTTY bool
}

// System returns the process's own streams with their terminal state.
func System() *IO {
	return &IO{
		In:        os.Stdin,
		Out:       os.Stdout,
		ErrOut:    os.Stderr,
		stdinTTY:  isTerminal(os.Stdin),
		stdoutTTY: isTerminal(os.Stdout),
		stderrTTY: isTerminal(os.Stderr),
	}
}

func isTerminal(f *os.File) bool {
	return isatty.IsTerminal(f.Fd()) || isatty.IsCygwinTerminal(f.Fd())
}

// Test returns an IO over buffers, with no terminals: stdin, stdout and
// stderr buffers are returned for the test to fill and read.
func Test() (io *IO, in *bytes.Buffer, out *bytes.Buffer, errOut *bytes.Buffer) {
	in, out, errOut = &bytes.Buffer{}, &bytes.Buffer{}, &bytes.Buffer{}
	return &IO{In: in, Out: out, ErrOut: errOut}, in, out, errOut
}

// IsStdinTTY reports whether input comes from a terminal.
func (s *IO) IsStdinTTY() bool { return s.stdinTTY }

// IsStdoutTTY reports whether output goes to a terminal: human tables then,
// stable machine output otherwise.
func (s *IO) IsStdoutTTY() bool { return s.stdoutTTY }

// IsStderrTTY reports whether messages go to a terminal.
func (s *IO) IsStderrTTY() bool { return s.stderrTTY }

// SetStdinTTY lets tests pretend input is a terminal.
func (s *IO) SetStdinTTY(v bool) { s.stdinTTY = v }

// SetStdoutTTY lets tests pretend output is a terminal.
func (s *IO) SetStdoutTTY(v bool) { s.stdoutTTY = v }

// SetStderrTTY lets tests pretend stderr is a terminal.
func (s *IO) SetStderrTTY(v bool) { s.stderrTTY = v }

// CanPrompt reports whether a question may be asked and answered: both
// stdin and stdout are terminals.
func (s *IO) CanPrompt() bool { return s.stdinTTY && s.stdoutTTY }
