package procfs

import (
	"fmt"
	"hash/fnv"
	"strconv"
	"strings"
	"time"

	"github.com/cmaemu/cmaemu/fs/vfs"
	"github.com/cmaemu/cmaemu/linux"
	"github.com/cmaemu/cmaemu/mm"
)

// The per-process files, in the formats of Linux 6.x (fs/proc/array.c,
// base.c, task_mmu.c, proc_namespace.c, fd.c).

// userHZ is USER_HZ: the tick of the times in stat.
const userHZ = 100

func ticks(d time.Duration) uint64 { return uint64(d / (time.Second / userHZ)) }

// State names of status.
var stateNames = map[byte]string{
	'R': "R (running)", 'S': "S (sleeping)", 'D': "D (disk sleep)", 'T': "T (stopped)",
	't': "t (tracing stop)", 'X': "X (dead)", 'Z': "Z (zombie)", 'P': "P (parked)", 'I': "I (idle)",
}

// vmCounts are the page counts of an address space's mappings by kind,
// as Linux's vm_stat_account keeps them.
type vmCounts struct {
	total, data, stack, exec uint64 // pages
}

func countVM(vmas []mm.VMA) vmCounts {
	var c vmCounts
	for _, v := range vmas {
		pages := v.Range.Length() >> mm.PageShift
		c.total += pages
		stack := v.Name == "[stack]"
		switch {
		case stack:
			c.stack += pages
		case v.Prot&mm.ProtExec != 0 && v.Prot&mm.ProtWrite == 0:
			c.exec += pages
		case v.Prot&mm.ProtWrite != 0 && !v.Shared:
			c.data += pages
		}
	}
	return c
}

// textBytes is the size of the program text: the pages from start_code
// to end_code.
func textBytes(l Layout) uint64 {
	end, _ := l.EndCode.RoundUp()
	start := l.StartCode.RoundDown()
	if end < start {
		return 0
	}
	return uint64(end - start)
}

// showPidStat is /proc/PID/stat: the 52 fields of do_task_stat.
func showPidStat(x *proc, _ *mm.MM) ([]byte, error) {
	info, ti := x.p.Info(), x.t.Info()
	permitted := x.may(PtraceReadFSCreds)
	minFlt, majFlt, utime, stime := ti.MinFlt, ti.MajFlt, ti.UTime, ti.STime
	tasks := x.p.Tasks()
	if x.whole {
		minFlt, majFlt, utime, stime = 0, 0, 0, 0
		for _, t := range tasks {
			i := t.Info()
			minFlt += i.MinFlt
			majFlt += i.MajFlt
			utime += i.UTime
			stime += i.STime
		}
	}
	var vsize, rss uint64
	as := x.p.MM()
	if as != nil {
		defer as.DropUser()
		vsize = countVM(as.VMAs()).total << mm.PageShift
		rss = as.Stats().Resident >> mm.PageShift
	}
	wchan := 0
	if ti.State != 'R' {
		wchan = 1
	}
	l := info.Layout
	mmField := func(v mm.Addr, ifDenied uint64) uint64 {
		switch {
		case as == nil:
			return 0
		case !permitted:
			return ifDenied
		}
		return uint64(v)
	}
	const sigMask = 0x7fffffff // the old 31-signal sets
	var b strings.Builder
	fmt.Fprintf(&b, "%d (%s) %c %d %d %d %d %d %d %d %d %d %d %d %d %d %d %d %d %d 0 %d %d %d %d",
		x.t.TID(), ti.Comm, ti.State, info.PPID, info.PGID, info.SID, info.TTY, info.TPGID, info.Flags,
		minFlt, 0, majFlt, 0, ticks(utime), ticks(stime), ticks(info.ChildUTime), ticks(info.ChildSTime),
		20, 0, len(tasks), ticks(ti.StartTime), vsize, rss, info.Limits[rlimitRSS].Cur)
	fmt.Fprintf(&b, " %d %d %d 0 0 %d %d %d %d %d 0 0 %d %d 0 0 0 0 0",
		mmField(l.StartCode, 1), mmField(l.EndCode, 1), mmField(l.StartStack, 0),
		ti.SigPending&sigMask, ti.SigBlocked&sigMask, info.SigIgnored&sigMask, info.SigCaught&sigMask, wchan,
		info.ExitSignal, ti.CPU)
	if as != nil && permitted {
		fmt.Fprintf(&b, " %d %d %d %d %d %d %d", l.StartData, l.EndData, l.StartBrk, l.ArgStart, l.ArgEnd, l.EnvStart, l.EnvEnd)
	} else {
		b.WriteString(" 0 0 0 0 0 0 0")
	}
	if permitted {
		fmt.Fprintf(&b, " %d\n", info.ExitCode)
	} else {
		b.WriteString(" 0\n")
	}
	return []byte(b.String()), nil
}

