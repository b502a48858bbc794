package tmpfs

import (
	"math/bits"
	"strconv"
	"strings"

	"github.com/cmaemu/cmaemu/fs/vfs"
	"github.com/cmaemu/cmaemu/linux"
)

// ParseOptions reads the data argument of mount(2) for tmpfs, as
// shmem_parse_one does: size= (bytes with a k, m, g, t, p or e suffix, or
// a percentage of ram, the machine's memory in bytes), nr_blocks= (pages),
// nr_inodes=, mode= (octal), uid=, gid=; huge=, mpol=, inode32, inode64
// and noswap are accepted and ignored. Anything else is EINVAL. Fields
// not named keep DefaultOptions' values.
func ParseOptions(data string, ram int64) (Options, error) {
	o := DefaultOptions()
	// Linux's defaults: half of RAM for data, and as many inodes as half
	// of RAM has pages.
	o.Size = ram / 2 &^ (PageSize - 1)
	o.MaxInodes = ram / PageSize / 2
	for _, opt := range strings.Split(data, ",") {
		if opt == "" {
			continue
		}
		key, val, hasVal := strings.Cut(opt, "=")
		var err error
		switch key {
		case "size":
			o.Size, err = parseSize(val, ram)
		case "nr_blocks":
			var pages int64
			if pages, err = memparse(val); err == nil {
				if pages > MaxFileSize/PageSize {
					return Options{}, linux.EINVAL
				}
				o.Size = pages * PageSize
			}
		case "nr_inodes":
			o.MaxInodes, err = memparse(val)
		case "mode":
			var m uint64
			m, err = strconv.ParseUint(val, 8, 32)
			o.Mode = uint32(m) & vfs.ModePerm
		case "uid", "gid":
			var id uint64
			id, err = strconv.ParseUint(val, 10, 32)
			if err == nil && uint32(id) == vfs.NoID {
				err = linux.EINVAL
			}
			if key == "uid" {
				o.UID = uint32(id)
			} else {
				o.GID = uint32(id)
			}
		case "huge", "mpol":
			if !hasVal {
				err = linux.EINVAL
			}
		case "inode32", "inode64", "noswap":
			if hasVal {
				err = linux.EINVAL
			}
		default:
			err = linux.EINVAL
		}
		if err != nil || (key != "inode32" && key != "inode64" && key != "noswap" && !hasVal) {
			return Options{}, linux.EINVAL
		}
	}
	return o, nil
}

// parseSize reads size=: memparse's form, or a percentage of ram.
func parseSize(val string, ram int64) (int64, error) {
	if pct, ok := strings.CutSuffix(val, "%"); ok {
		p, err := strconv.ParseUint(pct, 10, 32)
		if err != nil {
			return 0, linux.EINVAL
		}
		hi, lo := bits.Mul64(uint64(max(ram, 0)), p)
		if hi != 0 || lo/100 > MaxFileSize {
			return 0, linux.EINVAL
		}
		return int64(lo / 100), nil
	}
	return memparse(val)
}

// memparse reads a number (decimal, 0x hex or 0 octal) with an optional
// binary suffix k, m, g, t, p or e.
func memparse(val string) (int64, error) {
	shift := 0
	if val != "" {
		switch val[len(val)-1] {
		case 'k', 'K':
			shift = 10
		case 'm', 'M':
			shift = 20
		case 'g', 'G':
			shift = 30
		case 't', 'T':
			shift = 40
		case 'p', 'P':
			shift = 50
		case 'e', 'E':
			shift = 60
		}
		if shift != 0 {
			val = val[:len(val)-1]
		}
	}
	n, err := strconv.ParseUint(val, 0, 64)
	if err != nil || n > uint64(MaxFileSize)>>shift {
		return 0, linux.EINVAL
	}
	return int64(n << shift), nil
}

// MountOptions are the filesystem's options as /proc/mounts shows them
// after the mount flags (shmem_show_options): size= in KiB and nr_inodes=
// when limited, mode= unless 1777, uid= and gid= unless 0. Empty for the
// defaults.
func (fs *FS) MountOptions() string {
	var opts []string
	if pages := fs.maxPages.Load(); pages > 0 {
		opts = append(opts, "size="+strconv.FormatInt(pages*(PageSize/1024), 10)+"k")
	}
	if n := fs.maxInodes.Load(); n > 0 {
		opts = append(opts, "nr_inodes="+strconv.FormatInt(n, 10))
	}
	if fs.mode != 0o1777 {
		m := strconv.FormatUint(uint64(fs.mode), 8)
		for len(m) < 3 {
			m = "0" + m
		}
		opts = append(opts, "mode="+m)
	}
	if fs.uid != 0 {
		opts = append(opts, "uid="+strconv.FormatUint(uint64(fs.uid), 10))
	}
	if fs.gid != 0 {
		opts = append(opts, "gid="+strconv.FormatUint(uint64(fs.gid), 10))
	}
	return strings.Join(opts, ",")
}
