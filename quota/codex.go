package quota

import (
	"sort"
	"strings"
	"time"
)

// codexHeaders reads x-codex-{primary,secondary}-* and every other family
// announced by an x-<family>-primary-used-percent header (openai/codex
// rate_limits.rs). used-percent is a percentage; reset-at is epoch seconds,
// older answers give reset-after-seconds instead. The default family's
// windows are "primary" and "secondary"; another family's are
// "<family>_primary" and "<family>_secondary", with a leading "codex_"
// dropped from its id.
func codexHeaders(f fields, now time.Time) []Window {
	prefixes := map[string]bool{}
	for k := range f {
		if !strings.HasPrefix(k, "x-") {
			continue
		}
		if p, ok := strings.CutSuffix(k, codexFamily); ok {
			prefixes[p] = true
		}
	}
	if _, ok := f["x-codex"+codexSecondary]; ok {
		prefixes["x-codex"] = true
	}
	list := make([]string, 0, len(prefixes))
	for p := range prefixes {
		list = append(list, p)
	}
	// The default family first, the others by name.
	sort.Slice(list, func(i, j int) bool {
		if (list[i] == "x-codex") != (list[j] == "x-codex") {
			return list[i] == "x-codex"
		}
		return list[i] < list[j]
	})
	var out []Window
	families := map[string]bool{}
	for _, p := range list {
		family := codexFamilyName(strings.TrimPrefix(p, "x-"))
		if family == "" || families[family] {
			continue // two ids that read as one name: the first keeps it
		}
		families[family] = true
		for _, slot := range []string{"primary", "secondary"} {
			if w, ok := codexWindow(f, p+"-"+slot, codexWindowName(family, slot), now); ok {
				out = append(out, w)
			}
		}
	}
	return out
}

// codexFamilyName is a family's id as window names use it: "codex" for the
// default, otherwise the id without its "codex_" lead ("bengalfox"), cut
// so that "<family>_secondary" is still a whole window name.
func codexFamilyName(id string) string {
	n := name(id)
	if n == "codex" {
		return n
	}
	if rest, ok := strings.CutPrefix(n, "codex_"); ok {
		// "codex__0" (from "x-codex--0-…" or a space) leaves "_0".
		if rest = strings.TrimLeft(rest, "_"); rest != "" {
			n = rest
		}
	}
	if room := maxName - len("_secondary"); len(n) > room {
		n = strings.TrimRight(n[:room], "_")
	}
	return n
}

func codexWindowName(family, slot string) string {
	if family == "codex" {
		return slot
	}
	return family + "_" + slot
}

// codexWindow reads one slot. Like the Codex CLI, it keeps a window only
// when it says something: a non-zero percentage, a length or a reset.
func codexWindow(f fields, prefix, wname string, now time.Time) (Window, bool) {
	used, ok := number(f[prefix+"-used-percent"])
	if !ok {
		return Window{}, false
	}
	w := Window{Name: wname, UsedPercent: clamp(used)}
	if m, ok := number(f[prefix+"-window-minutes"]); ok && m > 0 && m < 1e7 {
		w.WindowMinutes = int(m)
	}
	if t, ok := epochString(f[prefix+"-reset-at"]); ok {
		w.ResetsAt = t
	} else if s, ok := number(f[prefix+"-reset-after-seconds"]); ok {
		w.ResetsAt, _ = after(now, s)
	}
	if used == 0 && w.WindowMinutes == 0 && w.ResetsAt.IsZero() {
		return Window{}, false
	}
	w.Status = statusAt(w.UsedPercent)
	return w, true
}
