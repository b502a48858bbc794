package syscalls

import (
	"encoding/binary"
	"errors"
	"testing"
	"time"

	"github.com/cmaemu/cmaemu/linux"
	"github.com/cmaemu/cmaemu/mm"
)

// FuzzIovecImport checks importIovecs of both ABIs against a direct
// reading of the bytes: elements are decoded in order, the first one that
// is not wholly readable is EFAULT and the first negative length (as the
// ABI's ssize_t) is EINVAL, whichever comes first; otherwise every element
// decodes as written, zero-extended on i386.
func FuzzIovecImport(f *testing.F) {
	f.Add(false, uint16(1), uint16(0), []byte("\x00\x10\x00\x00\x00\x00\x00\x00\x05\x00\x00\x00\x00\x00\x00\x00"))
	f.Add(true, uint16(2), uint16(4088), []byte("\x00\x10\x00\x00\xff\xff\xff\x7f\x00\x10\x00\x00\x00\x00\x00\x80"))
	f.Add(false, uint16(3), uint16(4080), make([]byte, 48))
	f.Add(false, uint16(2), uint16(4090), []byte("\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff"))
	f.Add(true, uint16(0), uint16(0), []byte{})
	f.Add(true, uint16(1025), uint16(100), make([]byte, 64))
	ram, err := mm.NewRAM(8 << 20)
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { ram.Close() })
	const base mm.Addr = 0x10000
	f.Fuzz(func(t *testing.T, i386 bool, n uint16, off uint16, data []byte) {
		layout, top := iovec64, mm.Layout64
		if i386 {
			layout, top = iovec32, mm.Layout32
		}
		as, err := mm.New(ram, top)
		if err != nil {
			t.Fatal(err)
		}
		defer as.Release()
		// One readable page, then a hole: the array starts off bytes in
		// and runs into the hole when it is long enough.
		if _, err := as.Map(mm.MapOpts{Addr: base, Length: mm.PageSize, Prot: mm.ProtRead | mm.ProtWrite, Fixed: true}); err != nil {
			t.Fatal(err)
		}
		count := int(n % 600)
		start := base + mm.Addr(off%mm.PageSize)
		room := int(base + mm.PageSize - start)
		data = data[:min(len(data), room)]
		if _, err := as.CopyOut(start, data); err != nil {
			t.Fatal(err)
		}
		mem := make([]byte, room) // what the guest sees from start
		copy(mem, data)

		got, err := layout.importIovecs(as, start, count)

		var wantErr error
		var want []mm.IOVec
		for i := 0; i < count; i++ {
			lo, hi := i*layout.size, (i+1)*layout.size
			if hi > room {
				wantErr = linux.EFAULT
				break
			}
			var v mm.IOVec
			if i386 {
				v = mm.IOVec{Base: mm.Addr(binary.LittleEndian.Uint32(mem[lo:])), Len: uint64(binary.LittleEndian.Uint32(mem[lo+4:]))}
				if v.Len >= 1<<31 {
					wantErr = linux.EINVAL
					break
				}
			} else {
				v = mm.IOVec{Base: mm.Addr(binary.LittleEndian.Uint64(mem[lo:])), Len: binary.LittleEndian.Uint64(mem[lo+8:])}
				if v.Len >= 1<<63 {
					wantErr = linux.EINVAL
					break
				}
			}
			want = append(want, v)
		}
		if wantErr != nil {
			if !errors.Is(err, wantErr) || got != nil {
				t.Fatalf("%d elements at %#x: got %v, %v; want %v", count, start, got, err, wantErr)
			}
			return
		}
		if err != nil || len(got) != count {
			t.Fatalf("%d elements at %#x: got %d, %v", count, start, len(got), err)
		}
		for i := range want {
			if got[i] != want[i] {
				t.Fatalf("element %d: got %+v, want %+v", i, got[i], want[i])
			}
		}
	})
}

