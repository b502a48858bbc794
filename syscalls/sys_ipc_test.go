package syscalls

import (
	"encoding/binary"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cmaemu/cmaemu/linux"
	"github.com/cmaemu/cmaemu/mm"
)

// TestIpcMultiplexer calls i386's ipc(2) for shared memory: the IPC_64
// and old layouts of IPC_STAT and IPC_SET, SHMAT's address through the
// third argument, and a segment seen from an x86-64 process.
func TestIpcMultiplexer(t *testing.T) {
	ram, err := mm.NewRAM(32 << 20)
	require.NoError(t, err)
	t.Cleanup(func() { ram.Close() })
	k := NewKernel(Config{RAM: ram})
	p, err := k.NewProcess(ProcessOptions{Creds: SameIDs(70000, 1000), I386: true})
	require.NoError(t, err)
	const buf = 0x100000
	require.NoError(t, p.Map(buf, 1, mm.ProtRead|mm.ProtWrite))
	ipc := func(call uint32, first, second, third, ptr, fifth uint64) (uintptr, linux.Errno) {
		return k.Call(p, linux.Sys386Ipc, uint64(call), first, second, third, ptr, fifth)
	}

	id, errno := ipc(linux.IPCOP_SHMGET, linux.IPC_PRIVATE, 5000, 0o640, 0, 0)
	require.Zero(t, errno)
	_, errno = ipc(linux.IPCOP_SHMAT, uint64(id), 0, buf, 0, 0)
	require.Zero(t, errno)
	b, err := p.Read(buf, 4)
	require.NoError(t, err)
	addr := mm.Addr(binary.LittleEndian.Uint32(b))
	assert.NotZero(t, addr, "the address is stored through the third argument")
	require.NoError(t, p.Write(addr, []byte("compat")))

	for _, tc := range []struct {
		name                   string
		cmd                    uint64
		uid, mode, segsz, natt int // offsets
		uidSize                int
		wantUID                uint32
	}{
		{"IPC_64", linux.IPC_STAT | linux.IPC_64, 4, 20, 36, 72, 4, 70000},
		{"old", linux.IPC_STAT, 4, 12, 16, 36, 2, 65534},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, errno := ipc(linux.IPCOP_SHMCTL, uint64(id), tc.cmd, 0, buf+64, 0)
			require.Zero(t, errno)
			ds, err := p.Read(buf+64, 96)
			require.NoError(t, err)
			uid := uint32(binary.LittleEndian.Uint16(ds[tc.uid:]))
			if tc.uidSize == 4 {
				uid = binary.LittleEndian.Uint32(ds[tc.uid:])
			}
			assert.Equal(t, tc.wantUID, uid)
			assert.Equal(t, uint16(0o640), binary.LittleEndian.Uint16(ds[tc.mode:]))
			assert.Equal(t, uint32(5000), binary.LittleEndian.Uint32(ds[tc.segsz:]))
			assert.Equal(t, uint16(1), binary.LittleEndian.Uint16(ds[tc.natt:]))
		})
	}

	// IPC_SET in the old layout: 16-bit ids, the mode's low bits.
	set := make([]byte, 16)
	binary.LittleEndian.PutUint16(set[4:], 1234)
	binary.LittleEndian.PutUint16(set[6:], 55)
	binary.LittleEndian.PutUint16(set[12:], 0o604)
	require.NoError(t, p.Write(buf+200, set))
	_, errno = ipc(linux.IPCOP_SHMCTL, uint64(id), linux.IPC_SET, 0, buf+200, 0)
	require.Zero(t, errno, "the creator owns it")
	_, errno = ipc(linux.IPCOP_SHMCTL, uint64(id), linux.IPC_STAT|linux.IPC_64, 0, buf+64, 0)
	require.Zero(t, errno)
	ds64, err := p.Read(buf+64, 36)
	require.NoError(t, err)
	assert.Equal(t, []uint32{1234, 55, 70000}, []uint32{binary.LittleEndian.Uint32(ds64[4:]),
		binary.LittleEndian.Uint32(ds64[8:]), binary.LittleEndian.Uint32(ds64[12:])})
	assert.Equal(t, uint16(0o604), binary.LittleEndian.Uint16(ds64[20:]))

	wide, err := k.NewProcess(ProcessOptions{Creds: SameIDs(0, 0)})
	require.NoError(t, err)
	require.NoError(t, wide.Map(buf, 1, mm.ProtRead|mm.ProtWrite))
	got, errno := k.Call(wide, linux.SysAMD64Shmat, uint64(id), 0, 0)
	require.Zero(t, errno)
	text, err := wide.Read(mm.Addr(got), 6)
	require.NoError(t, err)
	assert.Equal(t, "compat", string(text), "one segment in every process")
	require.NoError(t, wide.Write(buf, set))
	_, errno = k.Call(wide, linux.SysAMD64Shmctl, uint64(id), linux.IPC_STAT, buf)
	require.Zero(t, errno)
	ds, err := wide.Read(buf, 112)
	require.NoError(t, err)
	assert.Equal(t, uint64(2), binary.LittleEndian.Uint64(ds[88:]), "nattch of both attaches")
	_, errno = k.Call(wide, linux.SysAMD64Shmctl, uint64(id), linux.IPC_STAT|linux.IPC_64, buf)
	assert.Equal(t, linux.EINVAL, errno, "x86-64 knows no IPC_64")

	_, errno = ipc(99, 0, 0, 0, 0, 0)
	assert.Equal(t, linux.ENOSYS, errno)
	_, errno = ipc(linux.IPCOP_SHMAT|1<<16, uint64(id), 0, buf, 0, 0)
	assert.Equal(t, linux.EINVAL, errno, "version 1 (iBCS2) shmat")
}
