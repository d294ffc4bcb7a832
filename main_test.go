package main

import "testing"

func TestDemoRequested(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want bool
	}{
		{"dashboard", nil, false},
		{"demo dashboard", []string{"--demo"}, true},
		{"serve demo", []string{"serve", "--demo"}, true},
		{"explicit true", []string{"--demo=true"}, true},
		{"explicit false", []string{"--demo=false"}, false},
		{"after --", []string{"auth", "token", "--", "--demo"}, false},
		{"another flag", []string{"--demonstrate"}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := demoRequested(tc.args); got != tc.want {
				t.Errorf("demoRequested(%q) = %v, want %v", tc.args, got, tc.want)
			}
		})
	}
}
