package syscalls_test

import (
	"encoding/binary"
	"fmt"

	"github.com/cmaemu/cmaemu/linux"
	"github.com/cmaemu/cmaemu/mm"
	"github.com/cmaemu/cmaemu/syscalls"
)

// iovecs lays out struct iovec elements in p's memory at addr.
func iovecs(p *syscalls.Process, addr mm.Addr, elems ...uint64) {
	b := make([]byte, 8*len(elems))
	for i, v := range elems {
		binary.LittleEndian.PutUint64(b[8*i:], v)
	}
	if err := p.Write(addr, b); err != nil {
		panic(err)
	}
}

// A parent reads 5 bytes out of its forked child with process_vm_readv.
func Example() {
	ram, _ := mm.NewRAM(64 << 20)
	defer ram.Close()
	k := syscalls.NewKernel(syscalls.Config{RAM: ram})

	parent, _ := k.NewProcess(syscalls.ProcessOptions{Creds: syscalls.SameIDs(1000, 1000)})
	parent.Map(0x10000, 1, mm.ProtRead|mm.ProtWrite)
	child, _ := k.Fork(parent)
	child.Map(0x20000, 1, mm.ProtRead)
	child.Write(0x20000, []byte("hello"))

	iovecs(parent, 0x10000, 0x10100, 5) // local: {0x10100, 5}
	iovecs(parent, 0x10010, 0x20000, 5) // remote: {0x20000, 5}
	n, errno := k.Call(parent, linux.SysAMD64ProcessVmReadv, uint64(child.PID()), 0x10000, 1, 0x10010, 1, 0)
	got, _ := parent.Read(0x10100, 5)
	fmt.Println(n, errno.Name(), string(got))
	// Output: 5 0 hello
}

// Different users may not read each other's memory; root may.
func ExampleKernel_Call_permission() {
	ram, _ := mm.NewRAM(64 << 20)
	defer ram.Close()
	k := syscalls.NewKernel(syscalls.Config{RAM: ram})

	alice, _ := k.NewProcess(syscalls.ProcessOptions{Creds: syscalls.SameIDs(1000, 1000)})
	bob, _ := k.NewProcess(syscalls.ProcessOptions{Creds: syscalls.SameIDs(1001, 1001)})
	root, _ := k.NewProcess(syscalls.ProcessOptions{Creds: syscalls.SameIDs(0, 0)})
	bob.Map(0x20000, 1, mm.ProtRead|mm.ProtWrite)
	for _, p := range []*syscalls.Process{alice, root} {
		p.Map(0x10000, 1, mm.ProtRead|mm.ProtWrite)
		iovecs(p, 0x10000, 0x10100, 8, 0x20000, 8)
		_, errno := k.Call(p, linux.SysAMD64ProcessVmReadv, uint64(bob.PID()), 0x10000, 1, 0x10010, 1, 0)
		fmt.Println(errno.Name())
	}
	// Output:
	// EPERM
	// 0
}

// A process started as root reads another user's memory, then drops to uid
// 1000 with setuid: without CAP_SYS_PTRACE, uid 1001's process is out of
// reach.
func ExampleKernel_Call_setuid() {
	ram, _ := mm.NewRAM(64 << 20)
	defer ram.Close()
	k := syscalls.NewKernel(syscalls.Config{RAM: ram})

	daemon, _ := k.NewProcess(syscalls.ProcessOptions{Creds: syscalls.SameIDs(0, 0)})
	bob, _ := k.NewProcess(syscalls.ProcessOptions{Creds: syscalls.SameIDs(1001, 1001)})
	bob.Map(0x20000, 1, mm.ProtRead|mm.ProtWrite)
	daemon.Map(0x10000, 1, mm.ProtRead|mm.ProtWrite)
	iovecs(daemon, 0x10000, 0x10100, 8, 0x20000, 8) // local {0x10100, 8}, remote {0x20000, 8}

	n, errno := k.Call(daemon, linux.SysAMD64ProcessVmReadv, uint64(bob.PID()), 0x10000, 1, 0x10010, 1, 0)
	fmt.Println("as root:", n, errno.Name())
	_, errno = k.Call(daemon, linux.SysAMD64Setuid, 1000)
	fmt.Println("setuid(1000):", errno.Name())
	n, errno = k.Call(daemon, linux.SysAMD64ProcessVmReadv, uint64(bob.PID()), 0x10000, 1, 0x10010, 1, 0)
	fmt.Println("as uid 1000:", n, errno.Name())
	// Output:
	// as root: 8 0
	// setuid(1000): 0
	// as uid 1000: 0 EPERM
}

