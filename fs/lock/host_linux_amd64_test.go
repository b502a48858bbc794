package lock

import (
	"math"
	"math/rand"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"unsafe"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cmaemu/cmaemu/linux"
)

// The host kernel is the oracle: OFD locks let one test process be
// several owners (one per open file description), so the same requests
// are made of the host and of a Table, and every answer compared.

const (
	fOFDGetlk = 36 // F_OFD_GETLK
	fOFDSetlk = 37 // F_OFD_SETLK
)

func hostFcntl(fd int, cmd int, l *Flock) error {
	hl := syscall.Flock_t{Type: int16(l.Type), Whence: l.Whence, Start: l.Start, Len: l.Len, Pid: l.Pid}
	_, _, e := syscall.Syscall(syscall.SYS_FCNTL, uintptr(fd), uintptr(cmd), uintptr(unsafe.Pointer(&hl)))
	if e != 0 {
		return linux.Errno(e)
	}
	*l = Flock{Type: Type(hl.Type), Whence: hl.Whence, Start: hl.Start, Len: hl.Len, Pid: hl.Pid}
	return nil
}

// openHost opens a new file n times read-write.
func openHost(t *testing.T, n int) []int {
	t.Helper()
	name := filepath.Join(t.TempDir(), "f")
	var fds []int
	for i := range n {
		flags := os.O_RDWR
		if i == 0 {
			flags |= os.O_CREATE
		}
		fd, err := syscall.Open(name, flags, 0o600)
		require.NoError(t, err)
		t.Cleanup(func() { syscall.Close(fd) })
		fds = append(fds, fd)
	}
	return fds
}

// TestHostRecordLocks makes random OFD lock requests of the host and of a
// Table and compares the results and what F_OFD_GETLK then reports to
// every owner: which requests conflict, how an owner's locks split and
// merge, and which conflicting lock comes first.
func TestHostRecordLocks(t *testing.T) {
	const owners, steps = 4, 400
	fds := openHost(t, owners)
	// F_OFD_GETLK takes F_UNLCK since Linux 6.7.
	l := Flock{Type: Unlock}
	unlckProbe := hostFcntl(fds[0], fOFDGetlk, &l) == nil

	tb := newTable()
	rng := rand.New(rand.NewSource(1))
	randFlock := func(types ...Type) Flock {
		l := Flock{Type: types[rng.Intn(len(types))], Start: rng.Int63n(24)}
		switch rng.Intn(6) {
		case 0: // to EOF
		case 1: // backwards
			l.Start += 4
			l.Len = -1 - rng.Int63n(4)
		default:
			l.Len = 1 + rng.Int63n(8)
		}
		return l
	}
	for step := range steps {
		i := rng.Intn(owners)
		req := randFlock(ReadLock, WriteLock, WriteLock, Unlock)
		hl := req
		herr := hostFcntl(fds[i], fOFDSetlk, &hl)
		err := tb.SetLk(fileA, Description(uint64(i)), req, rw, nil)
		require.Equal(t, herr, err, "step %d: owner %d sets %+v", step, i, req)

		probes := []Flock{{Type: ReadLock}, {Type: WriteLock}, randFlock(ReadLock, WriteLock), randFlock(ReadLock, WriteLock)}
		if unlckProbe {
			probes = append(probes, Flock{Type: Unlock}, randFlock(Unlock))
		}
		for j := range owners {
			for _, p := range probes {
				want, got := p, p
				require.NoError(t, hostFcntl(fds[j], fOFDGetlk, &want))
				require.NoError(t, tb.GetLk(fileA, Description(uint64(j)), &got, rw))
				require.Equal(t, want, got, "step %d: owner %d tests %+v; locks %v", step, j, p, tb.Locks(fileA))
			}
		}
	}
	// Closing a description's last reference drops its locks.
	for i := range owners {
		require.NoError(t, syscall.Close(fds[i]))
		tb.Release(fileA, Description(uint64(i)))
		if i+1 < owners {
			want, got := Flock{Type: WriteLock}, Flock{Type: WriteLock}
			require.NoError(t, hostFcntl(fds[owners-1], fOFDGetlk, &want))
			require.NoError(t, tb.GetLk(fileA, Description(uint64(owners-1)), &got, rw))
			require.Equal(t, want, got)
		}
	}
	assert.Equal(t, 0, tb.Records())
}

// TestHostFlockRange compares FlockRange with the host's conversion of
// l_whence, l_start and l_len: the errors, and the range a lock gets.
func TestHostFlockRange(t *testing.T) {
	fds := openHost(t, 2)
	edges := []int64{0, 1, -1, 5, -5, 1000, -1000, 1 << 40, -(1 << 40), math.MaxInt64, math.MaxInt64 - 1, math.MaxInt64 - 1000, math.MinInt64, math.MinInt64 + 1}
	sizes := []int64{0, 10, 1 << 40}
	positions := []int64{0, 7, 1 << 40}
	checked := 0
	for _, size := range sizes {
		require.NoError(t, syscall.Ftruncate(fds[0], size))
		for _, pos := range positions {
			_, err := syscall.Seek(fds[0], pos, 0)
			require.NoError(t, err)
			for whence := int16(-1); whence <= 3; whence++ {
				for _, start := range edges {
					for _, length := range edges {
						l := Flock{Type: WriteLock, Whence: whence, Start: start, Len: length}
						r, err := FlockRange(whence, start, length, pos, size)
						hl := l
						herr := hostFcntl(fds[0], fOFDSetlk, &hl)
						require.Equal(t, herr, err, "whence %d start %d len %d at %d of %d", whence, start, length, pos, size)
						checked++
						if err != nil {
							continue
						}
						got := Flock{Type: WriteLock}
						require.NoError(t, hostFcntl(fds[1], fOFDGetlk, &got))
						require.Equal(t, Lock{WriteLock, r, Description(0)}.Flock(), got,
							"whence %d start %d len %d at %d of %d", whence, start, length, pos, size)
						l.Type = Unlock
						require.NoError(t, hostFcntl(fds[0], fOFDSetlk, &l))
					}
				}
			}
		}
	}
	t.Logf("%d conversions checked", checked)
}
