package contrib

import (
	"bufio"
	"bytes"
	"encoding/xml"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

const unitPath = "systemd/ccproxy-tui.service"

// TestSystemdUnit reads the unit's sections and keys and checks what the
// README promises: it runs serve from go install's directory, restarts on
// failure and starts with the user's session. Where systemd-analyze is
// installed it also verifies the unit, failing on any complaint (verify
// exits 0 on unknown keys, so its output counts too).
func TestSystemdUnit(t *testing.T) {
	data, err := os.ReadFile(unitPath)
	if err != nil {
		t.Fatal(err)
	}
	keys := map[string]string{} // "Section.Key" → value
	section := ""
	sc := bufio.NewScanner(bytes.NewReader(data))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		switch {
		case line == "" || strings.HasPrefix(line, "#"):
		case strings.HasPrefix(line, "[") && strings.HasSuffix(line, "]"):
			section = strings.Trim(line, "[]")
		default:
			k, v, ok := strings.Cut(line, "=")
			if !ok || section == "" {
				t.Fatalf("%s:%d: not a key=value line in a section: %q", unitPath, n, line)
			}
			keys[section+"."+strings.TrimSpace(k)] = strings.TrimSpace(v)
		}
	}
	want := map[string]string{
		"Service.ExecStart": "%h/go/bin/ccproxy-tui serve",
		"Service.Restart":   "on-failure",
		"Service.Type":      "simple",
		"Install.WantedBy":  "default.target",
	}
	for k, v := range want {
		if keys[k] != v {
			t.Errorf("%s = %q, want %q", k, keys[k], v)
		}
	}
	if keys["Unit.Description"] == "" {
		t.Error("no Description")
	}

	analyze, err := exec.LookPath("systemd-analyze")
	if err != nil {
		t.Logf("systemd-analyze not installed; checked the keys only")
		return
	}
	// verify insists the binary exists; point ExecStart at one that does.
	dir := t.TempDir()
	unit := strings.Replace(string(data), "%h/go/bin/ccproxy-tui", "/bin/sh", 1)
	path := filepath.Join(dir, "ccproxy-tui.service")
	if err := os.WriteFile(path, []byte(unit), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(analyze, "verify", path).CombinedOutput()
	if err != nil || bytes.Contains(out, []byte("ccproxy-tui.service")) {
		t.Errorf("systemd-analyze verify: %v\n%s", err, out)
	}
}

// plistValue is one value of a property list, as far as the agent uses them.
type plistValue struct {
	XMLName xml.Name
	Text    string       `xml:",chardata"`
	Items   []plistValue `xml:",any"`
}

// TestLaunchdAgent parses the agent as XML and checks its label, that it
// runs serve, starts at login and is restarted when it fails.
func TestLaunchdAgent(t *testing.T) {
	data, err := os.ReadFile("launchd/io.github.ccproxy-tui.serve.plist")
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		XMLName xml.Name   `xml:"plist"`
		Dict    plistValue `xml:"dict"`
	}
	if err := xml.Unmarshal(data, &doc); err != nil {
		t.Fatalf("not a valid plist: %v", err)
	}
	top := map[string]plistValue{}
	items := doc.Dict.Items
	for i := 0; i+1 < len(items); i += 2 {
		if items[i].XMLName.Local != "key" {
			t.Fatalf("entry %d is <%s>, want <key>", i, items[i].XMLName.Local)
		}
		top[items[i].Text] = items[i+1]
	}
	if len(items)%2 != 0 {
		t.Fatal("a key without a value")
	}
	if got := top["Label"].Text; got != "io.github.ccproxy-tui.serve" {
		t.Errorf("Label %q", got)
	}
	args := top["ProgramArguments"].Items
	if len(args) != 2 || !strings.HasSuffix(args[0].Text, "/go/bin/ccproxy-tui") || args[1].Text != "serve" {
		t.Errorf("ProgramArguments %+v", args)
	}
	if top["RunAtLoad"].XMLName.Local != "true" {
		t.Errorf("RunAtLoad is <%s>", top["RunAtLoad"].XMLName.Local)
	}
	keep := top["KeepAlive"].Items
	if len(keep) != 2 || keep[0].Text != "SuccessfulExit" || keep[1].XMLName.Local != "false" {
		t.Errorf("KeepAlive %+v, want restart unless it exited successfully", keep)
	}
}
