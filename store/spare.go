package store

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
)

// Spare room: a few preallocated files beside each record, so that a disk
// that fills up still takes the next records atomically. Rotating refresh
// tokens make every refresh a record that must be written: with spares the
// rotation goes on as scheduled and lands on disk, where every process
// sees it, instead of waiting for the disk or living in one process's
// memory.
const (
	spareMark  = ".spare-"
	spareCount = 3
	// spareSize holds any real record (a few kilobytes with an id_token).
	spareSize = 16 << 10
)

func (f *File) sparePath(provider string, i int) string {
	return filepath.Join(f.dir, "."+provider+blobExt+spareMark+strconv.Itoa(i))
}

// outOfSpace reports whether err means the disk (or the user's quota) is
// full, the one failure spare room is for.
func outOfSpace(err error) bool {
	return errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EDQUOT)
}

// takeSpare claims one of provider's spares for a reservation: it is
// renamed to a temp name first, so no other writer can claim it too. It
// returns nil when none is left; otherwise the open file, its claimed name
// and the spare name it goes back to if unused.
func (f *File) takeSpare(provider string) (*os.File, string, string) {
	for i := range spareCount {
		spare := f.sparePath(provider, i)
		claimed := filepath.Join(f.dir, "."+provider+blobExt+tempMark+"spare-"+strconv.Itoa(os.Getpid())+"-"+strconv.Itoa(i))
		if err := os.Rename(spare, claimed); err != nil {
			continue
		}
		fh, err := os.OpenFile(claimed, os.O_RDWR|syscall.O_NOFOLLOW, 0)
		if err != nil {
			_ = os.Remove(claimed)
			continue
		}
		if info, err := fh.Stat(); err != nil || !info.Mode().IsRegular() {
			_ = fh.Close()
			_ = os.Remove(claimed)
			continue
		}
		return fh, claimed, spare
	}
	return nil, "", ""
}

// topUpSpares recreates provider's missing spares. Best effort: while the
// disk is full it makes none, and the next save tries again. A spare only
// appears under its name once fully written and fsynced.
func (f *File) topUpSpares(provider string) {
	for i := range spareCount {
		spare := f.sparePath(provider, i)
		if _, err := os.Lstat(spare); err == nil {
			continue
		}
		if !f.makeSpare(spare) {
			return
		}
	}
}

func (f *File) makeSpare(spare string) bool {
	tmp, err := os.CreateTemp(f.dir, filepath.Base(spare)+tempMark+"*")
	if err != nil {
		return false
	}
	name := tmp.Name()
	ok := tmp.Chmod(0o600) == nil && f.fill(tmp, spareSize) == nil && tmp.Sync() == nil
	if cerr := tmp.Close(); cerr != nil {
		ok = false
	}
	if ok && os.Rename(name, spare) == nil {
		return true
	}
	_ = os.Remove(name)
	return false
}

// fill writes size zero bytes to fh: the room a reservation holds.
func (f *File) fill(fh *os.File, size int) error {
	if f.full != nil && f.full() {
		return &os.PathError{Op: "write", Path: fh.Name(), Err: syscall.ENOSPC}
	}
	_, err := fh.Write(make([]byte, size))
	return err
}

// dropSpares removes provider's spares (after a logout).
func (f *File) dropSpares(provider string) {
	for i := range spareCount {
		_ = os.Remove(f.sparePath(provider, i))
	}
}
