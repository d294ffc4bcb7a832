package auth

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ccproxy-tui/ccproxy-tui/internal/fake"
	"github.com/ccproxy-tui/ccproxy-tui/store"
)

// faultyManager is a manager of p on a store that fails writes on demand.
func faultyManager(p *lcProvider, resident bool) (*Manager, *store.Faulty) {
	fs := store.NewFaulty(p.store)
	m := NewManager(ManagerOptions{Provider: "demo", Refresher: p.cfg, Store: fs, Clock: p.clock, Bus: p.bus})
	m.KeepUnsaved(resident)
	return m, fs
}

// While the token still has time, a full disk stops the rotation before
// the server is asked: the valid token stays in use and nothing is spent.
func TestFullDiskKeepsTheValidTokenInsteadOfRotating(t *testing.T) {
	for _, resident := range []bool{true, false} {
		p := newLCProvider(t)
		seeded := p.seed(t, lcT0.Add(100*time.Second)) // inside the 2m grace, not urgent
		m, fs := faultyManager(p, resident)
		fs.SetFull(true)
		tok, err := m.Token(context.Background())
		if err != nil || tok != seeded.AccessToken {
			t.Fatalf("resident=%v: Token = %s, %v; want the valid token", resident, MaskAccess(tok), err)
		}
		if n := p.srv.Counts().Token; n != 0 {
			t.Fatalf("resident=%v: %d token calls with no room to write their answer", resident, n)
		}
		st := m.Status(context.Background())
		if !strings.Contains(st.LastError, "cannot take new tokens") {
			t.Errorf("resident=%v: last error %q does not say the store is full", resident, st.LastError)
		}
	}
}

// Near expiry on a full disk, a resident process rotates anyway, serves
// the new token from memory, refreshes from it (never from the stale
// record on disk) and writes it once the disk has room: the server sees
// every refresh token once.
func TestFullDiskNearExpiryRotatesIntoMemoryAndWritesLater(t *testing.T) {
	p := newLCProvider(t)
	p.seed(t, lcT0.Add(30*time.Second)) // urgent: less than half the 2m grace
	m, fs := faultyManager(p, true)
	ctx := context.Background()
	fs.SetFull(true)

	var served []string
	for round := range 3 {
		tok, err := m.Token(ctx)
		if err != nil {
			t.Fatalf("round %d: %v", round, err)
		}
		if !p.srv.ValidAccessToken(tok) {
			t.Fatalf("round %d: served a token the server does not accept", round)
		}
		served = append(served, tok)
		if !m.HasUnsaved() {
			t.Fatalf("round %d: the rotated credentials are not kept in memory", round)
		}
		// Let the new token get close to expiry too.
		p.clock.Advance(time.Hour - 30*time.Second)
	}
	if served[0] == served[1] || served[1] == served[2] {
		t.Fatal("the rounds did not rotate")
	}
	if c := p.srv.Counts(); c.Refresh != 3 || c.Reuse != 0 || p.invalidGrants() != 0 {
		t.Fatalf("server counts %+v: want 3 refreshes, 0 reuse, 0 refused", c)
	}
	if p.stored(t).RefreshToken == p.srv.LastRefreshToken() {
		t.Fatal("the full disk took the record after all")
	}

	// The disk has room again: the next look at the store writes the
	// newest credentials, without another rotation.
	fs.SetFull(false)
	if _, err := m.ForceRefresh(ctx); err != nil {
		t.Fatal(err)
	}
	if got := p.stored(t); got.RefreshToken != p.srv.LastRefreshToken() {
		t.Errorf("store holds %s, want the newest %s", MaskRefresh(got.RefreshToken), MaskRefresh(p.srv.LastRefreshToken()))
	}
	if m.HasUnsaved() {
		t.Error("credentials still waiting in memory after a successful write")
	}
	if c := p.srv.Counts(); c.Reuse != 0 || p.invalidGrants() != 0 {
		t.Errorf("server counts %+v after the disk recovered", c)
	}
}

