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
