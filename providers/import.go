package providers

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/ccproxy-tui/ccproxy-tui/auth"
)

// ErrNoImportSource means the official CLI's credential file is not there:
// nothing to import, not a failure of the file.
var ErrNoImportSource = errors.New("no credentials of the official CLI found")

// ImportOptions says where the official CLIs keep their files. Zero values
// mean the real environment; tests point Home and Getenv at testdata.
type ImportOptions struct {
	// Home replaces the user's home directory.
	Home string
	// Getenv replaces os.Getenv (CODEX_HOME, XDG_CONFIG_HOME).
	Getenv func(string) string
	// Clock stamps ObtainedAt.
	Clock clockwork.Clock
}

// ImportPlan is what `auth import` would adopt. Reading never changes the
// official CLI's file, and nothing is stored until the caller saves
// Credentials — after showing Warning, which says what the adoption costs.
type ImportPlan struct {
	Provider string
	// Source is the file the credentials come from.
	Source      string
	Credentials auth.Credentials
	// Warning must be shown before the credentials are saved.
	Warning string
}

// maxImportFile bounds what is read from a credential file.
const maxImportFile = 1 << 20

var importers = map[string]func(importEnv) (*ImportPlan, error){
	Claude:  importClaude,
	Codex:   importCodex,
	Copilot: importCopilot,
}

// Import reads the credentials the official CLI of provider name holds and
// returns them as a plan. An unknown name is an *UnknownProviderError; a
// missing file wraps ErrNoImportSource; an unreadable or unexpected file is
// an error naming the file, never quoting it.
func Import(name string, opts ImportOptions) (*ImportPlan, error) {
	imp, ok := importers[name]
	if !ok {
		return nil, unknownError(name, builtinNames, "import knows the official CLIs of these providers")
	}
	env, err := newImportEnv(opts)
	if err != nil {
		return nil, err
	}
	return imp(env)
}

// ImportAll plans an import for every provider whose official CLI has
// credentials here, in the registry's order. Providers without a file are
// skipped; broken files are reported together in the error, beside the
// plans that worked.
func ImportAll(opts ImportOptions) ([]*ImportPlan, error) {
	var plans []*ImportPlan
	var errs []error
	for _, name := range builtinNames {
		p, err := Import(name, opts)
		switch {
		case errors.Is(err, ErrNoImportSource):
		case err != nil:
			errs = append(errs, err)
		default:
			plans = append(plans, p)
		}
	}
	return plans, errors.Join(errs...)
}

type importEnv struct {
	home   string
	getenv func(string) string
	now    time.Time
}

func newImportEnv(o ImportOptions) (importEnv, error) {
	env := importEnv{home: o.Home, getenv: o.Getenv}
	if env.getenv == nil {
		env.getenv = os.Getenv
	}
	if env.home == "" {
		h, err := os.UserHomeDir()
		if err != nil {
			return env, fmt.Errorf("import: no home directory: %w", err)
		}
		env.home = h
	}
	clock := o.Clock
	if clock == nil {
		clock = clockwork.NewRealClock()
	}
	env.now = clock.Now()
	return env, nil
}

// readImportFile reads the first existing file of paths as JSON into v and
// returns its path. Errors name the file and never quote its content.
func readImportFile(provider string, v any, paths ...string) (string, error) {
	for _, path := range paths {
		f, err := os.Open(path)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return path, fmt.Errorf("import %s: cannot read %s: %w", provider, path, pathErrReason(err))
		}
		blob, err := io.ReadAll(io.LimitReader(f, maxImportFile+1))
		f.Close()
		if err != nil {
			return path, fmt.Errorf("import %s: cannot read %s: %w", provider, path, pathErrReason(err))
		}
		if len(blob) > maxImportFile {
			return path, fmt.Errorf("import %s: %s is larger than 1 MiB; not a credential file", provider, path)
		}
		if err := json.Unmarshal(blob, v); err != nil {
			return path, fmt.Errorf("import %s: %s is not the expected JSON (%s)", provider, path, jsonReason(err))
		}
		return path, nil
	}
	return "", fmt.Errorf("import %s: looked in %s: %w", provider, strings.Join(paths, ", "), ErrNoImportSource)
}

// pathErrReason drops the path an *os.PathError repeats.
func pathErrReason(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// jsonReason says what is wrong without quoting any value.
func jsonReason(err error) string {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		return fmt.Sprintf("syntax error at byte %d", syn.Offset)
	case errors.As(err, &typ) && typ.Field == "":
		return fmt.Sprintf("the document is a JSON %s, not an object", typ.Value)
	case errors.As(err, &typ):
		return fmt.Sprintf("field %q is a JSON %s", typ.Field, typ.Value)
	case errors.Is(err, io.ErrUnexpectedEOF):
		return "the file ends early"
	}
	return "unreadable JSON"
}

