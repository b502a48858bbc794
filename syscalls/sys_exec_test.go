package syscalls

import (
	"encoding/binary"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cmaemu/cmaemu/arch"
	"github.com/cmaemu/cmaemu/linux"
	"github.com/cmaemu/cmaemu/loader"
	"github.com/cmaemu/cmaemu/mm"
)

// execEnv is a kernel with one process whose task loads programs as
// execve would, through the guest's view of the files.
type execEnv struct {
	k *Kernel
	t *Task
}

func newExecEnv(t *testing.T, cfg Config, creds Creds) *execEnv {
	ram, err := mm.NewRAM(256 << 20)
	require.NoError(t, err)
	t.Cleanup(func() { ram.Close() })
	cfg.RAM = ram
	k := NewKernel(cfg)
	p, err := k.NewProcess(ProcessOptions{Creds: creds})
	require.NoError(t, err)
	return &execEnv{k: k, t: p.Main()}
}

// load runs loadProgram for path from the working directory.
func (e *execEnv) load(path string, argv ...string) (*image, error) {
	root, cwd := e.t.proc.fs.dirs()
	root.DecRef()
	defer cwd.DecRef()
	return e.t.loadProgram(cwd, path, nil, execName{name: path}, append([]string{path}, argv...), []string{"A=1"})
}

// auxvOf decodes the auxiliary vector img recorded for /proc/PID/auxv.
func auxvOf(img *image) map[uint64]uint64 {
	out := map[uint64]uint64{}
	b := img.info.auxv
	for len(b) > 0 {
		var typ, val uint64
		if img.mode == arch.Mode32 {
			typ, val, b = uint64(binary.LittleEndian.Uint32(b)), uint64(binary.LittleEndian.Uint32(b[4:])), b[8:]
		} else {
			typ, val, b = binary.LittleEndian.Uint64(b), binary.LittleEndian.Uint64(b[8:]), b[16:]
		}
		out[typ] = val
	}
	return out
}

// names returns the file names of img's mappings, in address order.
func names(img *image) map[string][]mm.VMA {
	out := map[string][]mm.VMA{}
	for _, v := range img.mm.VMAs() {
		if v.File != nil {
			out[v.File.Name()] = append(out[v.File.Name()], v)
		}
	}
	return out
}

// hostInterp returns the PT_INTERP of a host program, skipping the test if
// it has none or it is missing.
func hostInterp(t *testing.T, prog string) string {
	f, err := os.Open(prog)
	if err != nil {
		t.Skipf("%s: %v", prog, err)
	}
	defer f.Close()
	interp, err := loader.Interp(f)
	require.NoError(t, err)
	if interp == "" {
		t.Skipf("%s is statically linked", prog)
	}
	if _, err := os.Stat(interp); err != nil {
		t.Skipf("interpreter %s: %v", interp, err)
	}
	return interp
}

// TestLoadHostDynamic loads /bin/true and its own interpreter through the
// VFS: both are mapped from their files (as /proc/PID/maps names them), the
// interpreter right below the mmap base, and the auxiliary vector carries
// AT_BASE, the program's AT_ENTRY and the emulated CPU's values.
func TestLoadHostDynamic(t *testing.T) {
	interp := hostInterp(t, "/bin/true")
	e := newExecEnv(t, Config{}, SameIDs(1000, 1000))
	img, err := e.load("/bin/true")
	require.NoError(t, err)
	defer img.release()

	real, err := filepath.EvalSymlinks(interp)
	require.NoError(t, err)
	exe, err := filepath.EvalSymlinks("/bin/true")
	require.NoError(t, err)
	n := names(img)
	require.NotEmpty(t, n[exe], "the program's pages come from %s: %v", exe, n)
	require.NotEmpty(t, n[real], "the interpreter's pages come from %s: %v", real, n)
	iv := n[real]
	base := iv[0].Range.Start
	assert.Equal(t, mm.Layout64.MmapBase, iv[len(iv)-1].Range.End, "the interpreter ends at the mmap base")
	assert.Zero(t, iv[0].Offset)
	assert.Equal(t, mm.Addr(0x555555554000), n[exe][0].Range.Start, "a PIE at ELF_ET_DYN_BASE")

	aux := auxvOf(img)
	assert.Equal(t, uint64(base), aux[loader.AT_BASE])
	assert.NotEqual(t, aux[loader.AT_ENTRY], img.regs.RIP, "the process starts in the interpreter")
	assert.Equal(t, uint64(hwcap), aux[loader.AT_HWCAP])
	assert.Equal(t, uint64(hwcap2), aux[loader.AT_HWCAP2])
	assert.Equal(t, uint64(1520), aux[loader.AT_MINSIGSTKSZ], "XSAVE-format frames of x87 and SSE")
	assert.Equal(t, uint64(0), aux[loader.AT_SECURE])
	assert.Equal(t, uint64(1000), aux[loader.AT_UID])
	_, vdso := aux[loader.AT_SYSINFO_EHDR]
	assert.False(t, vdso)
	assert.Equal(t, "true", commOf(img.exeName))

	// The interpreter run as the program: below the mmap base too.
	img2, err := e.load(interp, "/bin/true")
	require.NoError(t, err)
	defer img2.release()
	iv2 := names(img2)[real]
	require.NotEmpty(t, iv2)
	assert.Equal(t, base, iv2[0].Range.Start)
}