// RLIMIT_* indices used here.
const (
	rlimitRSS        = 5
	rlimitSigPending = 11
)

// escapeComm escapes a name for status: "\n" and "\\" (proc_task_name
// with escaping).
func escapeComm(s string) string {
	return strings.NewReplacer("\\", "\\\\", "\n", "\\n").Replace(s)
}

// Capability sets: every capability of Linux 6.x (CAP_LAST_CAP 40).
const capFull = 1<<41 - 1

// showStatus is /proc/PID/status.
func showStatus(x *proc, _ *mm.MM) ([]byte, error) {
	info, ti := x.p.Info(), x.t.Info()
	sys := x.fs.k.System()
	c := info.Creds
	zombie := x.zombie()
	var b strings.Builder
	fmt.Fprintf(&b, "Name:\t%s\n", escapeComm(ti.Comm))
	if !zombie {
		fmt.Fprintf(&b, "Umask:\t%04o\n", info.Umask&0o777)
	}
	state := stateNames[ti.State]
	if state == "" {
		state = string(ti.State)
	}
	fmt.Fprintf(&b, "State:\t%s\nTgid:\t%d\nNgid:\t0\nPid:\t%d\nPPid:\t%d\nTracerPid:\t0\n", state, x.p.PID(), x.t.TID(), info.PPID)
	fmt.Fprintf(&b, "Uid:\t%d\t%d\t%d\t%d\nGid:\t%d\t%d\t%d\t%d\n", c.RUID, c.EUID, c.SUID, c.FSUID, c.RGID, c.EGID, c.SGID, c.FSGID)
	fdSize := info.FDSize
	if zombie {
		fdSize = 0
	}
	fmt.Fprintf(&b, "FDSize:\t%d\nGroups:\t", fdSize)
	for i, g := range c.Groups {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(strconv.FormatUint(uint64(g), 10))
	}
	fmt.Fprintf(&b, " \nNStgid:\t%d\nNSpid:\t%d\nNSpgid:\t%d\nNSsid:\t%d\nKthread:\t0\n", x.p.PID(), x.t.TID(), info.PGID, info.SID)

	if as := x.p.MM(); as != nil && !zombie {
		vm := countVM(as.VMAs())
		st := as.Stats()
		as.DropUser()
		text := min(textBytes(info.Layout), vm.exec<<mm.PageShift)
		lib := vm.exec<<mm.PageShift - text
		kb := func(label string, bytes uint64) { fmt.Fprintf(&b, "%s:\t%8d kB\n", label, bytes>>10) }
		kb("VmPeak", vm.total<<mm.PageShift)
		kb("VmSize", vm.total<<mm.PageShift)
		kb("VmLck", 0)
		kb("VmPin", 0)
		kb("VmHWM", st.Resident)
		kb("VmRSS", st.Resident)
		kb("RssAnon", st.Anon)
		kb("RssFile", st.File)
		kb("RssShmem", st.Shmem)
		kb("VmData", vm.data<<mm.PageShift)
		kb("VmStk", vm.stack<<mm.PageShift)
		kb("VmExe", text)
		kb("VmLib", lib)
		kb("VmPTE", st.PageTables)
		kb("VmSwap", 0)
		kb("HugetlbPages", 0)
		b.WriteString("CoreDumping:\t0\nTHP_enabled:\t1\nuntag_mask:\t0xffffffffffffffff\n")
	}
	fmt.Fprintf(&b, "Threads:\t%d\nSigQ:\t0/%d\n", len(x.p.Tasks()), info.Limits[rlimitSigPending].Cur)
	fmt.Fprintf(&b, "SigPnd:\t%016x\nShdPnd:\t%016x\nSigBlk:\t%016x\nSigIgn:\t%016x\nSigCgt:\t%016x\n",
		ti.SigPending, info.SigPending, ti.SigBlocked, info.SigIgnored, info.SigCaught)
	var prm, eff uint64
	if c.RUID == 0 || c.EUID == 0 || c.SUID == 0 {
		prm = capFull
	}
	if c.EUID == 0 {
		eff = capFull
	}
	fmt.Fprintf(&b, "CapInh:\t%016x\nCapPrm:\t%016x\nCapEff:\t%016x\nCapBnd:\t%016x\nCapAmb:\t%016x\n", 0, prm, eff, capFull, 0)
	noNewPrivs := 0
	if info.NoNewPrivs {
		noNewPrivs = 1
	}
	fmt.Fprintf(&b, "NoNewPrivs:\t%d\nSeccomp:\t0\nSeccomp_filters:\t0\n", noNewPrivs)
	b.WriteString("Speculation_Store_Bypass:\tnot vulnerable\nSpeculationIndirectBranch:\tnot affected\n")
	cpus := max(sys.NumCPU, 1)
	fmt.Fprintf(&b, "Cpus_allowed:\t%s\nCpus_allowed_list:\t%s\n", bitmapHex(cpus, cpus), bitmapList(cpus))
	fmt.Fprintf(&b, "Mems_allowed:\t%s\nMems_allowed_list:\t0\n", bitmapHex(1024, 1))
	fmt.Fprintf(&b, "voluntary_ctxt_switches:\t%d\nnonvoluntary_ctxt_switches:\t%d\n", ti.Voluntary, ti.Involuntary)
	return []byte(b.String()), nil
}

