package store

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/adrg/xdg"
	"github.com/jonboulle/clockwork"
)

const (
	blobExt     = ".json"
	lockExt     = ".lock"
	corruptMark = ".corrupt-"
	tempMark    = ".tmp-"
	// corruptTime is the UTC timestamp in a kept-aside file's name.
	corruptTime = "20060102T150405Z"
	// staleTemp is how old a temp file left by a crashed writer must be
	// before NewFile removes it; younger ones may belong to a live writer.
	staleTemp = time.Hour
)

// DefaultDir is where the file backend keeps credentials unless config says
// otherwise: $XDG_CONFIG_HOME/ccproxy-tui/credentials.
func DefaultDir() string {
	return filepath.Join(xdg.ConfigHome, "ccproxy-tui", "credentials")
}

// File is the default backend: one <provider>.json per provider in a 0700
// folder, each file 0600, replaced atomically (temp file, fsync, rename,
// fsync of the folder), with a <provider>.lock beside it for the
// cross-process lock. It never follows a symlink at a credential path.
// Beside each record it keeps a few preallocated spare files (see
// spare.go), so a disk that fills up still takes the next records.
type File struct {
	dir   string
	wait  lockWaiter
	locks lockSet
	// watching, when set (tests), is called once Watch has started.
	watching func(dir string)
	// onFix hears of every mode it tightened (WithPermissionReport).
	onFix func(PermissionFix)
	// full, when set (tests), makes every new allocation fail as on a
	// full disk; spares made earlier still work.
	full func() bool
}

// PermissionFix is a credentials file or folder that others could reach,
// found and tightened: the tokens it held may have been read meanwhile.
type PermissionFix struct {
	Path string
	Was  fs.FileMode
	Now  fs.FileMode
}

// String says what was fixed and why it matters.
func (p PermissionFix) String() string {
	return fmt.Sprintf("%s was mode %04o, readable by other users; tightened to %04o (if others share this machine, log in again to replace its tokens)",
		p.Path, p.Was.Perm(), p.Now.Perm())
}

// WithPermissionReport calls report for every credentials file or folder
// whose mode the backend found wider than private and tightened, once per
// fix, so the user hears of it (a file copied in by hand, a umask of 022
// at creation).
func WithPermissionReport(report func(PermissionFix)) FileOption {
	return func(f *File) { f.onFix = report }
}

func (f *File) fixed(path string, was, now fs.FileMode) {
	if f.onFix != nil {
		f.onFix(PermissionFix{Path: path, Was: was, Now: now})
	}
}

// FileOption adjusts a File backend at construction.
type FileOption func(*File)

// WithLockTimeout bounds how long Lock waits for another holder
// (DefaultLockTimeout unless set).
func WithLockTimeout(d time.Duration) FileOption {
	return func(f *File) { f.wait.timeout = d }
}

// withClock lets tests drive lock timeouts and corrupt-file timestamps.
func withClock(c clockwork.Clock) FileOption {
	return func(f *File) { f.wait.clock = c }
}

// NewFile opens (creating if needed) the credentials folder dir, or
// DefaultDir when dir is empty, and forces it to 0700 whatever the umask.
func NewFile(dir string, opts ...FileOption) (*File, error) {
	if dir == "" {
		dir = DefaultDir()
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("credentials folder %s: %w", dir, err)
	}
	f := &File{dir: abs, wait: lockWaiter{clock: clockwork.NewRealClock(), timeout: DefaultLockTimeout}}
	for _, opt := range opts {
		opt(f)
	}
	if err := os.MkdirAll(abs, 0o700); err != nil {
		return nil, fsError("create credentials folder", abs, err)
	}
	info, err := os.Stat(abs)
	if err != nil {
		return nil, fsError("credentials folder", abs, err)
	}
	if info.Mode().Perm() != 0o700 {
		if err := os.Chmod(abs, 0o700); err != nil {
			return nil, fsError("restrict credentials folder", abs, err)
		}
		if info.Mode().Perm()&0o077 != 0 {
			f.fixed(abs, info.Mode().Perm(), 0o700)
		}
	}
	f.sweepTemps()
	return f, nil
}

// Dir is the folder the blobs live in.
func (f *File) Dir() string { return f.dir }

func (f *File) path(provider string) string { return filepath.Join(f.dir, provider+blobExt) }

