package hostfs

import (
	"encoding/binary"
	"syscall"
	"unsafe"

	"github.com/cmaemu/cmaemu/fs/vfs"
)

// Directory positions of 32-bit callers.
//
// ext4 gives the position of an entry of a hashed directory (nearly
// every directory: one block, or htree-indexed) in the caller's API: a
// 64-bit caller gets (major hash >> 1) << 32 | minor hash, a 32-bit one
// (in_compat_syscall) major hash >> 1, which fits its 32-bit d_off and
// off_t; and it reads a position given to lseek back the same way. Its
// end of directory is 0x7fffffffffffffff or 0x7fffffff. cmaemu reads the
// host's directories through the 64-bit API, so for an i386 guest it
// gives the upper half, and seeks to a 32-bit position shifted back up:
// the minor hash 0, where ext4 starts a 32-bit caller too. Unconverted,
// i386 glibc's readdir fails with EOVERFLOW on the first entry.

// ext4SuperMagic is EXT4_SUPER_MAGIC (also ext2 and ext3).
const ext4SuperMagic = 0xef53

// Hashed32 implements vfs.DirPositions32: whether h is a directory
// whose positions a 32-bit caller sees differently.
func (h *Handle) Hashed32() bool { return h.isHashed32() }

// DirPos32 implements vfs.DirPositions32: a position of h, as the host
// gives it (lseek, getdents64's d_off), as a 32-bit caller gets it.
func (h *Handle) DirPos32(pos int64) int64 { return int64(uint64(pos) >> 32) }

// DirSeek32 implements vfs.DirPositions32: a position a 32-bit caller
// gives lseek, as the host takes it.
func (h *Handle) DirSeek32(pos int64) int64 {
	if pos < 0 || pos > 0x7fffffff {
		return pos // lseek's own EINVAL, or beyond the end
	}
	return pos << 32
}

// isHashed32 says whether h is an ext4 directory whose positions are
// hashes: its first entries, read through a new open file description
// (h's own position stays), have positions beyond 32 bits.
func (h *Handle) isHashed32() bool {
	h.hashed32.once.Do(func() {
		var st syscall.Statfs_t
		if syscall.Fstatfs(h.fd, &st) != nil || st.Type != ext4SuperMagic {
			return
		}
		fd, err := syscall.Openat(h.fd, ".", syscall.O_RDONLY|syscall.O_DIRECTORY|syscall.O_CLOEXEC, 0)
		if err != nil {
			return
		}
		defer syscall.Close(fd)
		var buf [1024]byte
		n, _, e := syscall.Syscall(syscall.SYS_GETDENTS64, uintptr(fd), uintptr(unsafe.Pointer(&buf[0])), uintptr(len(buf)))
		if e != 0 {
			return
		}
		for b := buf[:n]; len(b) >= 19; {
			if binary.LittleEndian.Uint64(b[8:]) > 0xffffffff {
				h.hashed32.yes = true
				return
			}
			reclen := int(binary.LittleEndian.Uint16(b[16:]))
			if reclen < 19 || reclen > len(b) {
				return
			}
			b = b[reclen:]
		}
	})
	return h.hashed32.yes
}

var _ vfs.DirPositions32 = (*Handle)(nil)
