package logging

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
)

// Redacted replaces every secret the handler finds.
const Redacted = "[REDACTED]"

// secretKeys are attribute, group and header names whose values are always
// secret, normalised by normaliseKey.
var secretKeys = map[string]bool{
	"authorization":      true,
	"proxyauthorization": true,
	"cookie":             true,
	"setcookie":          true,
	"xapikey":            true,
	"apikey":             true,
	"accesstoken":        true,
	"refreshtoken":       true,
	"idtoken":            true,
	"token":              true,
	"code":               true,
	"codeverifier":       true,
	"clientsecret":       true,
	"password":           true,
}

// normaliseKey folds the spellings of one name together: "X-Api-Key",
// "x_api_key" and "XApiKey" are the same key, as are "access_token" and
// "AccessToken".
func normaliseKey(k string) string {
	var b strings.Builder
	b.Grow(len(k))
	for _, r := range strings.ToLower(k) {
		if r != '_' && r != '-' && r != ' ' {
			b.WriteRune(r)
		}
	}
	return b.String()
}

// IsSecretKey reports whether values under the name k are always redacted.
func IsSecretKey(k string) bool { return secretKeys[normaliseKey(k)] }

// scrubbers find secrets inside free text: messages, string values, error
// texts. Each keeps the label and replaces only the secret.
var scrubbers = []struct {
	re   *regexp.Regexp
	repl string
}{
	// Authorization schemes: "Bearer <tok>", "Basic <b64>".
	{regexp.MustCompile(`(?i)\b(bearer|basic)(\s+)[A-Za-z0-9\-._~+/]+=*`), "${1}${2}" + Redacted},
	// Named secrets in JSON, form, query, header-ish or %+v text:
	// "access_token":"x", access_token=x, AccessToken:x, client-secret: x.
	{regexp.MustCompile(`(?i)\b((?:access|refresh|id)[_-]?token|client[_-]?secret|code[_-]?verifier|password|api[_-]?key|(?:proxy-)?authorization|(?:set-)?cookie)(["']?\s*[:=]\s*["']?)(?:(?:bearer|basic)\s+)?(?:\[REDACTED\]|[^\s"'&,;{}\[\]]+)`), "${1}${2}" + Redacted},
	// Bare code= / token= query parameters (an OAuth callback URL).
	{regexp.MustCompile(`(?i)([?&](?:code|token)=)[^&\s"'#]+`), "${1}" + Redacted},
	// JWTs (id tokens, OpenAI access tokens) and well-known token prefixes.
	{regexp.MustCompile(`\beyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*`), Redacted},
	{regexp.MustCompile(`\b(?:sk-ant-[A-Za-z0-9_-]{8,}|sk-[A-Za-z0-9_-]{20,}|gh[opusr]_[A-Za-z0-9]{16,})`), Redacted},
}

// Scrub replaces the secrets it can recognise in free text.
func Scrub(s string) string {
	for _, sc := range scrubbers {
		s = sc.re.ReplaceAllString(s, sc.repl)
	}
	return s
}

// Redact wraps h so that every record passes through redaction first:
// attributes (also nested in groups, added through With, or under a group
// opened with WithGroup) whose key names a secret become "[REDACTED]",
// http.Header and similar maps are redacted per key, and recognisable
// secrets inside messages and string values are scrubbed.
func Redact(h slog.Handler) slog.Handler {
	return &redactHandler{inner: h}
}

type redactHandler struct {
	inner slog.Handler
	// all is set under a group whose own name is a secret
	// (WithGroup("cookie")): everything below it is redacted.
	all bool
}

func (h *redactHandler) Enabled(ctx context.Context, l slog.Level) bool {
	return h.inner.Enabled(ctx, l)
}

func (h *redactHandler) Handle(ctx context.Context, r slog.Record) error {
	out := slog.NewRecord(r.Time, r.Level, Scrub(r.Message), r.PC)
	r.Attrs(func(a slog.Attr) bool {
		out.AddAttrs(redactAttr(a, h.all))
		return true
	})
	return h.inner.Handle(ctx, out)
}

func (h *redactHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	red := make([]slog.Attr, len(attrs))
	for i, a := range attrs {
		red[i] = redactAttr(a, h.all)
	}
	return &redactHandler{inner: h.inner.WithAttrs(red), all: h.all}
}

func (h *redactHandler) WithGroup(name string) slog.Handler {
	if name == "" {
		return h
	}
	return &redactHandler{inner: h.inner.WithGroup(name), all: h.all || IsSecretKey(name)}
}

func redactAttr(a slog.Attr, all bool) slog.Attr {
	a.Value = a.Value.Resolve()
	secret := all || IsSecretKey(a.Key)
	switch a.Value.Kind() {
	case slog.KindGroup:
		group := a.Value.Group()
		red := make([]slog.Attr, len(group))
		for i, g := range group {
			red[i] = redactAttr(g, secret)
		}
		return slog.Attr{Key: a.Key, Value: slog.GroupValue(red...)}
	case slog.KindString:
		if secret {
			return slog.String(a.Key, Redacted)
		}
		if s := a.Value.String(); Scrub(s) != s {
			return slog.String(a.Key, Scrub(s))
		}
		return a
	case slog.KindAny:
		if secret {
			return slog.String(a.Key, Redacted)
		}
		return slog.Attr{Key: a.Key, Value: redactAny(a.Value.Any())}
	}
	if secret {
		return slog.String(a.Key, Redacted)
	}
	return a
}

// redactAny handles values slog would print through fmt or JSON: header and
// query maps key by key, URLs, errors and byte slices as text, and anything
// else through its %+v form when that form contains a recognisable secret.
func redactAny(v any) slog.Value {
	switch v := v.(type) {
	case http.Header:
		return mapValue(v)
	case url.Values:
		return mapValue(v)
	case map[string][]string:
		return mapValue(v)
	case map[string]string:
		m := make(map[string][]string, len(v))
		for k, s := range v {
			m[k] = []string{s}
		}
		return mapValue(m)
	case *url.URL:
		if v == nil {
			return slog.AnyValue(v)
		}
		return slog.StringValue(Scrub(redactURL(v)))
	case []byte:
		return slog.StringValue(Scrub(string(v)))
	case error:
		if s := v.Error(); Scrub(s) != s {
			return slog.StringValue(Scrub(s))
		}
		return slog.AnyValue(v)
	}
	if s := fmt.Sprintf("%+v", v); Scrub(s) != s {
		return slog.StringValue(Scrub(s))
	}
	return slog.AnyValue(v)
}

// mapValue turns a multi-valued map into a group in key order.
func mapValue[M ~map[string][]string](m M) slog.Value {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	attrs := make([]slog.Attr, 0, len(keys))
	for _, k := range keys {
		v := Redacted
		if !IsSecretKey(k) {
			v = Scrub(strings.Join(m[k], ", "))
		}
		attrs = append(attrs, slog.String(k, v))
	}
	return slog.GroupValue(attrs...)
}

// redactURL hides a URL's password and its secret query parameters.
func redactURL(u *url.URL) string {
	c := *u
	if c.RawQuery != "" {
		q := c.Query()
		for k := range q {
			if IsSecretKey(k) {
				q[k] = []string{Redacted}
			}
		}
		c.RawQuery = q.Encode()
	}
	return c.Redacted()
}