// Location implements Store; the home folder is shown as ~.
func (f *File) Location(provider string) string {
	p := f.path(provider)
	if home, err := os.UserHomeDir(); err == nil && home != "" && home != "/" {
		if rest, ok := strings.CutPrefix(p, home+string(filepath.Separator)); ok {
			return "~" + string(filepath.Separator) + rest
		}
	}
	return p
}

// Load implements Store. A file that is not a regular file, is empty,
// truncated, not a JSON object, or of another version is moved aside and
// reported as a *CorruptError. A file readable by others (copied in by hand)
// is tightened to 0600.
func (f *File) Load(ctx context.Context, provider string) ([]byte, error) {
	if err := checkProvider(provider); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("load %s: %w", provider, err)
	}
	return f.read(provider, f.path(provider))
}

// read is Load without the argument checks. When a corrupt entry is
// replaced by another writer between being judged and being moved aside, it
// reads the newcomer instead of reporting a corruption that is gone.
func (f *File) read(provider, path string) ([]byte, error) {
	for attempt := 1; ; attempt++ {
		data, err := f.readOnce(provider, path)
		if !errors.Is(err, errReplaced) {
			return data, err
		}
		if attempt == 3 {
			return nil, &CorruptError{Provider: provider, Path: path, Reason: "it kept being replaced while being read"}
		}
	}
}

// errReplaced says the entry changed under a reader; see read.
var errReplaced = errors.New("replaced while being read")

func (f *File) readOnce(provider, path string) ([]byte, error) {
	// O_NOFOLLOW: a symlink here fails with ELOOP instead of being read;
	// O_NONBLOCK: a FIFO planted here cannot stall the open.
	fh, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NOFOLLOW|syscall.O_NONBLOCK, 0)
	if err != nil {
		switch {
		case errors.Is(err, fs.ErrNotExist):
			return nil, fmt.Errorf("load %s: %w", provider, ErrNotFound)
		case errors.Is(err, syscall.ELOOP):
			info, lerr := os.Lstat(path)
			if lerr != nil {
				return nil, fsError("load "+provider, path, lerr)
			}
			return nil, f.setAside(provider, path, info, "a symlink, which is never followed")
		}
		return nil, fsError("load "+provider, path, err)
	}
	defer fh.Close()
	info, err := fh.Stat()
	if err != nil {
		return nil, fsError("load "+provider, path, err)
	}
	if !info.Mode().IsRegular() {
		return nil, f.setAside(provider, path, info, "not a regular file")
	}
	data, err := readBlob(fh, info.Size())
	if err != nil {
		return nil, fsError("load "+provider, path, err)
	}
	if reason := checkBlob(data); reason != "" {
		if v, ok := newerVersion(data); ok {
			return nil, &NewerError{Provider: provider, Path: path, Version: v}
		}
		return nil, f.setAside(provider, path, info, reason)
	}
	if info.Mode().Perm() != 0o600 {
		// The data is good either way; the report says others may have
		// read it.
		if fh.Chmod(0o600) == nil && info.Mode().Perm()&0o077 != 0 {
			f.fixed(path, info.Mode().Perm(), 0o600)
		}
	}
	return data, nil
}

// readBlob reads at most maxBlobSize+1 bytes (enough for checkBlob to see
// an oversized file) in one allocation sized from the file's length.
func readBlob(r io.Reader, size int64) ([]byte, error) {
	if size < 0 || size > maxBlobSize {
		size = maxBlobSize
	}
	buf := make([]byte, 0, size+1)
	for len(buf) <= maxBlobSize {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		n, err := r.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if errors.Is(err, io.EOF) {
			return buf, nil
		}
		if err != nil {
			return nil, err
		}
	}
	return buf, nil
}

// setAside moves the untrustworthy entry at path (the one described by
// judged) to <name>.corrupt-<UTC time> and returns the *CorruptError. If
// the entry was replaced meanwhile (another process saved a good file), the
// newcomer is left alone and errReplaced returned.
func (f *File) setAside(provider, path string, judged fs.FileInfo, reason string) error {
	now, err := os.Lstat(path)
	if err != nil || !os.SameFile(now, judged) {
		return errReplaced
	}
	ce := &CorruptError{Provider: provider, Path: path, Reason: reason}
	stamp := f.wait.clock.Now().UTC().Format(corruptTime)
	for i := 1; i < 100; i++ {
		kept := path + corruptMark + stamp
		if i > 1 {
			kept += "-" + strconv.Itoa(i)
		}
		if _, err := os.Lstat(kept); err == nil {
			continue
		}
		if err := os.Rename(path, kept); err != nil {
			ce.Reason += "; could not move it aside: " + fsError("rename", path, err).Error()
			return ce
		}
		ce.KeptAs = kept
		if judged.Mode().IsRegular() {
			restrict(kept) // it may still hold live tokens
		}
		_ = syncDir(f.dir) // the move is best effort; the report stands either way
		return ce
	}
	ce.Reason += "; could not move it aside: too many kept-aside copies"
	return ce
}

