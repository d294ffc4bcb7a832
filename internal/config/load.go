package config

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/BurntSushi/toml"
	"github.com/adrg/xdg"

	"github.com/ccproxy-tui/ccproxy-tui/providers"
)

// EnvConfig names the variable that points at a config file when --config is
// not given.
const EnvConfig = "CCPROXY_TUI_CONFIG"

// The environment variables that override single settings of the file (and
// are overridden by command-line flags).
const (
	EnvListen  = "CCPROXY_TUI_LISTEN"  // proxy.listen
	EnvAPIKey  = "CCPROXY_TUI_API_KEY" // proxy.api_key
	EnvBackend = "CCPROXY_TUI_STORE"   // store.backend
	EnvGrace   = "CCPROXY_TUI_GRACE"   // refresh.grace
)

// Error is a config problem a user fixes by editing the file: it names the
// file, the line (0 when unknown) and the key.
type Error struct {
	File string
	Line int
	Key  string
	Msg  string
	// Err is the cause when another package found the problem (an
	// unknown provider name), for callers that branch on it.
	Err error
}

func (e *Error) Error() string {
	var b strings.Builder
	if e.File != "" {
		b.WriteString(e.File)
		if e.Line > 0 {
			fmt.Fprintf(&b, ":%d", e.Line)
		}
		b.WriteString(": ")
	}
	if e.Key != "" {
		b.WriteString(e.Key)
		b.WriteString(": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

// Unwrap is the cause, when there is one.
func (e *Error) Unwrap() error { return e.Err }

// decodeErrRE takes apart the plain errors toml returns for type mismatches
// and failed UnmarshalText calls: `toml: line 2 (last key "a.b"): message`.
var decodeErrRE = regexp.MustCompile(`^toml: line (\d+) \(last key "([^"]*)"\): (.*)$`)

// DefaultPath is where the config file lives when neither --config nor
// CCPROXY_TUI_CONFIG says otherwise.
func DefaultPath() string {
	return filepath.Join(xdg.ConfigHome, "ccproxy-tui", "config.toml")
}

// Path picks the config file: the --config flag, then CCPROXY_TUI_CONFIG,
// then DefaultPath. getenv is os.Getenv outside tests.
func Path(flag string, getenv func(string) string) string {
	if flag != "" {
		return flag
	}
	if v := getenv(EnvConfig); v != "" {
		return v
	}
	return DefaultPath()
}

// Load reads the file at path over Default and validates the result. A file
// that does not exist yields the defaults; anything else wrong with it is an
// *Error naming the file, line and key.
func Load(path string) (Config, error) {
	cfg := Default()
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return cfg, nil
	}
	if err != nil {
		return cfg, &Error{File: path, Msg: fmt.Sprintf("cannot read: %v", unwrapPath(err))}
	}
	if err := Parse(path, data, &cfg); err != nil {
		return cfg, err
	}
	if info, err := os.Stat(path); err == nil && info.Mode().Perm()&0o077 != 0 {
		if key := cfg.secretKey(); key != "" {
			cfg.notes = append(cfg.notes, fmt.Sprintf("%s holds a secret (%s) but others may read it (mode %04o); run: chmod 600 %s",
				path, key, info.Mode().Perm(), path))
		}
	}
	return cfg, nil
}

// secretKey names the first key of c that holds a secret, or "".
func (c *Config) secretKey() string {
	if c.Proxy.APIKey != "" {
		return "proxy.api_key"
	}
	names := make([]string, 0, len(c.Providers))
	for name, p := range c.Providers {
		if p.ClientSecret != "" {
			names = append(names, name)
		}
	}
	if len(names) == 0 {
		return ""
	}
	slices.Sort(names)
	return "providers." + names[0] + ".client_secret"
}

// Parse decodes data (the contents of file, named in errors) onto cfg and
// validates it.
func Parse(file string, data []byte, cfg *Config) error {
	md, err := toml.Decode(string(data), cfg)
	if err != nil {
		var pe toml.ParseError
		if errors.As(err, &pe) {
			msg := pe.Message
			if msg == "" {
				msg = err.Error()
			}
			return &Error{File: file, Line: pe.Position.Line, Key: pe.LastKey, Msg: msg}
		}
		if m := decodeErrRE.FindStringSubmatch(err.Error()); m != nil {
			line, _ := strconv.Atoi(m[1])
			return &Error{File: file, Line: line, Key: m[2], Msg: m[3]}
		}
		return &Error{File: file, Msg: err.Error()}
	}
	if un := md.Undecoded(); len(un) > 0 {
		k := un[0]
		return &Error{File: file, Line: keyLine(data, k), Key: k.String(), Msg: "unknown key"}
	}
	if cfg.Providers == nil {
		cfg.Providers = map[string]Provider{}
	}
	if err := cfg.Validate(); err != nil {
		var ce *Error
		if errors.As(err, &ce) {
			ce.File = file
			ce.Line = keyLine(data, strings.Split(ce.Key, "."))
		}
		return err
	}
	return nil
}

// ApplyEnv overlays the CCPROXY_TUI_* variables listed above on c and
// validates the values they set.
func (c *Config) ApplyEnv(getenv func(string) string) error {
	if v := getenv(EnvListen); v != "" {
		c.Proxy.Listen = v
	}
	if v := getenv(EnvAPIKey); v != "" {
		c.Proxy.APIKey = v
	}
	if v := getenv(EnvBackend); v != "" {
		c.Store.Backend = v
	}
	if v := getenv(EnvGrace); v != "" {
		var d Duration
		if err := d.UnmarshalText([]byte(v)); err != nil {
			return &Error{Key: EnvGrace, Msg: err.Error()}
		}
		c.Refresh.Grace = d
	}
	// The variables set no provider key, so only the settings are checked
	// again.
	if err := c.validateSettings(); err != nil {
		return fmt.Errorf("environment: %w", err)
	}
	return nil
}

// Validate checks values the TOML types cannot: the listen address and the
// store backend here, and each provider table by the providers package's
// rules (its type, flow, API format and URLs), so they are written once.
// Its errors are *Error with Key set.
func (c *Config) Validate() error {
	if err := c.validateSettings(); err != nil {
		return err
	}
	for _, name := range slices.Sorted(maps.Keys(c.Providers)) {
		if err := c.Providers[name].Spec().Check(name); err != nil {
			return providerError(name, err)
		}
	}
	return nil
}

func (c *Config) validateSettings() error {
	if err := ValidateListen(c.Proxy.Listen); err != nil {
		return &Error{Key: "proxy.listen", Msg: err.Error()}
	}
	if c.Proxy.MaxBody < 0 {
		return &Error{Key: "proxy.max_body", Msg: "must not be negative"}
	}
	switch c.Store.Backend {
	case "file", "keyring", "memory":
	default:
		return &Error{Key: "store.backend", Msg: fmt.Sprintf("unknown backend %q (want \"file\" or \"keyring\")", c.Store.Backend)}
	}
	return nil
}

// providerError names the key of a provider table that Check refused.
func providerError(name string, err error) error {
	var se *providers.SpecError
	if !errors.As(err, &se) {
		return &Error{Key: "providers." + name, Msg: err.Error(), Err: err}
	}
	key := "providers." + name
	if se.Key != "" {
		key += "." + se.Key
	}
	return &Error{Key: key, Msg: se.Err.Error(), Err: se.Err}
}

// Warnings are what a start should say about the config before anything
// else: providers allowed to use cleartext http, and a file holding a
// secret that others can read. They are not errors: the program runs.
func (c *Config) Warnings() []string {
	out := append([]string(nil), c.notes...)
	names := make([]string, 0, len(c.Providers))
	for name := range c.Providers {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		if c.Providers[name].AllowInsecureHTTP {
			out = append(out, fmt.Sprintf("[providers.%s] allow_insecure_http = true: its tokens may cross the network in clear", name))
		}
	}
	return out
}

// ValidateListen checks a host:port listen address.
func ValidateListen(addr string) error {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("not a host:port address: %q", addr)
	}
	n, err := strconv.Atoi(port)
	if err != nil || n < 0 || n > 65535 {
		return fmt.Errorf("bad port in %q", addr)
	}
	if host != "" && host != "localhost" && net.ParseIP(host) == nil {
		return fmt.Errorf("host must be an IP address or localhost: %q", addr)
	}
	return nil
}

// keyLine finds the line that defines key in a TOML document: the last key
// element on a "k =" line under the table holding the rest, or a table header
// naming the whole key. It returns 0 when it cannot tell.
func keyLine(data []byte, key []string) int {
	if len(key) == 0 {
		return 0
	}
	want := strings.Join(key, ".")
	var table string
	sc := bufio.NewScanner(bytes.NewReader(data))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' {
			continue
		}
		if line[0] == '[' {
			h := strings.Trim(strings.SplitN(line, "]", 2)[0], "[ ")
			table = normKey(h)
			if table == want {
				return n
			}
			continue
		}
		eq := strings.IndexByte(line, '=')
		if eq < 0 {
			continue
		}
		k := normKey(line[:eq])
		full := k
		if table != "" {
			full = table + "." + k
		}
		if full == want || strings.HasPrefix(want, full+".") {
			return n
		}
	}
	return 0
}

// normKey removes spaces and quotes around dotted key parts.
func normKey(s string) string {
	parts := strings.Split(strings.TrimSpace(s), ".")
	for i, p := range parts {
		parts[i] = strings.Trim(strings.TrimSpace(p), `"'`)
	}
	return strings.Join(parts, ".")
}

func unwrapPath(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}
