package app

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"

	"github.com/ccproxy-tui/ccproxy-tui/accounts"
	"github.com/ccproxy-tui/ccproxy-tui/auth"
	"github.com/ccproxy-tui/ccproxy-tui/providers"
	"github.com/ccproxy-tui/ccproxy-tui/proxy"
	"github.com/ccproxy-tui/ccproxy-tui/store"
)

// accountSet is one provider's accounts, each with its own auth.Manager,
// as the store last said.
type accountSet struct {
	p *providers.Provider
	// legacy serves the provider's record in the released layout: it is
	// what the provider shows while it has no account (nothing stored, or
	// a record this build could not move, such as a newer build's).
	legacy *auth.Manager

	syncMu sync.Mutex // serialises syncs
	mu     sync.Mutex // guards byName, names, active, migrateErr
	byName map[string]*auth.Manager
	names  []string // sorted
	active string
	// migrateErr is why the released record could not be moved into an
	// account, shown in the provider's status until it is resolved.
	migrateErr error
}

// splitSelector reads "claude" or "claude@work": a provider, and an
// account ("" meaning the active one).
func splitSelector(sel string) (provider, account string) {
	provider, account, _ = strings.Cut(sel, "@")
	return provider, account
}

// newManager builds the Manager of one account ("" for the released record).
func (a *App) newManager(p *providers.Provider, account string) *auth.Manager {
	st := a.store
	if account != "" {
		st = accounts.View(a.store, p.Name, account)
	}
	m := auth.NewManager(auth.ManagerOptions{
		Provider:  p.Name,
		Account:   account,
		Refresher: p,
		Store:     st,
		Clock:     a.clock,
		Grace:     a.cfg.Refresh.Grace.Duration,
		CacheTTL:  a.cfg.Refresh.Cache.Duration,
		Bus:       a.bus,
	})
	m.KeepUnsaved(a.running.Load())
	return m
}

// openAccounts moves the provider's released record into an account (a
// no-op once done) and reads which accounts it has.
func (a *App) openAccounts(ctx context.Context, p *providers.Provider) *accountSet {
	set := &accountSet{p: p, legacy: a.newManager(p, ""), byName: map[string]*auth.Manager{}}
	a.scheduler.Add(set.legacy)
	a.migrate(ctx, set)
	if err := a.sync(ctx, set); err != nil {
		a.log.Warn("credentials store: could not list accounts", "provider", p.Name, "err", err.Error())
	}
	return set
}

// migrate moves the released record of set's provider into an account,
// returning the account's name ("" when nothing moved).
func (a *App) migrate(ctx context.Context, set *accountSet) string {
	name, err := a.book.Migrate(ctx, set.p.Name)
	set.mu.Lock()
	set.migrateErr = err
	set.mu.Unlock()
	switch {
	case err != nil:
		a.log.Warn("credentials: the released record was not moved into an account", "provider", set.p.Name, "err", err.Error())
	case name != "":
		a.log.Info("credentials: moved into an account", "provider", set.p.Name, "account", name)
	}
	return name
}

// sync makes set match the store: a Manager for every account stored, none
// for an account gone, and the active account the store records.
func (a *App) sync(ctx context.Context, set *accountSet) error {
	return a.syncing(ctx, set, false)
}

// syncing is sync; with announce, each account new to this process is read
// (Manager.Reload) before anything else can use it, which announces the
// login made elsewhere.
func (a *App) syncing(ctx context.Context, set *accountSet, announce bool) error {
	// One at a time, so a slow sync never applies an older listing over
	// a newer one.
	set.syncMu.Lock()
	defer set.syncMu.Unlock()
	names, err := a.book.List(ctx, set.p.Name)
	if err != nil {
		return err
	}
	active := a.book.Active(ctx, set.p.Name, names)
	set.mu.Lock()
	var missing []string
	for _, n := range names {
		if set.byName[n] == nil {
			missing = append(missing, n)
		}
	}
	set.mu.Unlock()
	fresh := make([]*auth.Manager, 0, len(missing))
	for _, n := range missing {
		m := a.newManager(set.p, n)
		if announce {
			m.Reload(ctx)
		}
		fresh = append(fresh, m)
	}

	set.mu.Lock()
	for _, m := range fresh {
		set.byName[m.Account()] = m
	}
	var gone []string
	for n := range set.byName {
		if !slices.Contains(names, n) {
			delete(set.byName, n)
			gone = append(gone, n)
		}
	}
	switched := active != "" && active != set.active
	set.names, set.active = names, active
	set.mu.Unlock()

	for _, m := range fresh {
		a.scheduler.Add(m)
	}
	for _, n := range gone {
		a.scheduler.Remove(store.AccountKey(set.p.Name, n))
	}
	if switched {
		a.bus.Publish(auth.Event{Time: a.clock.Now(), Provider: set.p.Name, Account: active, Kind: auth.Switched,
			Message: "requests now use account " + active})
	}
	return nil
}

