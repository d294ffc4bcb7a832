package remote

import (
	"fmt"
	"strings"
)

// Session is what the environment says about an SSH login.
type Session struct {
	// Host is this machine as the client reached it ("198.51.100.7",
	// "[fe80::1]"), or "<this-host>" when SSH_CONNECTION is missing.
	Host string
	// Port is the SSH port when not 22 ("2222"), else "".
	Port string
	// User is $USER (or $LOGNAME), possibly "".
	User string
}

// Detect reports the SSH session the program runs in: SSH_CONNECTION or
// SSH_TTY set means a remote terminal (sudo and tmux keep them; a plain
// local terminal has neither).
func Detect(getenv func(string) string) (Session, bool) {
	conn, tty := getenv("SSH_CONNECTION"), getenv("SSH_TTY")
	if conn == "" && tty == "" {
		return Session{}, false
	}
	s := Session{Host: "<this-host>"}
	if f := strings.Fields(conn); len(f) == 4 {
		s.Host = f[2]
		if strings.Contains(s.Host, ":") {
			s.Host = "[" + s.Host + "]"
		}
		if f[3] != "22" {
			s.Port = f[3]
		}
	}
	s.User = getenv("USER")
	if s.User == "" {
		s.User = getenv("LOGNAME")
	}
	return s, true
}

// Forward is the command to run on the user's own computer so that its
// browser reaches port on this machine's loopback.
func (s Session) Forward(port int) string {
	target := s.Host
	if s.User != "" {
		target = s.User + "@" + s.Host
	}
	p := ""
	if s.Port != "" {
		p = " -p " + s.Port
	}
	return fmt.Sprintf("ssh -L %d:127.0.0.1:%d%s %s", port, port, p, target)
}
