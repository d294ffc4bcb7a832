package store

import "testing"

// A hold is seen by another handle on the folder (as another process has
// one), not by a record without one, and ends on release.
func TestHoldIsSeenElsewhereUntilReleased(t *testing.T) {
	dir := t.TempDir()
	a, err := NewFile(dir)
	if err != nil {
		t.Fatal(err)
	}
	b, err := NewFile(dir)
	if err != nil {
		t.Fatal(err)
	}
	if b.HeldElsewhere("corp@default") {
		t.Fatal("held before anyone held it")
	}
	release := a.Hold("corp@default")
	if !b.HeldElsewhere("corp@default") {
		t.Fatal("another handle does not see the hold")
	}
	if b.HeldElsewhere("corp@work") {
		t.Fatal("a hold on one account is seen on another")
	}
	release()
	if b.HeldElsewhere("corp@default") {
		t.Fatal("still held after release")
	}
	var _ Holder = NewFaulty(a)
	if names, err := a.List(t.Context()); err != nil || len(names) != 0 {
		t.Fatalf("List = %v, %v; the hold file is no record", names, err)
	}
}
