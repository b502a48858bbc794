package memfd

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cmaemu/cmaemu/fs/vfs"
	"github.com/cmaemu/cmaemu/linux"
	"github.com/cmaemu/cmaemu/mm"
)

func newFile(t *testing.T, o Options) (*File, *Handle, *mm.RAM) {
	ram, err := mm.NewRAM(16 << 20)
	require.NoError(t, err)
	t.Cleanup(func() { ram.Close() })
	f := New(ram, o)
	h, err := f.Open(linux.O_RDWR)
	require.NoError(t, err)
	f.DecRef()
	t.Cleanup(func() { h.Close() })
	return f, h.(*Handle), ram
}

func TestReadWriteTruncate(t *testing.T) {
	f, h, ram := newFile(t, Options{Name: "x"})
	n, err := h.Write([][]byte{[]byte("hello"), []byte(" world")}, -1)
	require.NoError(t, err)
	assert.Equal(t, 11, n)
	n, err = h.Write([][]byte{[]byte("far")}, 3*mm.PageSize-1)
	require.NoError(t, err)
	assert.Equal(t, 3, n)
	a, _ := f.Attr()
	assert.Equal(t, int64(3*mm.PageSize+2), a.Size)
	assert.Equal(t, uint32(vfs.ModeRegular|0o777), a.Mode)
	assert.Equal(t, uint64(0), a.Nlink)
	assert.Equal(t, 3, f.Object().Resident(), "the hole between takes no frame")

	buf := make([]byte, 5)
	n, err = h.Read([][]byte{buf}, 6)
	require.NoError(t, err)
	assert.Equal(t, "world", string(buf[:n]))

	require.NoError(t, f.Setattr(vfs.Setattr{Mask: vfs.SetSize, Size: 2}))
	require.NoError(t, f.Setattr(vfs.Setattr{Mask: vfs.SetSize, Size: 11}))
	buf = make([]byte, 11)
	n, err = h.Read([][]byte{buf}, 0)
	require.NoError(t, err)
	assert.Equal(t, "he\x00\x00\x00\x00\x00\x00\x00\x00\x00", string(buf[:n]))
	assert.Equal(t, 1, f.Object().Resident())
	assert.Less(t, ram.UsedFrames(), 8)
}

func TestSeals(t *testing.T) {
	type step struct {
		op   string // "seal", "write", "grow", "shrink"
		arg  uint32
		want error
	}
	for _, tc := range []struct {
		name  string
		opts  Options
		steps []step
		seals uint32
	}{
		{"no sealing", Options{}, []step{{"seal", linux.F_SEAL_WRITE, linux.EPERM}}, linux.F_SEAL_SEAL},
		{"write seal", Options{AllowSealing: true}, []step{{"seal", linux.F_SEAL_WRITE, nil}, {"write", 0, linux.EPERM},
			{"grow", 0, nil}}, linux.F_SEAL_WRITE},
		{"grow and shrink", Options{AllowSealing: true}, []step{{"seal", linux.F_SEAL_GROW | linux.F_SEAL_SHRINK, nil},
			{"grow", 0, linux.EPERM}, {"shrink", 0, linux.EPERM}, {"write", 0, nil}}, linux.F_SEAL_GROW | linux.F_SEAL_SHRINK},
		{"seal seal", Options{AllowSealing: true}, []step{{"seal", linux.F_SEAL_SEAL, nil},
			{"seal", linux.F_SEAL_WRITE, linux.EPERM}}, linux.F_SEAL_SEAL},
		{"unknown", Options{AllowSealing: true}, []step{{"seal", 0x40, linux.EINVAL}}, 0},
		{"noexec", Options{NoExecSeal: true}, []step{{"seal", linux.F_SEAL_EXEC, nil}}, linux.F_SEAL_EXEC},
		{"exec seal on exec file", Options{AllowSealing: true}, []step{{"seal", linux.F_SEAL_EXEC, nil}, {"write", 0, linux.EPERM}},
			linux.F_SEAL_EXEC | linux.F_SEAL_WRITE | linux.F_SEAL_FUTURE_WRITE | linux.F_SEAL_GROW | linux.F_SEAL_SHRINK},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, h, _ := newFile(t, tc.opts)
			_, err := h.Write([][]byte{make([]byte, 100)}, 0)
			require.NoError(t, err)
			for _, s := range tc.steps {
				var err error
				switch s.op {
				case "seal":
					err = f.AddSeals(s.arg)
				case "write":
					_, err = h.Write([][]byte{[]byte("x")}, 10)
				case "grow":
					err = f.Setattr(vfs.Setattr{Mask: vfs.SetSize, Size: 200})
				case "shrink":
					err = f.Setattr(vfs.Setattr{Mask: vfs.SetSize, Size: 50})
				}
				if s.want != nil {
					assert.ErrorIs(t, err, s.want, s.op)
				} else {
					assert.NoError(t, err, s.op)
				}
			}
			assert.Equal(t, tc.seals, f.Seals())
		})
	}
}

func TestWriteSealBusy(t *testing.T) {
	f, _, ram := newFile(t, Options{AllowSealing: true})
	as, err := mm.New(ram, mm.Layout64)
	require.NoError(t, err)
	t.Cleanup(as.Release)
	addr, err := as.Map(mm.MapOpts{Length: mm.PageSize, Prot: mm.ProtRead | mm.ProtWrite, Shared: true, Object: f.Object()})
	require.NoError(t, err)
	assert.ErrorIs(t, f.AddSeals(linux.F_SEAL_WRITE), linux.EBUSY)
	require.NoError(t, as.Unmap(addr, mm.PageSize))
	_, err = as.Map(mm.MapOpts{Length: mm.PageSize, Prot: mm.ProtRead, Shared: true, Object: f.Object(), ReadOnlyFile: true})
	require.NoError(t, err)
	assert.NoError(t, f.AddSeals(linux.F_SEAL_WRITE), "a mapping that may never write")
	_, err = f.CheckMap(true)
	assert.ErrorIs(t, err, linux.EPERM)
}
