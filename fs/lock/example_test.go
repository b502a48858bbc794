package lock_test

import (
	"fmt"

	"github.com/cmaemu/cmaemu/fs/lock"
)

// Example follows two guest processes through fcntl and close as the
// kernel reports them to the table.
func Example() {
	type inode struct{ dev, ino uint64 }
	locks := lock.New[inode](lock.Config{})
	file := inode{8, 1234}
	parent, child := lock.Process(1000), lock.Process(1001)
	rw := lock.Desc{Mode: lock.Readable | lock.Writable}

	// The parent write-locks bytes 0-99, then unlocks 40-59.
	fmt.Println(locks.SetLk(file, parent, lock.Flock{Type: lock.WriteLock, Len: 100}, rw, nil))
	fmt.Println(locks.SetLk(file, parent, lock.Flock{Type: lock.Unlock, Start: 40, Len: 20}, rw, nil))

	// The child asks who is in the way of a read lock of the whole file.
	l := lock.Flock{Type: lock.ReadLock}
	fmt.Println(locks.GetLk(file, child, &l, rw), l)
	fmt.Println(locks.SetLk(file, child, lock.Flock{Type: lock.ReadLock, Start: 40, Len: 20}, rw, nil))
	fmt.Println(locks.SetLk(file, child, lock.Flock{Type: lock.ReadLock}, rw, nil))

	// The parent closes a descriptor of the file: its locks go.
	locks.Release(file, parent)
	fmt.Println(locks.SetLk(file, child, lock.Flock{Type: lock.ReadLock}, rw, nil))
	fmt.Println(locks.Locks(file))
	// Output:
	// <nil>
	// <nil>
	// <nil> {F_WRLCK 0 0 40 1000}
	// <nil>
	// Try again
	// <nil>
	// [{F_RDLCK {0 9223372036854775807} pid 1001}]
}