// bitmapHex is %*pb of a bitmap of nbits bits whose first set bits are
// set: 32-bit groups in hex, most significant first, separated by
// commas, the first group as wide as its bits need.
func bitmapHex(nbits, set int) string {
	var groups []string
	for i := (nbits - 1) / 32 * 32; i >= 0; i -= 32 {
		width := 32
		if i+32 > nbits {
			width = nbits - i
		}
		var v uint64
		for bit := 0; bit < width; bit++ {
			if i+bit < set {
				v |= 1 << bit
			}
		}
		groups = append(groups, fmt.Sprintf("%0*x", (width+3)/4, v))
	}
	return strings.Join(groups, ",")
}

// bitmapList is %*pbl of the first n bits set: "0-3", "0".
func bitmapList(n int) string {
	if n == 1 {
		return "0"
	}
	return "0-" + strconv.Itoa(n-1)
}

// showStatm is /proc/PID/statm: size resident shared text lib data dt,
// in pages.
func showStatm(x *proc, _ *mm.MM) ([]byte, error) {
	as := x.p.MM()
	if as == nil {
		return []byte("0 0 0 0 0 0 0\n"), nil
	}
	defer as.DropUser()
	vm := countVM(as.VMAs())
	st := as.Stats()
	text := textBytes(x.p.Info().Layout) >> mm.PageShift
	return fmt.Appendf(nil, "%d %d %d %d 0 %d 0\n", vm.total, st.Resident>>mm.PageShift,
		(st.File+st.Shmem)>>mm.PageShift, text, vm.data+vm.stack), nil
}

// showComm is /proc/PID/comm.
func showComm(x *proc, _ *mm.MM) ([]byte, error) { return []byte(x.t.Info().Comm + "\n"), nil }

// readRemote reads [start, end) of as without FOLL_FORCE, up to the first
// byte that cannot be read.
func readRemote(as *mm.MM, start, end mm.Addr) []byte {
	if end <= start {
		return nil
	}
	buf := make([]byte, end-start)
	n, _ := as.AccessRemote(start, buf, 0)
	return buf[:n]
}

// showCmdline is get_mm_cmdline: the argument area; if its last byte is
// no longer a NUL (setproctitle overwrote it), the first string of the
// area as far as the environment goes.
func showCmdline(x *proc, _ *mm.MM) ([]byte, error) {
	as := x.p.MM()
	if as == nil {
		return nil, nil
	}
	defer as.DropUser()
	l := x.p.Info().Layout
	if l.ArgStart >= l.ArgEnd {
		return nil, nil
	}
	envStart, envEnd := l.EnvStart, l.EnvEnd
	if envStart != l.ArgEnd || envEnd < envStart {
		envStart, envEnd = l.ArgEnd, l.ArgEnd
	}
	last := make([]byte, 1)
	if n, _ := as.AccessRemote(l.ArgEnd-1, last, 0); n == 1 && last[0] != 0 {
		// get_mm_proctitle: the first string within a page.
		end := min(l.ArgStart+mm.PageSize, envEnd)
		page := readRemote(as, l.ArgStart, end)
		if i := strings.IndexByte(string(page), 0); i >= 0 {
			return page[:i+1], nil
		}
		return page, nil
	}
	return readRemote(as, l.ArgStart, l.ArgEnd), nil
}