// Save implements Store: temp file in the same folder (0600), write, fsync,
// rename over the old file, fsync the folder. A symlink at the path is an
// error and nothing is written; a corrupt file there is first kept aside as
// Load would.
func (f *File) Save(ctx context.Context, provider string, blob []byte) error {
	if err := checkSave(provider, blob); err != nil {
		return err
	}
	r, err := f.reserve(ctx, provider, len(blob))
	if err != nil {
		return err
	}
	return r.Commit(ctx, blob)
}

// Reserve implements Reserver: it creates the temp file Save would write
// and fills it with ReserveSize bytes, fsynced, so the disk space a record
// needs is already held when the caller does something it cannot undo.
func (f *File) Reserve(ctx context.Context, provider string) (Reservation, error) {
	if err := checkProvider(provider); err != nil {
		return nil, err
	}
	return f.reserve(ctx, provider, ReserveSize)
}

func (f *File) reserve(ctx context.Context, provider string, size int) (*fileReservation, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("save %s: %w", provider, err)
	}
	path := f.path(provider)
	info, err := os.Lstat(path)
	switch {
	case err == nil && info.Mode()&fs.ModeSymlink != 0:
		return nil, fmt.Errorf("save %s: %s is a symlink; refusing to write through it, nothing was written (remove it, or set [store] dir to a real folder): %w", provider, path, ErrCorrupt)
	case err == nil:
		// Never replace an unreadable file silently: read moves a
		// corrupt one aside, and the new blob then takes its place. A
		// newer build's record is not replaced at all.
		if _, err := f.read(provider, path); errors.Is(err, ErrNewer) {
			return nil, fmt.Errorf("save %s: refusing to replace it, nothing was written: %w", provider, err)
		}
	case !errors.Is(err, fs.ErrNotExist):
		return nil, fsError("save "+provider, path, err)
	}

	r, err := f.fresh(provider, path, size)
	if err == nil || !outOfSpace(err) {
		return r, err
	}
	// The disk is full: a spare made while it was not holds the room.
	if fh, name, spare := f.takeSpare(provider); fh != nil {
		return &fileReservation{f: f, provider: provider, path: path, tmp: fh, name: name, spare: spare}, nil
	}
	return nil, err
}

// fresh reserves new room: a temp file of size bytes, fsynced.
func (f *File) fresh(provider, path string, size int) (*fileReservation, error) {
	tmp, err := os.CreateTemp(f.dir, "."+provider+blobExt+tempMark+"*")
	if err != nil {
		return nil, fsError("save "+provider, f.dir, err)
	}
	r := &fileReservation{f: f, provider: provider, path: path, tmp: tmp, name: tmp.Name()}
	if err := tmp.Chmod(0o600); err != nil {
		r.Release()
		return nil, fsError("save "+provider, tmp.Name(), err)
	}
	if size > 0 {
		if err := f.fill(tmp, size); err != nil {
			r.Release()
			return nil, fsError("save "+provider, tmp.Name(), err)
		}
		if err := tmp.Sync(); err != nil {
			r.Release()
			return nil, fsError("save "+provider, tmp.Name(), err)
		}
	}
	return r, nil
}

// fileReservation is a temp file beside the record, holding room for it.
type fileReservation struct {
	f        *File
	provider string
	path     string
	tmp      *os.File // nil once committed or released
	name     string   // tmp's path
	spare    string   // the spare it was taken from, "" for new room
}