// TestLoadHostDynamicI386 loads an i386 dynamically linked program with the
// host's multiarch libraries, if gcc -m32 can build one.
func TestLoadHostDynamicI386(t *testing.T) {
	if _, err := os.Stat("/lib/ld-linux.so.2"); err != nil {
		t.Skip("no i386 interpreter /lib/ld-linux.so.2")
	}
	prog := buildGuest(t, "-m32")
	e := newExecEnv(t, Config{}, SameIDs(0, 0))
	img, err := e.load(prog)
	require.NoError(t, err)
	defer img.release()
	real, err := filepath.EvalSymlinks("/lib/ld-linux.so.2")
	require.NoError(t, err)
	iv := names(img)[real]
	require.NotEmpty(t, iv)
	assert.Equal(t, mm.Layout32.MmapBase, iv[len(iv)-1].Range.End)
	assert.Equal(t, mm.Addr(0x56555000), names(img)[prog][0].Range.Start)
}

// buildGuest compiles a small dynamically linked C program with gcc and
// the given flags, skipping the test if that fails.
func buildGuest(t *testing.T, flags ...string) string {
	if _, err := exec.LookPath("gcc"); err != nil {
		t.Skip("gcc not installed")
	}
	dir := t.TempDir()
	src := filepath.Join(dir, "p.c")
	require.NoError(t, os.WriteFile(src, []byte("int main(void) { return 0; }\n"), 0o644))
	out := filepath.Join(dir, "p")
	if b, err := exec.Command("gcc", append(flags, "-o", out, src)...).CombinedOutput(); err != nil {
		t.Skipf("gcc %v: %v: %s", flags, err, b)
	}
	return out
}

