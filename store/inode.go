package store

import (
	"io/fs"
	"syscall"
)

// inode tells a replaced file from one written in place, where the OS says.
func inode(info fs.FileInfo) uint64 {
	if st, ok := info.Sys().(*syscall.Stat_t); ok {
		return uint64(st.Ino)
	}
	return 0
}