// Commit writes blob over the reserved bytes, cuts the file to its length,
// fsyncs it and renames it over the record.
func (r *fileReservation) Commit(ctx context.Context, blob []byte) error {
	if r.tmp == nil {
		return fmt.Errorf("save %s: reservation already used", r.provider)
	}
	if err := checkSave(r.provider, blob); err != nil {
		r.Release()
		return err
	}
	if err := ctx.Err(); err != nil {
		r.Release()
		return fmt.Errorf("save %s: %w", r.provider, err)
	}
	tmp, name := r.tmp, r.name
	fail := func(path string, err error) error {
		r.Release()
		return fsError("save "+r.provider, path, err)
	}
	if _, err := tmp.WriteAt(blob, 0); err != nil {
		return fail(name, err)
	}
	if err := tmp.Truncate(int64(len(blob))); err != nil {
		return fail(name, err)
	}
	if err := tmp.Sync(); err != nil {
		return fail(name, err)
	}
	if err := tmp.Close(); err != nil {
		return fail(name, err)
	}
	if err := os.Rename(name, r.path); err != nil {
		_ = os.Remove(name)
		r.tmp = nil
		return fsError("save "+r.provider, r.path, err)
	}
	r.tmp = nil
	if err := syncDir(r.f.dir); err != nil {
		return fsError("save "+r.provider, r.f.dir, err)
	}
	r.f.topUpSpares(r.provider)
	return nil
}

// Release frees the reserved space; after Commit it does nothing.
func (r *fileReservation) Release() {
	if r.tmp == nil {
		return
	}
	_ = r.tmp.Close()
	// Unused spare room goes back for the next reservation: on a full
	// disk it could not be made again.
	if r.spare == "" || os.Rename(r.name, r.spare) != nil {
		_ = os.Remove(r.name)
	}
	r.tmp = nil
}

// Delete implements Store. A symlink at the path is removed itself; its
// target is never touched.
func (f *File) Delete(ctx context.Context, provider string) error {
	if err := checkProvider(provider); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("delete %s: %w", provider, err)
	}
	path := f.path(provider)
	f.dropSpares(provider)
	if err := os.Remove(path); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		return fsError("delete "+provider, path, err)
	}
	if err := syncDir(f.dir); err != nil {
		return fsError("delete "+provider, f.dir, err)
	}
	return nil
}

// List implements Store: every <provider>.json with a valid provider name.
// Temp files, kept-aside corrupt files and lock files are not providers.
func (f *File) List(ctx context.Context) ([]string, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("list credentials: %w", err)
	}
	entries, err := os.ReadDir(f.dir)
	if err != nil {
		return nil, fsError("list credentials", f.dir, err)
	}
	var out []string
	for _, e := range entries {
		name, ok := strings.CutSuffix(e.Name(), blobExt)
		if !ok || e.IsDir() || !keyName.MatchString(name) {
			continue
		}
		out = append(out, name)
	}
	sort.Strings(out)
	return out, nil
}

// Lock implements Store: a per-provider lock in this process, then an
// exclusive flock on <provider>.lock in the credentials folder, both within
// the lock timeout.
func (f *File) Lock(ctx context.Context, provider string) (func(), error) {
	if err := checkProvider(provider); err != nil {
		return nil, err
	}
	return f.wait.acquire(ctx, provider, f.locks.get(provider), filepath.Join(f.dir, provider+lockExt))
}

// sweepTemps removes temp files that a crashed writer left behind long ago.
// Recent ones are kept: they may belong to a Save running right now.
func (f *File) sweepTemps() {
	entries, err := os.ReadDir(f.dir)
	if err != nil {
		return
	}
	cutoff := f.wait.clock.Now().Add(-staleTemp)
	for _, e := range entries {
		if !strings.HasPrefix(e.Name(), ".") || !strings.Contains(e.Name(), blobExt+tempMark) {
			continue
		}
		if info, err := e.Info(); err == nil && info.Mode().IsRegular() && info.ModTime().Before(cutoff) {
			_ = os.Remove(filepath.Join(f.dir, e.Name()))
		}
	}
}

// syncDir makes a rename in dir durable. Filesystems that cannot fsync a
// directory say EINVAL; for them the rename is as durable as it gets.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	if errors.Is(err, syscall.EINVAL) {
		return nil
	}
	return err
}

// restrict makes the regular file at path 0600 without following a
// symlink put there meanwhile. Best effort.
func restrict(path string) {
	fh, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NOFOLLOW|syscall.O_NONBLOCK, 0)
	if err != nil {
		return
	}
	defer fh.Close()
	if info, err := fh.Stat(); err == nil && info.Mode().IsRegular() {
		_ = fh.Chmod(0o600)
	}
}