// rotationWarning is the warning for providers whose refresh tokens rotate.
func rotationWarning(cli, path, provider string) string {
	return fmt.Sprintf("%s rotates its refresh tokens: the first time ccproxy-tui refreshes this login, "+
		"the copy in %s stops working and %s will ask you to log in again. "+
		"To keep both signed in, use `ccproxy-tui auth login %s` instead.", cli, path, cli, provider)
}

// Claude Code's file. Claude Code is closed source: the shape comes from
// third-party readers, consistent with one another but unverified.
type claudeCodeFile struct {
	ClaudeAiOauth *struct {
		AccessToken      string   `json:"accessToken"`
		RefreshToken     string   `json:"refreshToken"`
		ExpiresAt        float64  `json:"expiresAt"`
		Scopes           []string `json:"scopes"`
		SubscriptionType string   `json:"subscriptionType"`
	} `json:"claudeAiOauth"`
}

type claudeCodeAccount struct {
	OAuthAccount struct {
		AccountUUID      string `json:"accountUuid"`
		EmailAddress     string `json:"emailAddress"`
		OrganizationUUID string `json:"organizationUuid"`
	} `json:"oauthAccount"`
}

func importClaude(env importEnv) (*ImportPlan, error) {
	var f claudeCodeFile
	path, err := readImportFile(Claude, &f,
		filepath.Join(env.home, ".claude", ".credentials.json"),
		filepath.Join(env.home, ".config", "claude", ".credentials.json"))
	if err != nil {
		return nil, err
	}
	o := f.ClaudeAiOauth
	if o == nil || o.AccessToken == "" {
		return nil, fmt.Errorf("import claude: %s has no claudeAiOauth login (log in with Claude Code first, or use `ccproxy-tui auth login claude`)", path)
	}
	c := auth.Credentials{
		Version:      1,
		Provider:     Claude,
		AccessToken:  o.AccessToken,
		RefreshToken: o.RefreshToken,
		TokenType:    "Bearer",
		ExpiresAt:    epochMillis(o.ExpiresAt),
		Scopes:       slices.Clone(o.Scopes),
		Plan:         o.SubscriptionType,
		ObtainedAt:   env.now,
		Extra:        map[string]string{"imported_from": path},
	}
	// The account lives beside the credentials, in ~/.claude.json; it is
	// optional, so a missing or odd file only leaves the account empty.
	var acct claudeCodeAccount
	if _, err := readImportFile(Claude, &acct, filepath.Join(env.home, ".claude.json")); err == nil {
		c.AccountID = acct.OAuthAccount.AccountUUID
		c.Email = acct.OAuthAccount.EmailAddress
		if acct.OAuthAccount.OrganizationUUID != "" {
			c.Extra["organization_id"] = acct.OAuthAccount.OrganizationUUID
		}
	}
	return &ImportPlan{Provider: Claude, Source: path, Credentials: c,
		Warning: rotationWarning("Claude Code", path, Claude)}, nil
}

// epochMillis reads Claude Code's expiresAt (milliseconds); a value too small
// to be milliseconds is taken as seconds.
func epochMillis(v float64) time.Time {
	switch {
	case v <= 0:
		return time.Time{}
	case v < 1e12:
		return time.Unix(int64(v), 0).UTC()
	default:
		return time.UnixMilli(int64(v)).UTC()
	}
}

// The Codex CLI's auth.json (openai/codex storage.rs, VERIFIED).
type codexAuthFile struct {
	AuthMode string `json:"auth_mode"`
	Tokens   *struct {
		IDToken      string `json:"id_token"`
		AccessToken  string `json:"access_token"`
		RefreshToken string `json:"refresh_token"`
		AccountID    string `json:"account_id"`
	} `json:"tokens"`
	LastRefresh string `json:"last_refresh"`
}

