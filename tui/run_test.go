package tui

import "testing"

func TestNoColor(t *testing.T) {
	tests := []struct {
		name string
		env  map[string]string
		want bool
	}{
		{"colour terminal", map[string]string{"TERM": "xterm-256color"}, false},
		{"NO_COLOR set", map[string]string{"TERM": "xterm-256color", "NO_COLOR": "1"}, true},
		{"NO_COLOR empty is ignored", map[string]string{"TERM": "xterm", "NO_COLOR": ""}, false},
		{"dumb terminal", map[string]string{"TERM": "dumb"}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := noColor(func(k string) string { return tt.env[k] }); got != tt.want {
				t.Errorf("noColor = %v, want %v", got, tt.want)
			}
		})
	}
}