// TestLoadInterpErrors: execve's errors for an interpreter that cannot be
// loaded, as Linux gives them: ENOENT (missing, also under --root),
// EACCES (no execute permission, not a regular file), ELIBBAD (not a
// usable ELF file for the program), ENOEXEC (a bad PT_INTERP).
func TestLoadInterpErrors(t *testing.T) {
	interp := hostInterp(t, "/bin/true")
	dir := t.TempDir()
	ldData, err := os.ReadFile(interp)
	require.NoError(t, err)
	noexec := filepath.Join(dir, "ld-noexec.so")
	require.NoError(t, os.WriteFile(noexec, ldData, 0o644))
	text := filepath.Join(dir, "ld-text.so")
	require.NoError(t, os.WriteFile(text, []byte("#!/bin/sh\n"), 0o755))

	tests := []struct {
		name   string
		interp string
		errno  linux.Errno
	}{
		{"missing", "/lib/ld-musl-x86_64.so.1-not-there", linux.ENOENT},
		{"no exec permission", noexec, linux.EACCES},
		{"directory", dir, linux.EACCES},
		{"not ELF", text, linux.ELIBBAD},
		{"i386 interpreter", "/lib/ld-linux.so.2", linux.ELIBBAD},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := os.Stat(tt.interp); tt.errno != linux.ENOENT && err != nil {
				t.Skipf("%s: %v", tt.interp, err)
			}
			prog := buildGuest(t, "-Wl,--dynamic-linker="+tt.interp)
			e := newExecEnv(t, Config{}, SameIDs(0, 0))
			_, err := e.load(prog)
			require.Error(t, err)
			t.Log(err)
			assert.Equal(t, tt.errno, errnoOf(err))
			var ie *loader.InterpError
			require.ErrorAs(t, err, &ie)
			assert.Equal(t, tt.interp, ie.Name)
		})
	}

	// A PT_INTERP that is not NUL-terminated is ENOEXEC.
	prog := buildGuest(t)
	b, err := os.ReadFile(prog)
	require.NoError(t, err)
	i := strings.Index(string(b), interp+"\x00")
	require.Positive(t, i)
	b[i+len(interp)] = 'x'
	bad := filepath.Join(dir, "bad")
	require.NoError(t, os.WriteFile(bad, b, 0o755))
	e := newExecEnv(t, Config{}, SameIDs(0, 0))
	_, err = e.load(bad)
	assert.Equal(t, linux.ENOEXEC, errnoOf(err))
}

// TestLoadInterpUnderRoot: with --root, the interpreter is the guest's:
// missing under the root is ENOENT even though the host has it, and a
// copy under the root is what gets mapped.
func TestLoadInterpUnderRoot(t *testing.T) {
	interp := hostInterp(t, "/bin/true")
	root := t.TempDir()
	require.NoError(t, os.MkdirAll(filepath.Join(root, "bin"), 0o755))
	data, err := os.ReadFile("/bin/true")
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(root, "bin/true"), data, 0o755))

	e := newExecEnv(t, Config{Root: root}, SameIDs(0, 0))
	_, err = e.load("/bin/true")
	require.Error(t, err)
	assert.Equal(t, linux.ENOENT, errnoOf(err))
	var ie *loader.InterpError
	require.True(t, errors.As(err, &ie))
	assert.Equal(t, interp, ie.Name)

	ld, err := os.ReadFile(interp)
	require.NoError(t, err)
	require.NoError(t, os.MkdirAll(filepath.Join(root, filepath.Dir(interp)), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(root, interp), ld, 0o755))
	img, err := e.load("/bin/true")
	require.NoError(t, err)
	defer img.release()
	assert.NotEmpty(t, names(img)[interp], "the root's copy, by its guest name")
}

// TestLoadScriptExecFn: a #! script keeps its own name as AT_EXECFN and
// process name, whatever runs it, as Linux does.
func TestLoadScriptExecFn(t *testing.T) {
	hostInterp(t, "/bin/true")
	dir := t.TempDir()
	script := filepath.Join(dir, "my-script")
	require.NoError(t, os.WriteFile(script, []byte("#!/bin/true -x\n"), 0o755))
	e := newExecEnv(t, Config{}, SameIDs(0, 0))
	img, err := e.load(script)
	require.NoError(t, err)
	defer img.release()
	assert.Equal(t, "my-script", commOf(img.exeName))
	s, err := img.mm.CopyInString(mm.Addr(auxvOf(img)[loader.AT_EXECFN]), 4096)
	require.NoError(t, err)
	assert.Equal(t, script, s)
}

// TestSigframeSize: AT_MINSIGSTKSZ as Linux computes it.
func TestSigframeSize(t *testing.T) {
	assert.Equal(t, uint64(1440), sigframeSize(512, false), "FXSAVE")
	assert.Equal(t, uint64(1520), sigframeSize(576, true), "XSAVE of x87 and SSE")
	// Measured: a 6.18 kernel with AVX-512 (a 2432-byte XSAVE area)
	// reports 3376.
	assert.Equal(t, uint64(3376), sigframeSize(2432, true))
	assert.Equal(t, minSigStkSz, sigframeSize(xsaveSSESize, true))
	assert.Equal(t, uint64(arch.MinSigStkSz), minSigStkSz, "the signal frames' own figure")
}