// fuzzSkip are the calls a fuzzed argument list may not make: those that
// may wait for ever in a process that runs no code, or that change the
// host's files (see TestSyscallsSurviveGarbage), or end the process.
var fuzzSkip = map[string]bool{
	"exit": true, "exit_group": true, "vfork": true, "fork": true, "clone": true, "clone3": true,
	"rt_sigtimedwait": true, "rt_sigtimedwait_time64": true, "sigsuspend": true,
	"epoll_wait": true, "epoll_pwait": true, "epoll_pwait2": true, "msgrcv": true, "semop": true,
	"semtimedop": true, "semtimedop_time64": true, "accept": true, "accept4": true, "recvfrom": true,
	"recvmsg": true, "recvmmsg": true, "connect": true, "flock": true, "fcntl": true, "fcntl64": true,
	"sendto": true, "sendmsg": true, "sendmmsg": true, "msgsnd": true, "preadv2": true, "pwritev2": true,
	"getrandom": false, "symlink": true, "symlinkat": true, "link": true, "linkat": true,
	"mknod": true, "mknodat": true, "truncate": true, "truncate64": true, "chown": true,
	"lchown": true, "fchown": true, "fchownat": true, "chown32": true, "lchown32": true, "fchown32": true,
	"utime": true, "utimes": true, "futimesat": true, "setxattr": true, "lsetxattr": true,
	"fsetxattr": true, "removexattr": true, "lremovexattr": true, "fremovexattr": true,
	"mount": true, "umount2": true, "umount": true, "chroot": true, "fchdir": true, "sync_file_range": true,
	"fallocate": true, "copy_file_range": true, "splice": true, "tee": true, "vmsplice": true,
	"io_uring_enter": true, "name_to_handle_at": true, "renameat": true, "open_by_handle_at": true,
	"acct": true, "swapon": true, "swapoff": true, "reboot": true, "setrlimit": true, "prlimit64": true,
	"ugetrlimit": false, "mq_timedreceive": true, "mq_timedsend": true, "mq_open": true, "mq_unlink": true,
	"process_madvise": false, "ipc": true, "socketcall": true, "kill": true, "tkill": true, "tgkill": true,
	"rt_sigqueueinfo": true, "rt_tgsigqueueinfo": true, "pidfd_send_signal": true, "sigreturn": true,
	"rt_sigreturn": true, "alarm": true, "setitimer": true, "timer_settime": true, "timer_settime64": true,
	"timerfd_settime": true, "timerfd_settime64": true, "setsid": false,
}

// FuzzSyscalls calls one system call of either table with fuzzed
// arguments on a live process with some memory mapped: the result is a
// value or an errno, never a panic, and a call that may not return within
// a few seconds is a failure too. Two values of the fuzzed words pick
// addresses in the mapped page and the hole after it.
func FuzzSyscalls(f *testing.F) {
	f.Add(false, uint16(310), uint64(1000), uint64(0x100000), uint64(1), uint64(0x100010), uint64(1), uint64(0))
	f.Add(true, uint16(347), uint64(1000), uint64(0x100000), uint64(1), uint64(0x100010), uint64(1), uint64(0))
	f.Add(false, uint16(9), uint64(0), uint64(0x2000), uint64(3), uint64(0x22), ^uint64(0), uint64(0))
	f.Add(true, uint16(192), uint64(0), uint64(0x2000), uint64(7), uint64(0x22), ^uint64(0), uint64(0))
	f.Add(false, uint16(25), uint64(0x100000), uint64(0x1000), uint64(0x3000), uint64(3), uint64(0x200000), uint64(0))
	f.Add(false, uint16(12), uint64(0x200000), uint64(0), uint64(0), uint64(0), uint64(0), uint64(0))
	f.Add(true, uint16(125), uint64(0x100000), uint64(0x1000), uint64(0), uint64(0), uint64(0), uint64(0))
	f.Add(false, uint16(13), uint64(2), uint64(0x100000), uint64(0x100100), uint64(8), uint64(0), uint64(0))
	ram, err := mm.NewRAM(64 << 20)
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { ram.Close() })
	k := NewKernel(Config{RAM: ram})
	const mapped = 0x100000
	f.Fuzz(func(t *testing.T, i386 bool, nr uint16, a0, a1, a2, a3, a4, a5 uint64) {
		table := &AMD64
		if i386 {
			table = &I386
		}
		e, ok := table.Entries[uint64(nr)]
		if !ok || e == nil {
			return
		}
		if e.Fn == nil || blocking[e.Name] || fuzzSkip[e.Name] {
			return
		}
		p, err := k.NewProcess(ProcessOptions{Creds: SameIDs(1000, 1000), I386: i386})
		if err != nil {
			t.Fatal(err)
		}
		defer k.Exit(p, 0)
		if err := p.Map(mapped, 2, mm.ProtRead|mm.ProtWrite); err != nil {
			t.Fatal(err)
		}
		if err := p.Write(mapped, []byte("/tmp\x00fuzz\x00")); err != nil {
			t.Fatal(err)
		}
		args := []uint64{a0, a1, a2, a3, a4, a5}
		done := make(chan any, 1)
		go func() {
			defer func() { done <- recover() }()
			k.Call(p, uintptr(nr), args...)
		}()
		select {
		case r := <-done:
			if r != nil {
				t.Fatalf("%s %s%#x panicked: %v", table.Name, e.Name, args, r)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("%s %s%#x did not return", table.Name, e.Name, args)
		}
	})
}
