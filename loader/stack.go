package loader

import (
	"debug/elf"
	"encoding/binary"
	"fmt"
	"strings"

	"github.com/cmaemu/cmaemu/mm"
)

const (
	// maxArgStrlen bounds one argument or environment string, with its NUL
	// (MAX_ARG_STRLEN).
	maxArgStrlen = 32 * mm.PageSize
	// argLimit bounds the strings and their pointers: a quarter of the
	// stack limit (bprm_stack_limits).
	argLimit = StackSize / 4
	// kernelPtrSize is sizeof(void *) of the x86-64 kernel, also for i386
	// processes: the pointer size execve accounts for, and the gap left at
	// the top of the stack.
	kernelPtrSize = 8
)

// stackImage is the initial stack: data is the memory from sp to the top.
type stackImage struct {
	sp                                 mm.Addr
	data                               []byte
	argStart, argEnd, envStart, envEnd mm.Addr
	auxv                               []AuxEntry
}

// cstring returns s up to its first NUL, as the guest sees a C string.
func cstring(s string) string {
	if i := strings.IndexByte(s, 0); i >= 0 {
		return s[:i]
	}
	return s
}

// buildStack lays out the initial stack as Linux's execve and
// create_elf_tables do. From the top down: a zero word, the AT_EXECFN string,
// the environment strings, the argument strings (each list in order, the
// first string lowest), alignment to 16 bytes, the platform string, the 16
// AT_RANDOM bytes, then, after aligning so that the stack pointer is 16-byte
// aligned: argc, argv, NULL, envp, NULL, auxv ending with AT_NULL. ip is
// the interpreter of a dynamically linked program, or nil.
func buildStack(p, ip *plan, opts *Options) (*stackImage, error) {
	args := make([]string, len(opts.Args))
	for i, a := range opts.Args {
		args[i] = cstring(a)
	}
	env := make([]string, len(opts.Env))
	for i, e := range opts.Env {
		env[i] = cstring(e)
	}
	execfn := cstring(opts.ExecFn)
	if execfn == "" && len(args) > 0 {
		execfn = args[0]
	}

	// Limits of execve: each string, then all of them with their pointers.
	ptrs := uint64(max(len(args), 1)+len(env)) * kernelPtrSize
	if ptrs >= argLimit {
		return nil, fmt.Errorf("%w: %d arguments and %d environment strings", ErrArgListTooLong, len(args), len(env))
	}
	total := uint64(0)
	for _, list := range [][]string{{execfn}, env, args} {
		for _, s := range list {
			n := uint64(len(s)) + 1
			if n > maxArgStrlen {
				return nil, fmt.Errorf("%w: a string of %d bytes exceeds %d", ErrArgListTooLong, n, maxArgStrlen)
			}
			total += n
		}
	}
	if total > argLimit-ptrs {
		return nil, fmt.Errorf("%w: %d bytes of strings and %d of pointers exceed %d", ErrArgListTooLong, total, ptrs, argLimit)
	}
	// Linux gives a program started with no arguments an empty argv[0].
	if len(args) == 0 {
		args = []string{""}
	}

	top := p.stackTop
	pos := top - kernelPtrSize
	type str struct {
		addr mm.Addr
		s    string
	}
	var strs []str
	push := func(s string) mm.Addr {
		pos -= mm.Addr(len(s) + 1)
		strs = append(strs, str{pos, s})
		return pos
	}
	execfnAddr := push(execfn)
	envAddrs := make([]mm.Addr, len(env))
	for i := len(env) - 1; i >= 0; i-- {
		envAddrs[i] = push(env[i])
	}
	argAddrs := make([]mm.Addr, len(args))
	for i := len(args) - 1; i >= 0; i-- {
		argAddrs[i] = push(args[i])
	}
	st := &stackImage{argStart: pos, envEnd: execfnAddr}
	st.argEnd, st.envStart = execfnAddr, execfnAddr
	if len(env) > 0 {
		st.argEnd, st.envStart = envAddrs[0], envAddrs[0]
	}

	pos &^= 15
	platform := "x86_64"
	if p.class == elf.ELFCLASS32 {
		platform = "i686"
	}
	platformAddr := push(platform)
	pos -= mm.Addr(len(opts.Random))
	randomAddr := pos

	secure := uint64(0)
	if opts.UID != opts.EUID || opts.GID != opts.EGID {
		secure = 1
	}
	var auxv []AuxEntry
	add := func(t, v uint64) { auxv = append(auxv, AuxEntry{t, v}) }
	if opts.MinSigStkSz != 0 {
		add(AT_MINSIGSTKSZ, opts.MinSigStkSz)
	}
	add(AT_HWCAP, opts.HWCap)
	add(AT_PAGESZ, mm.PageSize)
	add(AT_CLKTCK, 100)
	add(AT_PHDR, uint64(p.phdr))
	add(AT_PHENT, p.phent)
	add(AT_PHNUM, p.phnum)
	base := uint64(0)
	if ip != nil {
		base = uint64(ip.bias) // load_elf_interp's load address
	}
	add(AT_BASE, base)
	add(AT_FLAGS, 0)
	add(AT_ENTRY, uint64(p.entry))
	add(AT_UID, uint64(opts.UID))
	add(AT_EUID, uint64(opts.EUID))
	add(AT_GID, uint64(opts.GID))
	add(AT_EGID, uint64(opts.EGID))
	add(AT_SECURE, secure)
	add(AT_RANDOM, uint64(randomAddr))
	add(AT_HWCAP2, opts.HWCap2)
	add(AT_EXECFN, uint64(execfnAddr))
	add(AT_PLATFORM, uint64(platformAddr))
	ws := mm.Addr(p.wordSize())
	if ws == 4 {
		for i := range auxv {
			auxv[i].Val &= 0xffffffff
		}
	}

	sp := pos - mm.Addr(2*(len(auxv)+1))*ws // with AT_NULL
	items := mm.Addr(len(args)+1+len(env)+1+1) * ws
	sp = (sp - items) &^ 15

	st.sp = sp
	st.auxv = auxv
	st.data = make([]byte, top-sp)
	buf := st.data
	put := func(addr mm.Addr, b []byte) { copy(buf[addr-sp:], b) }
	w := sp
	word := func(v uint64) {
		if ws == 4 {
			binary.LittleEndian.PutUint32(buf[w-sp:], uint32(v))
		} else {
			binary.LittleEndian.PutUint64(buf[w-sp:], v)
		}
		w += ws
	}
	for _, s := range strs {
		put(s.addr, []byte(s.s)) // the NUL is already zero
	}
	put(randomAddr, opts.Random[:])
	word(uint64(len(args)))
	for _, a := range argAddrs {
		word(uint64(a))
	}
	word(0)
	for _, a := range envAddrs {
		word(uint64(a))
	}
	word(0)
	for _, e := range auxv {
		word(e.Type)
		word(e.Val)
	}
	word(AT_NULL)
	word(0)
	return st, nil
}