// showEnviron is environ_read: the environment area.
func showEnviron(x *proc, want *mm.MM) ([]byte, error) {
	as := x.liveMM(want)
	if as == nil {
		return nil, nil
	}
	defer as.DropUser()
	l := x.p.Info().Layout
	if l.EnvEnd == 0 {
		return nil, nil
	}
	return readRemote(as, l.EnvStart, l.EnvEnd), nil
}

// showAuxv is /proc/PID/auxv: the saved auxiliary vector.
func showAuxv(x *proc, want *mm.MM) ([]byte, error) {
	if want == nil {
		return nil, nil
	}
	return x.p.Auxv(), nil
}

// mapsName returns the pathname column, file offset, device and inode
// number of a VMA.
func mapsName(v *mm.VMA) (name string, pgoff, dev, ino uint64) {
	var f any
	switch {
	case v.File != nil:
		f, name, pgoff = v.File, v.File.Name(), v.Offset
	case v.Object != nil && v.Object.File() != nil:
		sf := v.Object.File()
		f, name, pgoff = sf, sf.Name(), v.Offset
	case v.Object != nil:
		// Shared anonymous memory is a deleted shmem file: /dev/zero's,
		// or a System V segment's or a memfd's, which name it.
		h := fnv.New32a()
		fmt.Fprintf(h, "%p", v.Object)
		if v.Name != "" {
			return v.Name, v.Offset, 1, uint64(h.Sum32())
		}
		return "/dev/zero (deleted)", v.Offset, 1, uint64(h.Sum32())
	default:
		return v.Name, 0, 0, 0
	}
	if a, ok := f.(interface{ Attr() (vfs.Attr, error) }); ok {
		if at, err := a.Attr(); err == nil {
			dev, ino = at.Dev, at.Ino
		}
	}
	return strings.ReplaceAll(name, "\n", "\\012"), pgoff, dev, ino
}

// devMajor and devMinor split a device number in the kernel's stat
// encoding (new_encode_dev, or glibc's 64-bit makedev).
func devMajor(dev uint64) uint64 { return dev>>8&0xfff | dev>>32&^uint64(0xfff) }
func devMinor(dev uint64) uint64 { return dev&0xff | dev>>12&^uint64(0xff) }

// mapsHeader writes the columns of show_vma_header_prefix: range,
// permissions, offset, device, inode and a space.
func mapsHeader(b *strings.Builder, r mm.AddrRange, perms string, pgoff, dev, ino uint64) {
	fmt.Fprintf(b, "%08x-%08x %s %08x %02x:%02x %d ", uint64(r.Start), uint64(r.End), perms, pgoff, devMajor(dev), devMinor(dev), ino)
}

// mapsPad pads a line to the name column (25 + 6 * sizeof(void *) - 1
// characters) and writes the separating space.
func mapsPad(b *strings.Builder, lineStart int) {
	const width = 25 + 6*8 - 1
	for b.Len()-lineStart < width {
		b.WriteByte(' ')
	}
	b.WriteByte(' ')
}

func vmaPerms(v *mm.VMA) string {
	p := []byte(v.Prot.String() + "p")
	if v.Shared {
		p[3] = 's'
	}
	return string(p)
}

// showMaps is /proc/PID/maps.
func showMaps(x *proc, want *mm.MM) ([]byte, error) {
	as := x.liveMM(want)
	if as == nil {
		return nil, nil
	}
	defer as.DropUser()
	var b strings.Builder
	vmas := as.VMAs()
	for i := range vmas {
		v := &vmas[i]
		start := b.Len()
		name, pgoff, dev, ino := mapsName(v)
		mapsHeader(&b, v.Range, vmaPerms(v), pgoff, dev, ino)
		if name != "" {
			mapsPad(&b, start)
			b.WriteString(name)
		}
		b.WriteByte('\n')
	}
	return []byte(b.String()), nil
}

