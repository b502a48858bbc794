package procfs

import (
	"fmt"
	"strings"
	"time"

	"github.com/cmaemu/cmaemu/fs/vfs"
)

// The global files of /proc, from the kernel's System.

// hundredths formats a duration in seconds with two decimals.
func hundredths(d time.Duration) string {
	cs := uint64(d / (10 * time.Millisecond))
	return fmt.Sprintf("%d.%02d", cs/100, cs%100)
}

func showUptime(fs *FS, _ vfs.Caller) ([]byte, error) {
	s := fs.k.System()
	var idle time.Duration
	for _, t := range s.CPUTimes {
		idle += t.Idle
	}
	return []byte(hundredths(s.Uptime) + " " + hundredths(idle) + "\n"), nil
}

func showLoadavg(fs *FS, _ vfs.Caller) ([]byte, error) {
	s := fs.k.System()
	load := func(v float64) string {
		cs := uint64(v*100 + 0.5)
		return fmt.Sprintf("%d.%02d", cs/100, cs%100)
	}
	return fmt.Appendf(nil, "%s %s %s %d/%d %d\n", load(s.Load[0]), load(s.Load[1]), load(s.Load[2]),
		s.Running, s.Threads, s.LastPID), nil
}

func showVersion(fs *FS, _ vfs.Caller) ([]byte, error) {
	s := fs.k.System()
	return fmt.Appendf(nil, "Linux version %s (cmaemu@cmaemu) (cmaemu) %s\n", s.OSRelease, s.Version), nil
}

// showStat is /proc/stat.
func showStat(fs *FS, _ vfs.Caller) ([]byte, error) {
	s := fs.k.System()
	n := max(s.NumCPU, 1)
	times := make([]CPUTimes, n)
	copy(times, s.CPUTimes)
	var sum CPUTimes
	for _, t := range times {
		sum.User += t.User
		sum.Nice += t.Nice
		sum.System += t.System
		sum.Idle += t.Idle
		sum.IOWait += t.IOWait
	}
	var b strings.Builder
	line := func(name string, t CPUTimes) {
		fmt.Fprintf(&b, "%s %d %d %d %d %d 0 0 0 0 0\n", name, ticks(t.User), ticks(t.Nice), ticks(t.System), ticks(t.Idle), ticks(t.IOWait))
	}
	line("cpu ", sum)
	for i, t := range times {
		line(fmt.Sprintf("cpu%d", i), t)
	}
	fmt.Fprintf(&b, "intr 0\nctxt %d\nbtime %d\nprocesses %d\nprocs_running %d\nprocs_blocked 0\n",
		s.ContextSwitches, s.BootTime.Unix(), s.Forks, s.Running)
	b.WriteString("softirq 0 0 0 0 0 0 0 0 0 0 0\n")
	return []byte(b.String()), nil
}

// showMeminfo is /proc/meminfo: the guest RAM; the rest is zero (no
// swap, page cache, huge pages).
func showMeminfo(fs *FS, _ vfs.Caller) ([]byte, error) {
	s := fs.k.System()
	total, free := s.MemTotal>>10, s.MemFree>>10
	var b strings.Builder
	kb := func(label string, v uint64) { fmt.Fprintf(&b, "%-16s%8d kB\n", label+":", v) }
	kb("MemTotal", total)
	kb("MemFree", free)
	kb("MemAvailable", free)
	for _, l := range []string{"Buffers", "Cached", "SwapCached", "Active", "Inactive", "Active(anon)",
		"Inactive(anon)", "Active(file)", "Inactive(file)", "Unevictable", "Mlocked", "SwapTotal", "SwapFree",
		"Zswap", "Zswapped", "Dirty", "Writeback", "AnonPages", "Mapped", "Shmem", "KReclaimable", "Slab",
		"SReclaimable", "SUnreclaim", "KernelStack", "PageTables", "SecPageTables", "NFS_Unstable", "Bounce",
		"WritebackTmp"} {
		kb(l, 0)
	}
	kb("CommitLimit", total/2)
	kb("Committed_AS", total-free)
	kb("VmallocTotal", 34359738367)
	for _, l := range []string{"VmallocUsed", "VmallocChunk", "Percpu", "AnonHugePages", "ShmemHugePages",
		"ShmemPmdMapped", "FileHugePages", "FilePmdMapped", "Balloon"} {
		kb(l, 0)
	}
	b.WriteString("HugePages_Total:       0\nHugePages_Free:        0\nHugePages_Rsvd:        0\nHugePages_Surp:        0\n")
	kb("Hugepagesize", 2048)
	kb("Hugetlb", 0)
	kb("DirectMap4k", total)
	kb("DirectMap2M", 0)
	return []byte(b.String()), nil
}