func importCodex(env importEnv) (*ImportPlan, error) {
	dir := env.getenv("CODEX_HOME")
	if dir == "" {
		dir = filepath.Join(env.home, ".codex")
	}
	var f codexAuthFile
	path, err := readImportFile(Codex, &f, filepath.Join(dir, "auth.json"))
	if err != nil {
		return nil, err
	}
	t := f.Tokens
	if t == nil || t.AccessToken == "" {
		if f.AuthMode != "" && f.AuthMode != "chatgpt" {
			return nil, fmt.Errorf("import codex: %s holds an %s login, not a ChatGPT sign-in; nothing to import", path, f.AuthMode)
		}
		return nil, fmt.Errorf("import codex: %s has no ChatGPT tokens", path)
	}
	exp := jwtExpiry(t.AccessToken)
	if exp.IsZero() {
		return nil, fmt.Errorf("import codex: the access token in %s is not a JWT with an expiry; the file is not in the expected format", path)
	}
	id := codexIdentityOf(t.IDToken, t.AccessToken)
	if id.AccountID == "" {
		id.AccountID = t.AccountID
	}
	c := auth.Credentials{
		Version:      1,
		Provider:     Codex,
		AccessToken:  t.AccessToken,
		RefreshToken: t.RefreshToken,
		IDToken:      t.IDToken,
		TokenType:    "Bearer",
		ExpiresAt:    exp,
		AccountID:    id.AccountID,
		Email:        id.Email,
		Plan:         id.Plan,
		ObtainedAt:   env.now,
		Extra:        map[string]string{"imported_from": path},
	}
	if id.UserID != "" {
		c.Extra["chatgpt_user_id"] = id.UserID
	}
	if lr, err := time.Parse(time.RFC3339, f.LastRefresh); err == nil {
		c.LastRefresh = lr.UTC()
	}
	return &ImportPlan{Provider: Codex, Source: path, Credentials: c,
		Warning: rotationWarning("The Codex CLI", path, Codex) +
			" Codex refresh tokens are single-use, so this cannot be undone by copying the file back."}, nil
}

// Copilot's editor-plugin files (closed source; the shape comes from
// third-party readers): apps.json
// keyed "<host>:<client id>", hosts.json keyed "<host>".
type copilotEntry struct {
	User       string `json:"user"`
	OAuthToken string `json:"oauth_token"`
	AppID      string `json:"githubAppId"`
}

func importCopilot(env importEnv) (*ImportPlan, error) {
	base := env.getenv("XDG_CONFIG_HOME")
	if base == "" {
		base = filepath.Join(env.home, ".config")
	}
	dir := filepath.Join(base, "github-copilot")
	type candidate struct {
		path  string
		key   string
		entry copilotEntry
	}
	var found []candidate
	var looked []string
	for _, name := range []string{"apps.json", "hosts.json"} {
		var entries map[string]copilotEntry
		path, err := readImportFile(Copilot, &entries, filepath.Join(dir, name))
		looked = append(looked, filepath.Join(dir, name))
		if errors.Is(err, ErrNoImportSource) {
			continue
		}
		if err != nil {
			return nil, err
		}
		keys := slices.Sorted(func(yield func(string) bool) {
			for k := range entries {
				if !yield(k) {
					return
				}
			}
		})
		for _, k := range keys {
			host, _, _ := strings.Cut(k, ":")
			if host == "github.com" && entries[k].OAuthToken != "" {
				found = append(found, candidate{path, k, entries[k]})
			}
		}
	}
	if len(found) == 0 {
		if len(looked) > 0 && fileExists(looked...) {
			return nil, fmt.Errorf("import copilot: no github.com token in %s", strings.Join(existing(looked), ", "))
		}
		return nil, fmt.Errorf("import copilot: looked in %s: %w", strings.Join(looked, ", "), ErrNoImportSource)
	}
	// Prefer GitHub App user tokens (ghu_), which the Copilot token endpoint
	// accepts; then the VS Code app's entry; then file order.
	rank := func(c candidate) int {
		r := 2
		if strings.HasPrefix(c.entry.OAuthToken, "ghu_") {
			r = 0
		} else if strings.HasSuffix(c.key, ":"+copilotClientID) {
			r = 1
		}
		return r
	}
	best := slices.MinFunc(found, func(a, b candidate) int { return rank(a) - rank(b) })
	c := auth.Credentials{
		Version:      1,
		Provider:     Copilot,
		RefreshToken: best.entry.OAuthToken,
		AccountID:    best.entry.User,
		ObtainedAt:   env.now,
		Extra:        map[string]string{"imported_from": best.path},
	}
	return &ImportPlan{Provider: Copilot, Source: best.path, Credentials: c,
		Warning: fmt.Sprintf("The GitHub token in %s is shared with your editor's Copilot plugin. It does not rotate, "+
			"so both keep working, but revoking it on GitHub signs out both.", best.path)}, nil
}

func fileExists(paths ...string) bool { return len(existing(paths)) > 0 }

func existing(paths []string) []string {
	var out []string
	for _, p := range paths {
		if _, err := os.Stat(p); err == nil {
			out = append(out, p)
		}
	}
	return out
}