// showSmapsRollup is /proc/PID/smaps_rollup.
func showSmapsRollup(x *proc, want *mm.MM) ([]byte, error) {
	as := x.liveMM(want)
	if as == nil {
		return nil, nil
	}
	defer as.DropUser()
	vmas := as.VMAs()
	var r mm.AddrRange
	if len(vmas) > 0 {
		r = mm.AddrRange{Start: vmas[0].Range.Start, End: vmas[len(vmas)-1].Range.End}
	}
	st := as.Stats()
	var b strings.Builder
	mapsHeader(&b, r, "---p", 0, 0, 0)
	mapsPad(&b, 0)
	b.WriteString("[rollup]\n")
	for _, f := range []struct {
		label string
		bytes uint64
	}{
		{"Rss:", st.Resident}, {"Pss:", st.Pss}, {"Pss_Dirty:", st.PssDirty}, {"Pss_Anon:", st.PssAnon},
		{"Pss_File:", st.PssFile}, {"Pss_Shmem:", st.PssShmem}, {"Shared_Clean:", st.SharedClean},
		{"Shared_Dirty:", st.SharedDirty}, {"Private_Clean:", st.PrivateClean}, {"Private_Dirty:", st.PrivateDirty},
		{"Referenced:", st.Referenced}, {"Anonymous:", st.Anon}, {"KSM:", 0}, {"LazyFree:", 0},
		{"AnonHugePages:", 0}, {"ShmemPmdMapped:", 0}, {"FilePmdMapped:", 0}, {"Shared_Hugetlb:", 0},
		{"Private_Hugetlb:", 0}, {"Swap:", 0}, {"SwapPss:", 0}, {"Locked:", 0},
	} {
		if f.label == "Private_Hugetlb:" {
			fmt.Fprintf(&b, "%s %7d kB\n", f.label, f.bytes>>10)
			continue
		}
		fmt.Fprintf(&b, "%-16s%8d kB\n", f.label, f.bytes>>10)
	}
	return []byte(b.String()), nil
}

// limitNames are the rows of /proc/PID/limits: name and unit.
var limitNames = [NumLimits][2]string{
	{"Max cpu time", "seconds"}, {"Max file size", "bytes"}, {"Max data size", "bytes"},
	{"Max stack size", "bytes"}, {"Max core file size", "bytes"}, {"Max resident set", "bytes"},
	{"Max processes", "processes"}, {"Max open files", "files"}, {"Max locked memory", "bytes"},
	{"Max address space", "bytes"}, {"Max file locks", "locks"}, {"Max pending signals", "signals"},
	{"Max msgqueue size", "bytes"}, {"Max nice priority", ""}, {"Max realtime priority", ""},
	{"Max realtime timeout", "us"},
}

// showLimits is /proc/PID/limits.
func showLimits(x *proc, _ *mm.MM) ([]byte, error) {
	lim := x.p.Info().Limits
	var b strings.Builder
	fmt.Fprintf(&b, "%-25s %-20s %-20s %-10s\n", "Limit", "Soft Limit", "Hard Limit", "Units")
	val := func(v uint64) string {
		if v == Infinity {
			return "unlimited"
		}
		return strconv.FormatUint(v, 10)
	}
	for i, n := range limitNames {
		fmt.Fprintf(&b, "%-25s %-20s %-20s ", n[0], val(lim[i].Cur), val(lim[i].Max))
		if n[1] != "" {
			fmt.Fprintf(&b, "%-10s", n[1])
		}
		b.WriteByte('\n')
	}
	return []byte(b.String()), nil
}

// showIO is /proc/PID/io, for callers that may read the process.
func showIO(x *proc, _ *mm.MM) ([]byte, error) {
	if !x.may(PtraceReadFSCreds) {
		return nil, linux.EACCES
	}
	io := x.p.Info().IO
	return fmt.Appendf(nil, "rchar: %d\nwchar: %d\nsyscr: %d\nsyscw: %d\nread_bytes: %d\nwrite_bytes: %d\ncancelled_write_bytes: %d\n",
		io.RChar, io.WChar, io.SyscR, io.SyscW, io.ReadBytes, io.WriteBytes, io.CancelledWrites), nil
}

// showWchan is /proc/PID/wchan: "0" (no kernel symbols to name).
func showWchan(x *proc, _ *mm.MM) ([]byte, error) { return []byte("0"), nil }

// showOOMScoreAdj is /proc/PID/oom_score_adj.
func showOOMScoreAdj(x *proc, _ *mm.MM) ([]byte, error) {
	return fmt.Appendf(nil, "%d\n", x.p.Info().OOMScoreAdj), nil
}

// showOOMScore is proc_oom_score: oom_badness scaled to 0..2000 and by
// two thirds.
func showOOMScore(x *proc, _ *mm.MM) ([]byte, error) {
	adj := int64(x.p.Info().OOMScoreAdj)
	total := int64(x.fs.k.System().MemTotal >> mm.PageShift)
	as := x.p.MM()
	points := uint64(0)
	if as != nil {
		st := as.Stats()
		as.DropUser()
		if adj != oomScoreAdjMin && total > 0 {
			badness := int64((st.Resident + st.PageTables) >> mm.PageShift)
			badness += adj * (total / 1000)
			points = uint64((1000 + badness*1000/total) * 2 / 3)
		}
	}
	return fmt.Appendf(nil, "%d\n", points), nil
}

