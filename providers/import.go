package providers

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
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

// Import reads the credentials the official CLI of provider name holds and
// returns them as a plan. An unknown name is an *UnknownProviderError; a
// missing file wraps ErrNoImportSource; an unreadable or unexpected file is
// an error naming the file, never quoting it.
func Import(name string, opts ImportOptions) (*ImportPlan, error) {
	b := lookupBuiltin(name)
	if b == nil || b.importer == nil {
		return nil, unknownError(name, importable(), "import knows the official CLIs of these providers")
	}
	env, err := newImportEnv(opts)
	if err != nil {
		return nil, err
	}
	return b.importer(env)
}

// ImportAll plans an import for every provider whose official CLI has
// credentials here, in the registry's order. Providers without a file are
// skipped; broken files are reported together in the error, beside the
// plans that worked.
func ImportAll(opts ImportOptions) ([]*ImportPlan, error) {
	var plans []*ImportPlan
	var errs []error
	for _, name := range importable() {
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

// importable names the built-ins whose official CLI's file import reads.
func importable() []string {
	var out []string
	for _, b := range builtins {
		if b.importer != nil {
			out = append(out, b.name)
		}
	}
	return out
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
