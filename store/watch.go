package store

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/fsnotify/fsnotify"
	"github.com/jonboulle/clockwork"
)

// statEvery is how often a watched folder is also compared by stat, for
// filesystems that deliver no change events (network mounts, some
// containers) and for events the kernel dropped.
const statEvery = 500 * time.Millisecond

// fileStamp is what the stat comparison looks at.
type fileStamp struct {
	size    int64
	modTime time.Time
	ino     uint64
}

// watchDir calls changed("") and ready (when not nil) once it watches, then changed(provider) for every <provider><ext> in dir that is
// created, written, replaced or removed, until ctx ends: at once through
// fsnotify where the OS delivers events, and within statEvery through a
// stat comparison everywhere.
func watchDir(ctx context.Context, dir, ext string, clock clockwork.Clock, ready, changed func(string)) {
	// Without fsnotify (no inotify instances left, an unsupported
	// filesystem) the stat comparison alone keeps processes in step.
	var events <-chan fsnotify.Event
	var errs <-chan error
	if w, err := fsnotify.NewWatcher(); err == nil {
		if err := w.Add(dir); err == nil {
			events, errs = w.Events, w.Errors
		}
		defer w.Close()
	}
	seen := stampDir(dir, ext)
	tick := clock.NewTicker(statEvery)
	defer tick.Stop()
	// What changed before the watch was in place is not in seen's
	// comparison: the caller reads everything again.
	changed("")
	if ready != nil {
		ready(dir)
	}
	for {
		select {
		case <-ctx.Done():
			return
		case ev, ok := <-events:
			if !ok {
				events = nil
				continue
			}
			name := filepath.Base(ev.Name)
			if p, ok := strings.CutSuffix(name, ext); ok && keyName.MatchString(p) {
				changed(p)
			}
		case _, ok := <-errs:
			if !ok {
				errs = nil
			}
			// An overflow lost events: the next stat comparison finds
			// what changed.
		case <-tick.Chan():
			now := stampDir(dir, ext)
			for p, st := range now {
				if old, ok := seen[p]; !ok || old != st {
					changed(p)
				}
			}
			for p := range seen {
				if _, ok := now[p]; !ok {
					changed(p)
				}
			}
			seen = now
		}
	}
}

// stampDir stats every <provider><ext> in dir.
func stampDir(dir, ext string) map[string]fileStamp {
	out := map[string]fileStamp{}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return out
	}
	for _, e := range entries {
		p, ok := strings.CutSuffix(e.Name(), ext)
		if !ok || !keyName.MatchString(p) {
			continue
		}
		info, err := e.Info()
		if err != nil {
			continue
		}
		out[p] = fileStamp{size: info.Size(), modTime: info.ModTime(), ino: inode(info)}
	}
	return out
}

// Watch implements Watcher for the credentials folder.
func (f *File) Watch(ctx context.Context, changed func(provider string)) error {
	if _, err := os.Stat(f.dir); err != nil {
		return fmt.Errorf("watch credentials: %w", fsError("stat", f.dir, err))
	}
	watchDir(ctx, f.dir, blobExt, f.wait.clock, f.watching, changed)
	return nil
}
