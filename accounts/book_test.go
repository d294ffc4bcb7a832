package accounts

import (
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/ccproxy-tui/ccproxy-tui/store"
)

func TestActiveFollowsTheRecord(t *testing.T) {
	ctx := context.Background()
	st := store.NewMemory()
	b := New(st, nil)
	for _, a := range []string{"work", "ada@example.com"} {
		if err := st.Save(ctx, store.AccountKey("claude", a), []byte(`{"version":1,"provider":"claude"}`)); err != nil {
			t.Fatal(err)
		}
	}
	if err := st.Save(ctx, store.AccountKey("codex", "other"), []byte(`{"version":1,"provider":"codex"}`)); err != nil {
		t.Fatal(err)
	}
	list, err := b.List(ctx, "claude")
	if err != nil || !slices.Equal(list, []string{"ada@example.com", "work"}) {
		t.Fatalf("List = %q, %v", list, err)
	}
	if got := b.Active(ctx, "claude", list); got != "ada@example.com" {
		t.Errorf("with no record, Active = %q; want the first account", got)
	}
	if err := b.SetActive(ctx, "claude", "work"); err != nil {
		t.Fatal(err)
	}
	if got := New(st, nil).Active(ctx, "claude", list); got != "work" {
		t.Errorf("after the switch, Active = %q; want work", got)
	}
	if got := b.Active(ctx, "claude", []string{"ada@example.com"}); got != "ada@example.com" {
		t.Errorf("with the active account gone, Active = %q; want the first left", got)
	}
	if got := b.Active(ctx, "claude", nil); got != "" {
		t.Errorf("with no account, Active = %q", got)
	}
	if err := b.SetActive(ctx, "claude", "../x"); !errors.Is(err, store.ErrInvalid) {
		t.Errorf("SetActive of a bad name = %v, want ErrInvalid", err)
	}
}

// TestViewIsTheAccountsRecord: a Manager-shaped caller using the
// provider's key through View reads and writes only the account's record.
func TestViewIsTheAccountsRecord(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	st := openFile(t, dir)
	v := View(st, "claude", "work")
	if _, ok := v.(store.Reserver); !ok {
		t.Fatal("the view hides the file store's Reserver")
	}
	h, ok := v.(store.Holder)
	if !ok {
		t.Fatal("the view hides the file store's Holder")
	}
	release := h.Hold("claude")
	if !openFile(t, dir).HeldElsewhere("claude@work") {
		t.Error("a hold through the view does not mark the account's record")
	}
	release()
	if err := v.Save(ctx, "claude", []byte(`{"version":1,"provider":"claude"}`)); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Load(ctx, "claude"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("the view wrote the provider's own record: %v", err)
	}
	if _, err := st.Load(ctx, "claude@work"); err != nil {
		t.Errorf("the account's record is missing: %v", err)
	}
	if loc := v.Location("claude"); loc != st.Location("claude@work") {
		t.Errorf("Location = %q", loc)
	}
}