// managers lists every Manager of set, the released record's first.
func (set *accountSet) managers() []*auth.Manager {
	set.mu.Lock()
	defer set.mu.Unlock()
	out := []*auth.Manager{set.legacy}
	for _, n := range set.names {
		out = append(out, set.byName[n])
	}
	return out
}

// serving lists the Managers that serve requests: every account's, or
// the released record's while the provider has no account.
func (set *accountSet) serving() []*auth.Manager {
	all := set.managers()
	if len(all) > 1 {
		return all[1:]
	}
	return all
}

// pick returns the Manager of account ("" for the active one) and the
// account's name; ok is false when set has no such account.
func (set *accountSet) pick(account string) (*auth.Manager, string, bool) {
	set.mu.Lock()
	defer set.mu.Unlock()
	if account == "" {
		if len(set.names) == 0 {
			return set.legacy, "", true
		}
		account = set.active
	}
	m, ok := set.byName[account]
	return m, account, ok
}

func (set *accountSet) unknown(account string) error {
	set.mu.Lock()
	defer set.mu.Unlock()
	return &accounts.UnknownError{Provider: set.p.Name, Account: account, Known: slices.Clone(set.names)}
}

// resolve finds the Manager a selector ("claude", "claude@work") means.
// An account this process has not seen yet, or any account of a provider
// it knows none of, is looked up in the store once (another process may
// have just logged it in).
func (a *App) resolve(ctx context.Context, sel string) (*accountSet, *auth.Manager, string, error) {
	provider, account := splitSelector(sel)
	p, err := a.registry.Get(provider)
	if err != nil {
		return nil, nil, "", err
	}
	set := a.sets[p.Name]
	if account != "" {
		if err := accounts.Check(account); err != nil {
			return nil, nil, "", err
		}
	}
	// A provider without accounts here may have gained one in another
	// process (a login, or the move of a released record).
	if m, name, ok := set.pick(account); ok && (name != "" || account != "") {
		return set, m, name, nil
	}
	if err := a.sync(ctx, set); err != nil {
		return nil, nil, "", err
	}
	if m, name, ok := set.pick(account); ok {
		return set, m, name, nil
	}
	return nil, nil, "", set.unknown(account)
}

// statuses reports set's accounts, marking the active one; a provider
// without accounts is its released record's status.
func (a *App) statuses(ctx context.Context, set *accountSet) []auth.Status {
	set.mu.Lock()
	names, active, merr := slices.Clone(set.names), set.active, set.migrateErr
	ms := make([]*auth.Manager, len(names))
	for i, n := range names {
		ms[i] = set.byName[n]
	}
	set.mu.Unlock()
	var out []auth.Status
	if len(names) == 0 || merr != nil {
		out = append(out, set.legacy.Status(ctx))
	}
	for i, m := range ms {
		st := accountAdvice(m.Status(ctx))
		st.Active = names[i] == active
		out = append(out, st)
	}
	return out
}