// Two failed saves, then a refresh: the newest refresh token is the one
// spent, none is reused.
func TestTwoFailedSavesThenARefreshSpendsTheNewest(t *testing.T) {
	p := newLCProvider(t)
	p.seed(t, lcT0.Add(10*time.Second))
	m, fs := faultyManager(p, true)
	ctx := context.Background()
	fs.FailSaves(2)
	for range 2 {
		if _, err := m.Token(ctx); err != nil {
			t.Fatal(err)
		}
		p.clock.Advance(time.Hour - 10*time.Second)
	}
	if _, err := m.Token(ctx); err != nil {
		t.Fatal(err)
	}
	if c := p.srv.Counts(); c.Refresh != 3 || c.Reuse != 0 || p.invalidGrants() != 0 {
		t.Fatalf("server counts %+v: want 3 refreshes and 0 reuse", c)
	}
	if got := p.stored(t); got.RefreshToken != p.srv.LastRefreshToken() {
		t.Errorf("store holds %s, want the newest %s", MaskRefresh(got.RefreshToken), MaskRefresh(p.srv.LastRefreshToken()))
	}
}

// A command that exits (not resident) never rotates into a record it
// cannot write; a store that cannot reserve and then fails the save says
// plainly that the new tokens are lost.
func TestCommandThatCannotSaveSaysSo(t *testing.T) {
	p := newLCProvider(t)
	p.seed(t, lcT0.Add(-time.Minute)) // expired: a refresh is wanted whatever the disk says
	m, fs := faultyManager(p, false)
	fs.SetFull(true)
	if _, err := m.ForceRefresh(context.Background()); !errors.Is(err, ErrTransient) {
		t.Fatalf("ForceRefresh on a full disk = %v, want a temporary error", err)
	}
	if n := p.srv.Counts().Token; n != 0 {
		t.Fatalf("%d token calls although nothing could keep their answer", n)
	}

	// A store without reservations finds out only after the rotation.
	failing := &countingStore{Store: p.store, failSaves: 1}
	m2 := NewManager(ManagerOptions{Provider: "demo", Refresher: p.cfg, Store: failing, Clock: p.clock})
	c, err := m2.ForceRefresh(context.Background())
	var unsaved *UnsavedError
	if !errors.As(err, &unsaved) || c.AccessToken == "" {
		t.Fatalf("ForceRefresh = %v; want the new credentials and an *UnsavedError", err)
	}
	for _, want := range []string{"could not be written", "lost when this command exits", "auth login demo"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
}

// One refresh per rejected token: a burst of 401s for one token, one after
// another or all at once, renews it once; a 401 for a token already
// replaced just gets the current one.
func TestRejectedTokenIsRefreshedOnce(t *testing.T) {
	for _, concurrent := range []bool{false, true} {
		p := newLCProvider(t)
		seeded := p.seed(t, lcT0.Add(time.Hour))
		m := p.manager(nil)
		ctx := context.Background()
		got := make([]string, 100)
		errs := make([]error, 100)
		var wg sync.WaitGroup
		for i := range 100 {
			call := func() {
				c, err := m.Rejected(ctx, seeded.AccessToken)
				got[i], errs[i] = c.AccessToken, err
			}
			if concurrent {
				wg.Add(1)
				go func() { defer wg.Done(); call() }()
			} else {
				call()
			}
		}
		wg.Wait()
		for i := range 100 {
			if errs[i] != nil || got[i] == seeded.AccessToken || got[i] != got[0] {
				t.Fatalf("concurrent=%v: call %d = %s, %v", concurrent, i, MaskAccess(got[i]), errs[i])
			}
		}
		if c := p.srv.Counts(); c.Refresh != 1 || c.Token != 1 {
			t.Errorf("concurrent=%v: counts %+v, want exactly 1 refresh for 100 rejections", concurrent, c)
		}
	}
}

// The back-off of a failing token endpoint holds for rejections too: ten
// 401s while it answers 503 make one token call.
func TestRejectedHonoursTheBackOff(t *testing.T) {
	p := newLCProvider(t)
	seeded := p.seed(t, lcT0.Add(time.Hour))
	m := p.manager(nil)
	p.srv.InjectTokenFault(fake.FaultUnavailable(), 100)
	for i := range 10 {
		_, err := m.Rejected(context.Background(), seeded.AccessToken)
		var ae *Error
		if !errors.As(err, &ae) || !errors.Is(err, ErrTransient) {
			t.Fatalf("rejection %d: %v, want a temporary error", i, err)
		}
		if i > 0 && ae.RetryAfter <= 0 {
			t.Errorf("rejection %d: no Retry-After for the client", i)
		}
	}
	if n := p.srv.Counts().Token; n != 1 {
		t.Errorf("%d token calls for 10 rejections inside the back-off, want 1", n)
	}
	// Once the back-off has passed, the next rejection may try again.
	p.clock.Advance(backoff(1))
	if _, err := m.Rejected(context.Background(), seeded.AccessToken); !errors.Is(err, ErrTransient) {
		t.Fatalf("after the back-off: %v, want the 503 again", err)
	}
	if n := p.srv.Counts().Token; n != 2 {
		t.Errorf("after the back-off: %d token calls, want 2", n)
	}
}

// A refused refresh is written into the record: another process (another
// Manager on the same store) says "log in again" without asking the
// server, until a login replaces the record.
func TestRefusalIsRecordedForEveryProcess(t *testing.T) {
	p := newLCProvider(t)
	seeded := p.seed(t, lcT0.Add(-time.Minute))
	p.srv.RevokeRefreshToken(seeded.RefreshToken)
	first := p.manager(nil)
	if _, err := first.Token(context.Background()); !errors.Is(err, ErrLoginRequired) {
		t.Fatalf("err = %v, want ErrLoginRequired", err)
	}
	if got := p.stored(t); got.RefreshRefused == nil || got.RefreshRefused.Reason != "invalid_grant" {
		t.Fatalf("stored record does not carry the refusal: %+v", got.RefreshRefused)
	}
	calls := p.srv.Counts().Token

	later := p.manager(nil)
	st := later.Status(context.Background())
	if st.State != StateNeedsLogin || !strings.Contains(st.Reason, "refresh refused — log in again") || st.LastError == "" {
		t.Errorf("a later process says state %s, reason %q, last error %q", st.State, st.Reason, st.LastError)
	}
	if _, err := later.Token(context.Background()); !errors.Is(err, ErrLoginRequired) {
		t.Errorf("later Token = %v, want ErrLoginRequired", err)
	}
	if n := p.srv.Counts().Token; n != calls {
		t.Errorf("the refused token was offered again: %d token calls, want %d", n, calls)
	}

	login := Credentials{AccessToken: "login-access-token-0123456789", RefreshToken: p.srv.IssueRefreshToken(lcClient, ""),
		ExpiresAt: lcT0.Add(time.Hour), ObtainedAt: lcT0}
	if err := later.Save(context.Background(), login); err != nil {
		t.Fatal(err)
	}
	if got := p.stored(t); got.RefreshRefused != nil {
		t.Error("a new login kept the old refusal")
	}
	first.Reload(context.Background())
	if st := first.Status(context.Background()); st.State != StateOK {
		t.Errorf("after a login elsewhere the first process says %s (%s)", st.State, st.Reason)
	}
}

// Reload makes a login, a refresh and a logout made by another process
// this process's truth at once, and announces each once.
func TestReloadFollowsAnotherProcess(t *testing.T) {
	p := newLCProvider(t)
	ours := p.manager(nil)
	other := NewManager(ManagerOptions{Provider: "demo", Refresher: p.cfg, Store: p.store, Clock: p.clock})
	events, cancel := p.bus.Subscribe(16)
	defer cancel()
	ctx := context.Background()
	if _, err := ours.Token(ctx); !errors.Is(err, ErrLoginRequired) {
		t.Fatal(err)
	}

	login := Credentials{AccessToken: "login-access-token-0123456789", RefreshToken: p.srv.IssueRefreshToken(lcClient, ""),
		ExpiresAt: lcT0.Add(time.Hour), ObtainedAt: lcT0}
	if err := other.Save(ctx, login); err != nil {
		t.Fatal(err)
	}
	ours.Reload(ctx)
	ours.Reload(ctx) // a spurious second notice changes nothing
	if tok, _ := ours.Token(ctx); tok != login.AccessToken {
		t.Fatal("the login made elsewhere is not in use")
	}

	renewed, err := other.ForceRefresh(ctx)
	if err != nil {
		t.Fatal(err)
	}
	ours.Reload(ctx)
	if tok, _ := ours.Token(ctx); tok != renewed.AccessToken {
		t.Fatal("the refresh made elsewhere is not in use")
	}

	if err := other.Logout(ctx); err != nil {
		t.Fatal(err)
	}
	ours.Reload(ctx)
	if _, err := ours.Token(ctx); !errors.Is(err, ErrLoginRequired) {
		t.Fatalf("after a logout elsewhere Token = %v, want ErrLoginRequired", err)
	}
	got := kinds(drain(events))
	want := []EventKind{LoginSucceeded, RefreshSucceeded, LoggedOut}
	if len(got) != len(want) {
		t.Fatalf("events %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("events %v, want %v", got, want)
		}
	}
	// Our own save is not announced a second time by Reload.
	if err := ours.Save(ctx, login); err != nil {
		t.Fatal(err)
	}
	drain(events)
	ours.Reload(ctx)
	if evs := drain(events); len(evs) != 0 {
		t.Errorf("Reload after our own save announced %v", kinds(evs))
	}
}

// A request whose token still works is not held up by a refresh stuck
// behind another process's lock: it gets the current token after a brief
// wait, and the refresh completes once the lock is free.
func TestValidTokenIsNotHeldUpByAStuckRefresh(t *testing.T) {
	p := newLCProvider(t)
	dir := t.TempDir()
	disk, err := store.NewFile(dir, store.WithLockTimeout(time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	other, err := store.NewFile(dir)
	if err != nil {
		t.Fatal(err)
	}
	p.store = disk
	seeded := p.seed(t, lcT0.Add(time.Minute)) // inside the grace window
	m := p.manager(nil)
	events, cancel := p.bus.Subscribe(16)
	defer cancel()
	ctx := context.Background()
	unlock, err := other.Lock(ctx, "demo")
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	tok, err := m.Token(ctx)
	held := time.Since(start)
	if err != nil || tok != seeded.AccessToken {
		t.Fatalf("Token = %s, %v; want the current token", MaskAccess(tok), err)
	}
	if held > onDemandWait+5*time.Second {
		t.Errorf("the request was held %v behind the lock", held)
	}
	unlock()
	if !waitKind(ctx, events, RefreshSucceeded) {
		t.Fatal("the refresh never completed once the lock was free")
	}
	if tok, _ := m.Token(ctx); tok == seeded.AccessToken || !p.srv.ValidAccessToken(tok) {
		t.Error("after the refresh the old token is still served")
	}
}

func waitKind(ctx context.Context, ch <-chan Event, kind EventKind) bool {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	for {
		select {
		case e := <-ch:
			if e.Kind == kind {
				return true
			}
		case <-ctx.Done():
			return false
		}
	}
}

// Two resident processes on one full disk: the one that rotated into
// memory marks the stored record superseded, so the other, finding that
// record expired, waits for the newer tokens instead of spending the
// stored refresh token, which the server takes as reuse and answers by
// revoking the grant. Once the disk has room, both serve the newest.
func TestSecondProcessOnAFullDiskLeavesTheSpentRecordAlone(t *testing.T) {
	p := newLCProvider(t)
	ctx := context.Background()
	first, second := twoFileStores(t)
	p.store = first
	p.seed(t, lcT0.Add(30*time.Second)) // urgent: rotated even on a full disk
	disk1, disk2 := store.NewFaulty(first), store.NewFaulty(second)
	disk1.SetFull(true)
	disk2.SetFull(true)

	serve := NewManager(ManagerOptions{Provider: "demo", Refresher: p.cfg, Store: disk1, Clock: p.clock})
	serve.KeepUnsaved(true)
	kept, err := serve.Token(ctx)
	if err != nil || !serve.HasUnsaved() {
		t.Fatalf("first process: Token = %v, unsaved %v; want a token kept in memory", err, serve.HasUnsaved())
	}
	p.clock.Advance(time.Minute) // the record on disk has expired

	dashboard := NewManager(ManagerOptions{Provider: "demo", Refresher: p.cfg, Store: disk2, Clock: p.clock})
	dashboard.KeepUnsaved(true)
	if _, err := dashboard.Token(ctx); err == nil || errors.Is(err, ErrLoginRequired) {
		t.Fatalf("second process: Token error %v; want a temporary failure", err)
	}
	if c := p.srv.Counts(); c.Refresh != 1 || c.Reuse != 0 || p.invalidGrants() != 0 {
		t.Fatalf("server counts %+v, %d refused: want 1 refresh and no reuse", c, p.invalidGrants())
	}
	if st := dashboard.Status(ctx); !strings.Contains(st.LastError, "another ccproxy-tui process holds newer tokens") {
		t.Errorf("second process: last error %q does not say who has the newer tokens", st.LastError)
	}
	third := NewManager(ManagerOptions{Provider: "demo", Refresher: p.cfg, Store: second, Clock: p.clock})
	if st := third.Status(ctx); !strings.Contains(st.Reason, "another ccproxy-tui process holds newer tokens") {
		t.Errorf("a third process's status says %q, not where the newer tokens are", st.Reason)
	}

	disk1.SetFull(false)
	disk2.SetFull(false)
	if _, err := serve.ForceRefresh(ctx); err != nil {
		t.Fatal(err)
	}
	if serve.HasUnsaved() {
		t.Fatal("first process: the kept tokens were not written once the disk had room")
	}
	got, err := dashboard.ForceRefresh(ctx)
	if err != nil {
		t.Fatalf("second process after the disk recovered: %v", err)
	}
	if !p.srv.ValidAccessToken(got.AccessToken) {
		t.Errorf("second process serves %s, which the server does not accept (first kept %s)", MaskAccess(got.AccessToken), MaskAccess(kept))
	}
	if c := p.srv.Counts(); c.Reuse != 0 || p.invalidGrants() != 0 {
		t.Errorf("server counts %+v, %d refused: want no reuse", c, p.invalidGrants())
	}
}

// A request whose token worked when it came, but ran out during its brief
// wait for a slow refresh, waits on for that refresh (as a request with an
// expired token does) instead of failing: the refresh is on its way.
func TestTokenThatRunsOutDuringTheBriefWaitWaitsForTheRefresh(t *testing.T) {
	p := newLCProvider(t)
	seeded := p.seed(t, lcT0.Add(time.Minute)) // inside the grace window, still valid
	m := p.manager(nil)
	p.srv.InjectTokenFault(fake.FaultStall(), 1)
	stalled := p.srv.StallSeen()
	type result struct {
		tok string
		err error
	}
	done := make(chan result, 1)
	go func() {
		tok, err := m.Token(context.Background())
		done <- result{tok, err}
	}()
	<-stalled
	p.clock.Advance(2 * time.Minute) // the token runs out while the refresh stalls
	select {
	case r := <-done:
		t.Fatalf("Token returned %s, %v while its refresh was still on its way", MaskAccess(r.tok), r.err)
	case <-time.After(2 * onDemandWait):
	}
	p.srv.ReleaseStalls()
	r := <-done
	if r.err != nil || r.tok == seeded.AccessToken || !p.srv.ValidAccessToken(r.tok) {
		t.Fatalf("Token = %s, %v; want the refreshed token", MaskAccess(r.tok), r.err)
	}
	if c := p.srv.Counts(); c.Refresh != 1 || c.Reuse != 0 {
		t.Errorf("server counts %+v: want one refresh", c)
	}
}

// A login or a logout in the process that keeps unsaved tokens makes them
// obsolete, and ends their mark in the store with them: otherwise every
// other process would go on refusing to refresh the new record, believing
// newer tokens are held elsewhere.
func TestLoginOrLogoutOverKeptTokensEndsTheirHold(t *testing.T) {
	for _, tc := range []struct {
		name string
		do   func(context.Context, *Manager) error
	}{
		{"login", func(ctx context.Context, m *Manager) error {
			return m.Save(ctx, Credentials{Provider: "demo", AccessToken: "new-login-access-0123456789",
				RefreshToken: "new-login-refresh-0123456789", ExpiresAt: lcT0.Add(time.Hour)})
		}},
		{"logout", func(ctx context.Context, m *Manager) error { return m.Logout(ctx) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := newLCProvider(t)
			ctx := context.Background()
			first, second := twoFileStores(t)
			p.store = first
			p.seed(t, lcT0.Add(30*time.Second)) // urgent: rotated even on a full disk
			disk := store.NewFaulty(first)
			disk.SetFull(true)
			serve := NewManager(ManagerOptions{Provider: "demo", Refresher: p.cfg, Store: disk, Clock: p.clock})
			serve.KeepUnsaved(true)
			if _, err := serve.Token(ctx); err != nil || !serve.HasUnsaved() {
				t.Fatalf("Token = %v, unsaved %v; want a token kept in memory", err, serve.HasUnsaved())
			}
			if !second.HeldElsewhere("demo") {
				t.Fatal("the kept tokens are not marked in the store")
			}
			disk.SetFull(false)
			if err := tc.do(ctx, serve); err != nil {
				t.Fatal(err)
			}
			if serve.HasUnsaved() {
				t.Error("the obsolete kept tokens are still kept")
			}
			if second.HeldElsewhere("demo") {
				t.Error("another process still sees the record held, so it would refuse to refresh it")
			}
		})
	}
}

// twoFileStores opens one credentials folder twice, each handle its own as
// two processes' are.
func twoFileStores(t *testing.T) (first, second *store.File) {
	t.Helper()
	dir := t.TempDir()
	first, err := store.NewFile(dir)
	if err != nil {
		t.Fatal(err)
	}
	second, err = store.NewFile(dir)
	if err != nil {
		t.Fatal(err)
	}
	return first, second
}
