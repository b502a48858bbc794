package syscalls

import (
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"

	"github.com/cmaemu/cmaemu/fs/devfs"
	"github.com/cmaemu/cmaemu/fs/hostfs"
	"github.com/cmaemu/cmaemu/fs/procfs"
	"github.com/cmaemu/cmaemu/fs/sysfs"
	"github.com/cmaemu/cmaemu/fs/tmpfs"
	"github.com/cmaemu/cmaemu/fs/vfs"
	"github.com/cmaemu/cmaemu/linux"
	"github.com/cmaemu/cmaemu/mm"
)

// mountDefaults builds the guest's filesystem view: the host directory
// root ("" for "/") at "/", and over it the kernel's own /proc, /dev
// (with a tmpfs at /dev/shm) and /sys. sysroot, if not "", is the -L
// overlay.
func (k *Kernel) mountDefaults(root, sysroot string) error {
	if root == "" {
		root = "/"
	}
	abs, err := filepath.Abs(root)
	if err != nil {
		return err
	}
	if real, err := filepath.EvalSymlinks(abs); err == nil {
		abs = real
	}
	host, err := hostfs.New(abs)
	if err != nil {
		return err
	}
	k.hostRoot = abs
	fstype, source := hostMountOf(abs)
	k.ns = vfs.NewNamespace(host.Root(), fstype, source, true)
	if sysroot != "" {
		sr, err := hostfs.New(sysroot)
		if err != nil {
			return err
		}
		k.sysroot = vfs.NewNamespace(sr.Root(), "hostfs", sysroot, true)
	}
	const kernelFS = vfs.MountNoSUID | vfs.MountNoExec
	k.ns.Mount("/proc", procfs.New(procKernel{k}).Root(), "proc", "proc", "", kernelFS|vfs.MountNoDev, false)
	dev := devfs.New(devfs.Config{OpenTTY: openHostTTY})
	k.ns.Mount("/dev", dev.Root(), "devtmpfs", "udev", "mode=755", vfs.MountNoSUID, false)
	shmOpts, err := tmpfs.ParseOptions("", int64(k.ram.Size())) // Linux's defaults: half of RAM
	if err != nil {
		return err
	}
	shmOpts.MountPoint = "/dev/shm"
	shm := tmpfs.New(shmOpts)
	k.serveFIFOs(shm)
	k.ns.Mount("/dev/shm", shm.Root(), "tmpfs", "tmpfs", shm.MountOptions(), vfs.MountNoSUID|vfs.MountNoDev, false)
	sys, err := sysfs.New(sysfs.Config{CPUs: runtime.NumCPU(), MemTotal: k.ram.Size(),
		MemFree: func() uint64 { return k.ram.Size() - uint64(k.ram.UsedFrames())*mm.PageSize }})
	if err != nil {
		return err
	}
	k.ns.Mount("/sys", sys.Root(), "sysfs", "sysfs", "", kernelFS|vfs.MountNoDev, false)
	return nil
}

// hostMountOf names the host filesystem that holds dir as the host's
// mount table does (type and source), so that the guest's /proc/mounts
// and df describe its root as the host would; "hostfs" when the table
// cannot be read.
func hostMountOf(dir string) (fstype, source string) {
	fstype, source = "hostfs", dir
	data, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return
	}
	best := -1
	for _, line := range strings.Split(string(data), "\n") {
		// id parent major:minor root point options ... - type source super
		pre, post, ok := strings.Cut(line, " - ")
		f, g := strings.Fields(pre), strings.Fields(post)
		if !ok || len(f) < 5 || len(g) < 2 {
			continue
		}
		point := f[4]
		inside := point == "/" || dir == point || strings.HasPrefix(dir, point+"/")
		if inside && len(point) >= best {
			best, fstype, source = len(point), g[0], g[1]
		}
	}
	return
}

// openHostTTY opens the host's controlling terminal for /dev/tty.
func openHostTTY(flags uint32) (vfs.Handle, error) {
	fd, err := syscall.Open("/dev/tty", int(flags&(linux.O_ACCMODE|linux.O_NONBLOCK))|syscall.O_NOCTTY|syscall.O_CLOEXEC, 0)
	if err != nil {
		return nil, linux.ENXIO
	}
	return hostfs.NewHandle(fd), nil
}
