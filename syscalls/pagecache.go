package syscalls

import (
	"sync"

	"github.com/cmaemu/cmaemu/kernel/file"
	"github.com/cmaemu/cmaemu/mm"
)

// One page cache per file while it is mapped MAP_SHARED: the file's
// shared object (sharedFileObject) holds the pages processes faulted in,
// and read() and write() of the file through any descriptor go through
// those pages too, so that a store through a mapping is read at once and
// a write is seen by the mappings at once, and a dirty page written back
// later carries the write. Files nobody maps shared cost one atomic load
// per read or write.

// cacheKey is what an open file's page cache is found by, worked out
// once per description.
type cacheKey struct {
	once    sync.Once
	id      fileID
	regular bool // a regular file (only those are mapped)
}

// key returns the file's id and whether it is a regular file.
func (f *openFile) key() (fileID, bool) {
	f.cache.once.Do(func() {
		if a, err := f.attr(); err == nil {
			f.cache.id, f.cache.regular = fileID{a.Dev, a.Ino}, a.IsRegular()
		}
	})
	return f.cache.id, f.cache.regular
}

// pageCache returns the shared object of f's file, with a reference the
// caller releases, if some process maps the file MAP_SHARED; else nil.
func (k *Kernel) pageCache(f *openFile) *mm.SharedObject {
	if k.sharedCount.Load() == 0 || f.pathOnly() {
		return nil
	}
	id, regular := f.key()
	if !regular {
		return nil
	}
	k.sharedMu.Lock()
	defer k.sharedMu.Unlock()
	if o := k.sharedFiles[id]; o != nil && o.Acquire() {
		return o
	}
	return nil
}

// cacheOf returns the page cache for a read or write of f by ctx, or nil.
func cacheOf(ctx file.Context, f *openFile) (*mm.SharedObject, *Kernel) {
	t, ok := ctx.(*Task)
	if !ok {
		return nil, nil
	}
	return t.k.pageCache(f), t.k
}

// position returns where a read or write at off (-1: the file position)
// starts, for the page cache.
func (f *openFile) position(off int64) (int64, error) {
	if off >= 0 {
		return off, nil
	}
	return f.h.Seek(0, 1) // SEEK_CUR
}

// throughCache applies fn to the first n bytes of bufs, the file's
// bytes from pos on.
func throughCache(bufs [][]byte, pos int64, n int, fn func(b []byte, off uint64)) {
	for _, b := range bufs {
		if n <= 0 {
			return
		}
		b = b[:min(len(b), n)]
		fn(b, uint64(pos))
		pos += int64(len(b))
		n -= len(b)
	}
}
