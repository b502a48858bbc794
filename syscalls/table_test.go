package syscalls

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/cmaemu/cmaemu/linux"
)

// The table is data: check it against the kernel's own numbering.
func TestAMD64TableMatchesKernelNames(t *testing.T) {
	for nr, e := range AMD64.Entries {
		want, ok := linux.SysAMD64Names[uintptr(nr)]
		if assert.True(t, ok, "syscall %d is not in asm/unistd_64.h", nr) {
			assert.Equal(t, want, e.Name, "syscall %d", nr)
		}
		if e.Fn == nil {
			assert.NotEmpty(t, e.Note, "%s answers ENOSYS deliberately: say why", e.Name)
		}
	}
}

func TestUnknownSyscallIsENOSYS(t *testing.T) {
	assert.Nil(t, AMD64.lookup(10000))
	assert.Equal(t, "syscall_10000", AMD64.name(10000))
	assert.Equal(t, "kexec_load", AMD64.name(linux.SysAMD64KexecLoad))
}

func TestQuoteLikeStrace(t *testing.T) {
	cases := []struct {
		in   string
		more bool
		want string
	}{
		{"hello\n", false, `"hello\n"`},
		{"\x00\x01a", false, `"\0\1a"`},
		{"\x001", false, `"\0001"`},
		{`q"\`, false, `"q\"\\"`},
		{"\x7f\xff", false, `"\177\377"`},
		{"0123456789abcdef0123456789abcdefXYZ", false, `"0123456789abcdef0123456789abcdef"...`},
		{"cut", true, `"cut"...`},
	}
	for _, c := range cases {
		assert.Equal(t, c.want, quote([]byte(c.in), c.more), "%q", c.in)
	}
}

func TestFormatFlags(t *testing.T) {
	assert.Equal(t, "O_WRONLY|O_CREAT|O_TRUNC", formatOpenFlags(0o1101))
	assert.Equal(t, "O_RDONLY|O_CLOEXEC", formatOpenFlags(0o2000000))
	assert.Equal(t, "MAP_PRIVATE|MAP_ANONYMOUS", formatMapFlags(0x22))
	assert.Equal(t, "PROT_READ|PROT_WRITE", formatFlags(3, protNames, "PROT_NONE"))
	assert.Equal(t, "PROT_NONE", formatFlags(0, protNames, "PROT_NONE"))
}

func TestExitStatusEncoding(t *testing.T) {
	assert.Equal(t, uint32(0x2a00), ExitStatus{Code: 42}.WaitStatus())
	assert.Equal(t, uint32(0x8b), ExitStatus{Signal: linux.SIGSEGV, Core: true}.WaitStatus())
	assert.Equal(t, 139, ExitStatus{Signal: linux.SIGSEGV}.ShellStatus())
	assert.Equal(t, 0, ExitStatus{Code: 256}.ShellStatus())
}
