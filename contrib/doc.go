// Package contrib holds files for running ccproxy-tui as a user service (a
// systemd user unit and a launchd agent); its tests check that they parse
// and start serve. It has no code of its own.
package contrib
