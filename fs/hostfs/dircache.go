package hostfs

import (
	"sync"
	"syscall"

	"github.com/cmaemu/cmaemu/linux"
)

// dirCacheMax bounds the directories a filesystem keeps open in its
// cache (each is one host descriptor).
const dirCacheMax = 1024

// dirKey names a directory entry: the directory by its host identity
// and the component.
type dirKey struct {
	dev, ino uint64
	name     string
}

// dirCache keeps directories looked up before, each with a reference
// (its O_PATH descriptor stays open). An entry is only a guess: lookup
// uses it when the name still leads to the same host file, which it
// checks with one fstatat of the name in its directory (no symlink
// followed): as the cached descriptor is open, a matching device and
// inode number is that very file. Renames, removals and replacements by
// the guest or by anyone on the host therefore need no invalidation:
// they fail the check, and the entry is dropped. Only directories are
// cached, so that no removed regular file stays allocated on the host
// because of the cache.
type dirCache struct {
	mu      sync.Mutex // protects entries
	entries map[dirKey]*Inode
}

// lookup returns the cached child name of dir, with a reference, and its
// host attributes, if the name still leads to it.
func (c *dirCache) lookup(dir *Inode, name string) (*Inode, *syscall.Stat_t, bool) {
	key := dirKey{dir.dev, dir.ino, name}
	c.mu.Lock()
	child := c.entries[key]
	if child != nil {
		child.IncRef()
	}
	c.mu.Unlock()
	if child == nil {
		return nil, nil, false
	}
	var st syscall.Stat_t
	if err := fstatat(dir.fd, name, &st, linux.AT_SYMLINK_NOFOLLOW); err == nil &&
		st.Dev == child.dev && st.Ino == child.ino {
		return child, &st, true
	}
	c.mu.Lock()
	if c.entries[key] == child {
		delete(c.entries, key)
		child.DecRef() // the cache's reference
	}
	c.mu.Unlock()
	child.DecRef()
	return nil, nil, false
}

// add caches child (a directory) as name in dir, with a reference of its
// own. A full cache first drops an arbitrary entry.
func (c *dirCache) add(dir *Inode, name string, child *Inode) {
	key := dirKey{dir.dev, dir.ino, name}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.entries == nil {
		c.entries = map[dirKey]*Inode{}
	}
	if old := c.entries[key]; old != nil {
		old.DecRef()
	} else if len(c.entries) >= dirCacheMax {
		for k, victim := range c.entries {
			delete(c.entries, k)
			victim.DecRef()
			break
		}
	}
	child.IncRef()
	c.entries[key] = child
}
