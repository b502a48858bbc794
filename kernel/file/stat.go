package file

import (
	"encoding/binary"

	"github.com/cmaemu/cmaemu/fs/vfs"
)

// StatSize is sizeof(struct stat) on x86-64.
const StatSize = 144

// EncodeStat lays out a as x86-64's struct stat.
func EncodeStat(a vfs.Attr) [StatSize]byte {
	var b [StatSize]byte
	le := binary.LittleEndian
	le.PutUint64(b[0:], a.Dev)
	le.PutUint64(b[8:], a.Ino)
	le.PutUint64(b[16:], a.Nlink)
	le.PutUint32(b[24:], a.Mode)
	le.PutUint32(b[28:], a.UID)
	le.PutUint32(b[32:], a.GID)
	le.PutUint64(b[40:], a.Rdev)
	le.PutUint64(b[48:], uint64(a.Size))
	le.PutUint64(b[56:], uint64(a.Blksize))
	le.PutUint64(b[64:], uint64(a.Blocks))
	for i, ts := range [3]vfs.Timespec{a.Atime, a.Mtime, a.Ctime} {
		le.PutUint64(b[72+16*i:], uint64(ts.Sec))
		le.PutUint64(b[80+16*i:], uint64(ts.Nsec))
	}
	return b
}

// DecodeStat reads x86-64's struct stat back into attributes.
func DecodeStat(b [StatSize]byte) vfs.Attr {
	le := binary.LittleEndian
	a := vfs.Attr{Dev: le.Uint64(b[0:]), Ino: le.Uint64(b[8:]), Nlink: le.Uint64(b[16:]), Mode: le.Uint32(b[24:]),
		UID: le.Uint32(b[28:]), GID: le.Uint32(b[32:]), Rdev: le.Uint64(b[40:]), Size: int64(le.Uint64(b[48:])),
		Blksize: int64(le.Uint64(b[56:])), Blocks: int64(le.Uint64(b[64:]))}
	ts := []*vfs.Timespec{&a.Atime, &a.Mtime, &a.Ctime}
	for i, t := range ts {
		*t = vfs.Timespec{Sec: int64(le.Uint64(b[72+16*i:])), Nsec: int64(le.Uint64(b[80+16*i:]))}
	}
	return a
}
