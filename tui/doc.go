// Package tui is the keyboard-driven dashboard: the providers table with live
// countdowns, details, the activity log and the login modals. It drives the
// rest of the program only through small interfaces and learns of background
// work only through messages. Nothing imports it but the program's wiring.
//
// The root Model routes and lays out; each pane is a component with
// newX(common), Update returning its own type, View and SetSize, sharing a
// *Common. Keys go to the focused pane (tab moves the focus); every other
// message is broadcast to all panes, which take what they need. To add a
// pane under the table: write its file, add a field to Model (built in New),
// a paneID, and one line in stacked (focus.go).
package tui