// accountAdvice makes the login advice in an account's status name the
// account, so following it logs that account in again instead of adding
// one named after whatever identity answers.
func accountAdvice(st auth.Status) auth.Status {
	if st.Account == "" {
		return st
	}
	fix := func(s string) string {
		bare := "ccproxy-tui auth login " + st.Provider
		named := bare + " --account " + st.Account
		if strings.Contains(s, named) {
			return s
		}
		var b strings.Builder
		for {
			i := strings.Index(s, bare)
			if i < 0 {
				b.WriteString(s)
				return b.String()
			}
			end := i + len(bare)
			b.WriteString(s[:end])
			// Only the whole command: "auth login corp" and not "auth login corpus".
			if end == len(s) || !isNameByte(s[end]) {
				b.WriteString(" --account " + st.Account)
			}
			s = s[end:]
		}
	}
	st.Reason, st.LastError = fix(st.Reason), fix(st.LastError)
	return st
}

func isNameByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_'
}

// Accounts lists the provider's accounts and the active one.
func (a *App) Accounts(ctx context.Context, provider string) (names []string, active string, err error) {
	p, err := a.registry.Get(provider)
	if err != nil {
		return nil, "", err
	}
	set := a.sets[p.Name]
	if err := a.sync(ctx, set); err != nil {
		return nil, "", err
	}
	set.mu.Lock()
	defer set.mu.Unlock()
	return slices.Clone(set.names), set.active, nil
}

// Switch makes account the provider's active one, for every process.
func (a *App) Switch(ctx context.Context, provider, account string) error {
	set, _, name, err := a.resolve(ctx, provider+"@"+account)
	if err != nil {
		return err
	}
	if err := a.book.SetActive(ctx, set.p.Name, name); err != nil {
		return err
	}
	return a.sync(ctx, set)
}

// AccountFor is the account a login's credentials c are saved as: the one
// the selector names, else the one their identity names.
func AccountFor(sel string, c auth.Credentials) string {
	if _, account := splitSelector(sel); account != "" {
		return account
	}
	return accounts.FromIdentity(c)
}

// saveLogin saves a login's credentials as the account sel names (or
// their identity names), adding it when new, and makes it active, as gh
// does. It returns the account's name.
func (a *App) saveLogin(ctx context.Context, sel string, c auth.Credentials) (string, error) {
	provider, _ := splitSelector(sel)
	p, err := a.registry.Get(provider)
	if err != nil {
		return "", err
	}
	name := AccountFor(sel, c)
	if err := accounts.Check(name); err != nil {
		return "", err
	}
	set := a.sets[p.Name]
	set.mu.Lock()
	m := set.byName[name]
	if m == nil {
		m = a.newManager(p, name)
	}
	set.mu.Unlock()
	if err := m.Save(ctx, c); err != nil {
		return "", err
	}
	if err := a.book.SetActive(ctx, p.Name, name); err != nil {
		return "", fmt.Errorf("logged in to %s as account %s, but could not make it active: %w", p.Name, name, err)
	}
	set.mu.Lock()
	if set.byName[name] == nil {
		set.byName[name] = m
		a.scheduler.Add(m)
	}
	set.mu.Unlock()
	return name, a.sync(ctx, set)
}

// logout revokes the refresh token of m's account where the provider can,
// then deletes its local credentials whatever the server answered.
func (a *App) logout(ctx context.Context, p *providers.Provider, m *auth.Manager) (auth.Revocation, error) {
	return m.LogoutRevoking(ctx, func(ctx context.Context, c auth.Credentials) auth.Revocation {
		cfg, err := p.OAuthConfig(ctx)
		if err != nil {
			return auth.Revocation{Endpoint: p.OAuth.RevocationURL, Err: err}
		}
		return cfg.Revoke(ctx, c)
	})
}

// LogoutAll logs out of every account of the provider (and its released
// record, if one is left), as Logout does each, and returns each
// account's revocation by name ("" for the released record).
func (a *App) LogoutAll(ctx context.Context, provider string) (map[string]auth.Revocation, error) {
	p, err := a.registry.Get(provider)
	if err != nil {
		return nil, err
	}
	set := a.sets[p.Name]
	if err := a.sync(ctx, set); err != nil {
		return nil, err
	}
	revs := map[string]auth.Revocation{}
	var errs []error
	for _, m := range set.managers() {
		if m.Account() == "" && m.Status(ctx).AccessTokenPreview == "" {
			continue // no released record left
		}
		rev, err := a.logout(ctx, p, m)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		revs[m.Account()] = rev
	}
	return revs, errors.Join(append(errs, a.sync(ctx, set))...)
}