// showCPUInfo is /proc/cpuinfo: one block per CPU of System.CPU.
func showCPUInfo(fs *FS, _ vfs.Caller) ([]byte, error) {
	s := fs.k.System()
	c := s.CPU
	n := max(s.NumCPU, 1)
	or := func(v, def string) string {
		if v == "" {
			return def
		}
		return v
	}
	flagList := func(v string) string {
		if v == "" {
			return ""
		}
		return " " + v
	}
	var b strings.Builder
	for i := 0; i < n; i++ {
		fmt.Fprintf(&b, "processor\t: %d\nvendor_id\t: %s\ncpu family\t: %d\nmodel\t\t: %d\nmodel name\t: %s\nstepping\t: %d\n",
			i, or(c.VendorID, "unknown"), c.Family, c.Model, or(c.ModelName, "unknown"), c.Stepping)
		khz := uint64(c.MHz*1000 + 0.5)
		fmt.Fprintf(&b, "cpu MHz\t\t: %d.%03d\n", khz/1000, khz%1000)
		if c.CacheKB > 0 {
			fmt.Fprintf(&b, "cache size\t: %d KB\n", c.CacheKB)
		}
		fmt.Fprintf(&b, "physical id\t: 0\nsiblings\t: %d\ncore id\t\t: %d\ncpu cores\t: %d\napicid\t\t: %d\ninitial apicid\t: %d\n",
			n, i, n, i, i)
		fmt.Fprintf(&b, "fpu\t\t: yes\nfpu_exception\t: yes\ncpuid level\t: %d\nwp\t\t: yes\n", c.CPUIDLevel)
		fmt.Fprintf(&b, "flags\t\t:%s\nbugs\t\t:%s\n", flagList(c.Flags), flagList(c.Bugs))
		bogo := uint64(c.Bogomips*100 + 0.5)
		fmt.Fprintf(&b, "bogomips\t: %d.%02d\n", bogo/100, bogo%100)
		if c.TLBSize > 0 {
			fmt.Fprintf(&b, "TLB size\t: %d 4K pages\n", c.TLBSize)
		}
		fmt.Fprintf(&b, "clflush size\t: %d\ncache_alignment\t: %d\naddress sizes\t: %d bits physical, %d bits virtual\npower management:%s\n\n",
			c.ClflushSize, c.CacheAlignment, c.PhysBits, c.VirtBits, flagList(c.PowerManagement))
	}
	return []byte(b.String()), nil
}

// nodevFilesystems are the filesystem types cmaemu's kernel has of its
// own.
var nodevFilesystems = []string{"sysfs", "tmpfs", "proc", "devtmpfs"}

// showFilesystems is /proc/filesystems: cmaemu's own types, then the
// host's types mounted in the caller's namespace.
func showFilesystems(fs *FS, c vfs.Caller) ([]byte, error) {
	var b strings.Builder
	seen := map[string]bool{}
	for _, t := range nodevFilesystems {
		fmt.Fprintf(&b, "nodev\t%s\n", t)
		seen[t] = true
	}
	if t := fs.k.Task(c.TID); c.TID != 0 && t != nil {
		if ns := t.Process().Info().Namespace; ns != nil {
			for _, m := range ns.Mounts() {
				if m.Host && !seen[m.FSType] {
					seen[m.FSType] = true
					fmt.Fprintf(&b, "\t%s\n", m.FSType)
				}
			}
		}
	}
	return []byte(b.String()), nil
}
