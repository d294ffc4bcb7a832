package iostreams

import "testing"

func TestTestStreamsAreBuffersAndNotTerminals(t *testing.T) {
	ios, in, out, errOut := Test()
	in.WriteString("typed")
	ios.Out.Write([]byte("o"))
	ios.ErrOut.Write([]byte("e"))
	if out.String() != "o" || errOut.String() != "e" {
		t.Fatalf("out=%q err=%q", out, errOut)
	}
	if ios.CanPrompt() || ios.IsStdoutTTY() || ios.IsStdinTTY() {
		t.Fatal("test streams must not look like a terminal")
	}
	ios.SetStdinTTY(true)
	if ios.CanPrompt() {
		t.Fatal("prompting needs stdout to be a terminal too")
	}
	ios.SetStdoutTTY(true)
	if !ios.CanPrompt() {
		t.Fatal("both terminals: may prompt")
	}
}
