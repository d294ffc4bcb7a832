// Package tui is the keyboard-driven dashboard: the providers table with live
// countdowns, details, the activity log and the login modals. It drives the
// rest of the program only through small interfaces and learns of background
// work only through messages. Nothing imports it but main.
package tui
