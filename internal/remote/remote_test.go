package remote

import "testing"

func TestDetectAndForward(t *testing.T) {
	tests := []struct {
		name   string
		env    map[string]string
		remote bool
		want   string
	}{
		{"local terminal", map[string]string{"USER": "ada"}, false, ""},
		{"default port", map[string]string{"SSH_CONNECTION": "10.0.0.1 5000 10.0.0.2 22", "USER": "bob"}, true, "ssh -L 1455:127.0.0.1:1455 bob@10.0.0.2"},
		{"other port", map[string]string{"SSH_CONNECTION": "203.0.113.5 51000 198.51.100.7 2222", "USER": "ada"}, true, "ssh -L 1455:127.0.0.1:1455 -p 2222 ada@198.51.100.7"},
		{"ipv6 and no user", map[string]string{"SSH_CONNECTION": "::1 5000 fe80::1 22"}, true, "ssh -L 1455:127.0.0.1:1455 [fe80::1]"},
		{"only SSH_TTY, LOGNAME", map[string]string{"SSH_TTY": "/dev/pts/3", "LOGNAME": "cy"}, true, "ssh -L 1455:127.0.0.1:1455 cy@<this-host>"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, ok := Detect(func(k string) string { return tt.env[k] })
			if ok != tt.remote {
				t.Fatalf("remote = %v, want %v", ok, tt.remote)
			}
			if ok {
				if got := s.Forward(1455); got != tt.want {
					t.Errorf("Forward = %q, want %q", got, tt.want)
				}
			}
		})
	}
}