// A worker started as root becomes uid 1000 with setgid and setuid. The
// change of ids makes it non-dumpable, so even another uid-1000 process
// may not read it, until the worker calls prctl(PR_SET_DUMPABLE, 1).
func ExampleKernel_Call_dumpable() {
	ram, _ := mm.NewRAM(64 << 20)
	defer ram.Close()
	k := syscalls.NewKernel(syscalls.Config{RAM: ram})

	worker, _ := k.NewProcess(syscalls.ProcessOptions{Creds: syscalls.SameIDs(0, 0)})
	worker.Map(0x20000, 1, mm.ProtRead|mm.ProtWrite)
	k.Call(worker, linux.SysAMD64Setgid, 1000)
	k.Call(worker, linux.SysAMD64Setuid, 1000)

	peer, _ := k.NewProcess(syscalls.ProcessOptions{Creds: syscalls.SameIDs(1000, 1000)})
	peer.Map(0x10000, 1, mm.ProtRead|mm.ProtWrite)
	iovecs(peer, 0x10000, 0x10100, 8, 0x20000, 8) // local {0x10100, 8}, remote {0x20000, 8}

	_, errno := k.Call(peer, linux.SysAMD64ProcessVmReadv, uint64(worker.PID()), 0x10000, 1, 0x10010, 1, 0)
	fmt.Println("after setuid:", errno.Name())
	const prSetDumpable = 4
	k.Call(worker, linux.SysAMD64Prctl, prSetDumpable, 1)
	n, errno := k.Call(peer, linux.SysAMD64ProcessVmReadv, uint64(worker.PID()), 0x10000, 1, 0x10010, 1, 0)
	fmt.Println("after PR_SET_DUMPABLE:", n, errno.Name())
	// Output:
	// after setuid: EPERM
	// after PR_SET_DUMPABLE: 8 0
}

// A copy that runs into a PROT_NONE page stops there: the result is the
// number of bytes before it, not an error.
func ExampleKernel_Call_partial() {
	ram, _ := mm.NewRAM(64 << 20)
	defer ram.Close()
	k := syscalls.NewKernel(syscalls.Config{RAM: ram})

	parent, _ := k.NewProcess(syscalls.ProcessOptions{Creds: syscalls.SameIDs(1000, 1000)})
	parent.Map(0x10000, 1, mm.ProtRead|mm.ProtWrite)
	child, _ := k.Fork(parent)
	child.Map(0x20000, 1, mm.ProtRead)
	child.Map(0x21000, 1, mm.ProtNone)
	child.Write(0x20ffa, []byte("edge:!"))

	// Ask for 16 bytes from 6 bytes before the PROT_NONE page.
	iovecs(parent, 0x10000, 0x10100, 16, 0x20ffa, 16) // local {0x10100, 16}, remote {0x20ffa, 16}
	n, errno := k.Call(parent, linux.SysAMD64ProcessVmReadv, uint64(child.PID()), 0x10000, 1, 0x10010, 1, 0)
	got, _ := parent.Read(0x10100, int(n))
	fmt.Println(n, errno.Name(), string(got))

	// Starting inside the PROT_NONE page, nothing is copied: EFAULT.
	iovecs(parent, 0x10010, 0x21000, 16)
	_, errno = k.Call(parent, linux.SysAMD64ProcessVmReadv, uint64(child.PID()), 0x10000, 1, 0x10010, 1, 0)
	fmt.Println(errno.Name())
	// Output:
	// 6 0 edge:!
	// EFAULT
}

// An i386 process calls the compat process_vm_readv (347), whose iovecs are
// {u32 iov_base, u32 iov_len}: 8 bytes each instead of 16.
func ExampleKernel_Call_i386() {
	ram, _ := mm.NewRAM(64 << 20)
	defer ram.Close()
	k := syscalls.NewKernel(syscalls.Config{RAM: ram})

	parent, _ := k.NewProcess(syscalls.ProcessOptions{Creds: syscalls.SameIDs(1000, 1000), I386: true})
	parent.Map(0x10000, 1, mm.ProtRead|mm.ProtWrite)
	child, _ := k.Fork(parent)
	child.Map(0x20000, 1, mm.ProtRead)
	child.Write(0x20000, []byte("from i386"))

	iov32 := make([]byte, 16)
	binary.LittleEndian.PutUint32(iov32[0:], 0x10100) // local: {0x10100, 9}
	binary.LittleEndian.PutUint32(iov32[4:], 9)
	binary.LittleEndian.PutUint32(iov32[8:], 0x20000) // remote: {0x20000, 9}
	binary.LittleEndian.PutUint32(iov32[12:], 9)
	parent.Write(0x10000, iov32)
	n, errno := k.Call(parent, linux.Sys386ProcessVmReadv, uint64(child.PID()), 0x10000, 1, 0x10008, 1, 0)
	got, _ := parent.Read(0x10100, 9)
	fmt.Println(n, errno.Name(), string(got))
	// Output: 9 0 from i386
}