// afterLogout keeps the active record pointing at an account that exists
// once the active one is gone, so every process agrees on the next.
func (a *App) afterLogout(ctx context.Context, set *accountSet, gone string) error {
	set.mu.Lock()
	wasActive := set.active == gone
	set.mu.Unlock()
	if err := a.sync(ctx, set); err != nil {
		return err
	}
	set.mu.Lock()
	next := ""
	if wasActive && len(set.names) > 0 {
		next = set.names[0]
	}
	set.mu.Unlock()
	if next == "" {
		return nil
	}
	return a.book.SetActive(ctx, set.p.Name, next)
}

// changed follows a change another process made to a store key: a
// refresh, login or logout of an account, a switch, or a released build
// writing its record again.
func (a *App) changed(ctx context.Context, key string) {
	if key == "" {
		a.changedAll(ctx)
		return
	}
	k, ok := accounts.ParseKey(key)
	if !ok {
		return
	}
	set := a.sets[k.Provider]
	if set == nil {
		return
	}
	switch {
	case k.Active:
	case k.Account == "":
		// Moved at once, so requests never use a record about to go.
		if a.migrate(ctx, set) == "" {
			set.legacy.Reload(ctx)
		}
	default:
		if m, _, ok := set.pick(k.Account); ok {
			m.Reload(ctx)
		}
	}
	if err := a.syncing(ctx, set, true); err != nil {
		a.log.Warn("credentials store: could not list accounts", "provider", k.Provider, "err", err.Error())
	}
}

// route is how the proxy reaches a provider's accounts.
type route struct {
	a   *App
	set *accountSet
}

// Account implements proxy.AccountSource.
func (r route) Account(ctx context.Context, name string) (string, proxy.TokenSource, error) {
	sel := r.set.p.Name
	if name != "" {
		if accounts.Check(name) != nil {
			// No account can have that name: the route is unknown.
			return "", nil, r.set.unknown(name)
		}
		sel += "@" + name
	}
	_, m, account, err := r.a.resolve(ctx, sel)
	if err != nil {
		return "", nil, err
	}
	return account, m, nil
}

// Fallback implements proxy.Failover: with failover on for the provider,
// the first account after from (in name order, wrapping around) that is
// logged in and whose latest quota is not rejected. An account with no
// quota reading yet counts as having headroom.
func (r route) Fallback(ctx context.Context, from string) (string, proxy.TokenSource, bool) {
	if !r.a.cfg.Providers[r.set.p.Name].Failover || from == "" {
		return "", nil, false
	}
	r.set.mu.Lock()
	names := slices.Clone(r.set.names)
	byName := maps.Clone(r.set.byName)
	r.set.mu.Unlock()
	latest, err := r.a.quota.Latest(ctx)
	if err != nil {
		r.a.log.Warn("failover: quota readings of other processes unavailable", "provider", r.set.p.Name, "err", err.Error())
	}
	exhausted := map[string]bool{}
	for _, q := range latest {
		if q.Provider == r.set.p.Name && q.Rejected() {
			exhausted[q.Account] = true
		}
	}
	start := slices.Index(names, from) // -1 when from is gone: all are candidates
	for i := range names {
		name := names[(start+1+i)%len(names)]
		m := byName[name]
		if name == from || m == nil || exhausted[name] {
			continue
		}
		if c, err := m.Credentials(ctx); err != nil || c.AccessToken == "" {
			continue
		}
		return name, m, true
	}
	return "", nil, false
}

// changedAll follows whatever another process did before the store's
// watch was in place (between this App's first read and Run): every
// provider's records are read again, and its accounts listed again.
func (a *App) changedAll(ctx context.Context) {
	for _, set := range a.sets {
		if a.migrate(ctx, set) == "" {
			set.legacy.Reload(ctx)
		}
		if err := a.syncing(ctx, set, true); err != nil {
			a.log.Warn("credentials store: could not list accounts", "provider", set.p.Name, "err", err.Error())
		}
		for _, m := range set.managers()[1:] {
			m.Reload(ctx)
		}
	}
}