// showLoginuid is /proc/PID/loginuid: unset.
func showLoginuid(x *proc, _ *mm.MM) ([]byte, error) { return []byte("4294967295"), nil }

// showFDInfo is /proc/PID/fdinfo/N.
func showFDInfo(x *proc, fd int32) ([]byte, error) {
	f, ok := x.p.File(fd)
	if !ok {
		return nil, linux.ENOENT
	}
	defer f.Path.DecRef()
	mnt, ino := f.MountID, f.Ino
	if f.Path.Inode != nil {
		if mnt == 0 && f.Path.Mount != nil {
			mnt = f.Path.Mount.ID
		}
		if ino == 0 {
			if a, err := f.Path.Inode.Attr(); err == nil {
				ino = a.Ino
			}
		}
	}
	return fmt.Appendf(nil, "pos:\t%d\nflags:\t0%o\nmnt_id:\t%d\nino:\t%d\n", f.Pos, f.Flags, mnt, ino), nil
}

// escapeMount is mangle: space, tab, newline and backslash in octal.
func escapeMount(s string) string {
	return strings.NewReplacer(" ", "\\040", "\t", "\\011", "\n", "\\012", "\\", "\\134").Replace(s)
}

// mountsOf returns the process's mounts that lie under its root, with
// their mount points as it names them.
func mountsOf(x *proc) ([]*vfs.Mount, []string, error) {
	ns := x.p.Info().Namespace
	if ns == nil {
		return nil, nil, linux.EINVAL
	}
	root, ok := x.p.Path(PathRoot)
	if !ok {
		return nil, nil, linux.ENOENT
	}
	rootName := root.Name
	root.DecRef()
	var ms []*vfs.Mount
	var points []string
	for _, m := range ns.Mounts() {
		p := relative(m.Point, rootName)
		if rootName != "/" && p == m.Point && m.Point != rootName {
			continue // outside the process's root
		}
		ms = append(ms, m)
		points = append(points, p)
	}
	return ms, points, nil
}

// mountOpts are show_mnt_opts' options of m, after "rw" or "ro".
func mountOpts(m *vfs.Mount) string {
	var b strings.Builder
	for _, o := range []struct {
		flag uint32
		name string
	}{{vfs.MountNoSUID, ",nosuid"}, {vfs.MountNoDev, ",nodev"}, {vfs.MountNoExec, ",noexec"}} {
		if m.Flags&o.flag != 0 {
			b.WriteString(o.name)
		}
	}
	b.WriteString(",relatime")
	return b.String()
}

func rwOf(m *vfs.Mount) string {
	if m.ReadOnly() {
		return "ro"
	}
	return "rw"
}

func fsOpts(m *vfs.Mount) string {
	if m.Options == "" {
		return ""
	}
	return "," + m.Options
}

func mountSource(m *vfs.Mount) string {
	if m.Source == "" {
		return "none"
	}
	return escapeMount(m.Source)
}

// showMounts is /proc/PID/mounts.
func showMounts(x *proc, _ *mm.MM) ([]byte, error) {
	ms, points, err := mountsOf(x)
	if err != nil {
		return nil, err
	}
	var b strings.Builder
	for i, m := range ms {
		fmt.Fprintf(&b, "%s %s %s %s%s%s 0 0\n", mountSource(m), escapeMount(points[i]), m.FSType, rwOf(m), mountOpts(m), fsOpts(m))
	}
	return []byte(b.String()), nil
}

// showMountinfo is /proc/PID/mountinfo.
func showMountinfo(x *proc, _ *mm.MM) ([]byte, error) {
	ms, points, err := mountsOf(x)
	if err != nil {
		return nil, err
	}
	var b strings.Builder
	for i, m := range ms {
		var dev uint64
		if a, err := m.Root.Attr(); err == nil {
			dev = a.Dev
		}
		fmt.Fprintf(&b, "%d %d %d:%d / %s %s%s - %s %s rw%s\n", m.ID, m.ParentID, devMajor(dev), devMinor(dev),
			escapeMount(points[i]), rwOf(m), mountOpts(m), m.FSType, mountSource(m), fsOpts(m))
	}
	return []byte(b.String()), nil
}
