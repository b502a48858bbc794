package syscalls

import (
	"encoding/binary"

	"github.com/cmaemu/cmaemu/linux"
)

// noChange is the (uid_t)-1 that leaves an id unchanged.
const noChange = 0xffffffff

// setCreds applies a credential change with Linux's side effects:
// changing the effective or filesystem ids makes the process
// non-dumpable and clears its parent-death signal, and changing uids
// adjusts the capability sets.
func (t *Task) setCreds(change func(c *Creds) error) error {
	p := t.proc
	p.mu.Lock()
	defer p.mu.Unlock()
	next := p.creds.clone()
	if err := change(&next); err != nil {
		return err
	}
	old := p.creds
	if old.EUID != next.EUID || old.EGID != next.EGID || old.FSUID != next.FSUID || old.FSGID != next.FSGID {
		p.dumpable = false
		p.pdeathsig = 0 // commit_creds
	}
	caps := p.capsLocked()
	caps.fixSetuid(&old, &next, p.keepCapsLocked())
	p.creds = next
	p.setCapsLocked(caps)
	return nil
}

// idRule decides one id change of an unprivileged process: the new value
// must be one of the allowed current ids.
func allowed(v uint32, ids ...uint32) bool {
	for _, id := range ids {
		if v == id {
			return true
		}
	}
	return false
}

// idSet points at one family of ids (user or group) of Creds.
type idSet struct{ r, e, s, fs *uint32 }

func uids(c *Creds) idSet { return idSet{&c.RUID, &c.EUID, &c.SUID, &c.FSUID} }
func gids(c *Creds) idSet { return idSet{&c.RGID, &c.EGID, &c.SGID, &c.FSGID} }

// setID makes setuid/setgid: root sets all three ids; others only the
// effective one, to the real or saved id.
func setID(family func(*Creds) idSet) Handler {
	return func(t *Task, a Args) (uintptr, error) {
		id := a.Uint(0)
		if id == noChange {
			return 0, linux.EINVAL
		}
		return 0, t.setCreds(func(c *Creds) error {
			f := family(c)
			switch {
			case c.EUID == 0:
				*f.r, *f.s = id, id
			case !allowed(id, *f.r, *f.s):
				return linux.EPERM
			}
			*f.e, *f.fs = id, id
			return nil
		})
	}
}

// setreID makes setreuid/setregid: the real id may become the real or
// effective one, the effective any of the three; the saved id follows
// the effective one when the real one is set or the effective one changes
// to something other than the old real id.
func setreID(family func(*Creds) idSet) Handler {
	return func(t *Task, a Args) (uintptr, error) {
		r, e := a.Uint(0), a.Uint(1)
		return 0, t.setCreds(func(c *Creds) error {
			f, priv := family(c), c.EUID == 0
			if r != noChange && !priv && !allowed(r, *f.r, *f.e) {
				return linux.EPERM
			}
			if e != noChange && !priv && !allowed(e, *f.r, *f.e, *f.s) {
				return linux.EPERM
			}
			oldR := *f.r
			if r != noChange {
				*f.r = r
			}
			if e != noChange {
				*f.e = e
			}
			if r != noChange || (e != noChange && e != oldR) {
				*f.s = *f.e
			}
			*f.fs = *f.e
			return nil
		})
	}
}

// setresID makes setresuid/setresgid: unprivileged callers may only pick
// among their current three ids.
func setresID(family func(*Creds) idSet) Handler {
	return func(t *Task, a Args) (uintptr, error) {
		ids := [3]uint32{a.Uint(0), a.Uint(1), a.Uint(2)}
		return 0, t.setCreds(func(c *Creds) error {
			f := family(c)
			if c.EUID != 0 {
				for _, v := range ids {
					if v != noChange && !allowed(v, *f.r, *f.e, *f.s) {
						return linux.EPERM
					}
				}
			}
			for i, p := range []*uint32{f.r, f.e, f.s} {
				if ids[i] != noChange {
					*p = ids[i]
				}
			}
			*f.fs = *f.e
			return nil
		})
	}
}

// The set*id family.
var (
	Setuid    = setID(uids)
	Setgid    = setID(gids)
	Setreuid  = setreID(uids)
	Setregid  = setreID(gids)
	Setresuid = setresID(uids)
	Setresgid = setresID(gids)
)

// putIDs writes three ids for getresuid/getresgid.
func (t *Task) putIDs(addrs [3]uint64, ids [3]uint32) error {
	for i, addr := range addrs {
		var b [4]byte
		binary.LittleEndian.PutUint32(b[:], ids[i])
		if _, err := t.MM().CopyOut(Args{addr}.Pointer(0), b[:]); err != nil {
			return err
		}
	}
	return nil
}

// Getresuid implements getresuid(2).
func Getresuid(t *Task, a Args) (uintptr, error) {
	c := t.proc.Creds()
	return 0, t.putIDs([3]uint64{a[0], a[1], a[2]}, [3]uint32{c.RUID, c.EUID, c.SUID})
}

// Getresgid implements getresgid(2).
func Getresgid(t *Task, a Args) (uintptr, error) {
	c := t.proc.Creds()
	return 0, t.putIDs([3]uint64{a[0], a[1], a[2]}, [3]uint32{c.RGID, c.EGID, c.SGID})
}

// ngroupsMax is NGROUPS_MAX.
const ngroupsMax = 65536

// Getgroups implements getgroups(2).
func Getgroups(t *Task, a Args) (uintptr, error) {
	size, list := a.Int(0), a.Pointer(1)
	g := t.proc.Creds().Groups
	if size < 0 {
		return 0, linux.EINVAL
	}
	if size == 0 {
		return uintptr(len(g)), nil
	}
	if int(size) < len(g) {
		return 0, linux.EINVAL
	}
	b := make([]byte, 4*len(g))
	for i, id := range g {
		binary.LittleEndian.PutUint32(b[4*i:], id)
	}
	if _, err := t.MM().CopyOut(list, b); err != nil {
		return 0, err
	}
	return uintptr(len(g)), nil
}

// Setgroups implements setgroups(2).
func Setgroups(t *Task, a Args) (uintptr, error) {
	size, list := a.Int(0), a.Pointer(1)
	if size < 0 || size > ngroupsMax {
		return 0, linux.EINVAL
	}
	b := make([]byte, 4*int(size))
	if _, err := t.MM().CopyIn(list, b); err != nil {
		return 0, err
	}
	g := make([]uint32, size)
	for i := range g {
		g[i] = binary.LittleEndian.Uint32(b[4*i:])
	}
	return 0, t.setCreds(func(c *Creds) error {
		if c.EUID != 0 {
			return linux.EPERM
		}
		c.Groups = g
		return nil
	})
}

// setfsID makes setfsuid/setfsgid: the fs id may become any of the
// caller's ids (any id for root); the old one is returned either way.
func setfsID(family func(*Creds) idSet) Handler {
	return func(t *Task, a Args) (uintptr, error) {
		id := a.Uint(0)
		var old uint32
		t.setCreds(func(c *Creds) error {
			f := family(c)
			old = *f.fs
			if c.EUID == 0 || allowed(id, *f.r, *f.e, *f.s, *f.fs) {
				*f.fs = id
			}
			return nil
		})
		return uintptr(old), nil
	}
}

// Setfsuid and Setfsgid implement setfsuid(2) and setfsgid(2).
var (
	Setfsuid = setfsID(uids)
	Setfsgid = setfsID(gids)
)

// Getpgid implements getpgid(2).
func Getpgid(t *Task, a Args) (uintptr, error) {
	p := t.target(a.Int(0))
	if p == nil {
		return 0, linux.ESRCH
	}
	t.k.mu.Lock()
	defer t.k.mu.Unlock()
	return uintptr(p.pgid), nil
}

// Getpgrp implements getpgrp(2).
func Getpgrp(t *Task, a Args) (uintptr, error) { return Getpgid(t, Args{}) }

// Getsid implements getsid(2).
func Getsid(t *Task, a Args) (uintptr, error) {
	p := t.target(a.Int(0))
	if p == nil {
		return 0, linux.ESRCH
	}
	t.k.mu.Lock()
	defer t.k.mu.Unlock()
	return uintptr(p.sid), nil
}

// target returns the process pid names (0: the caller).
func (t *Task) target(pid int32) *Process {
	if pid == 0 {
		return t.proc
	}
	if pid < 0 {
		return nil
	}
	return t.k.ProcessByID(pid)
}

// Setpgid implements setpgid(2).
func Setpgid(t *Task, a Args) (uintptr, error) {
	pid, pgid := a.Int(0), a.Int(1)
	if pgid < 0 {
		return 0, linux.EINVAL
	}
	k, me := t.k, t.proc
	k.mu.Lock()
	defer k.mu.Unlock()
	p := me
	if pid != 0 && pid != me.pid {
		p = k.procs[pid]
		if p == nil || p.parent != me || p.state != procRunning {
			return 0, linux.ESRCH
		}
		if p.sid != me.sid {
			return 0, linux.EPERM
		}
		if p.execed {
			return 0, linux.EACCES
		}
	}
	if pgid == 0 {
		pgid = p.pid
	}
	if p.sid == p.pid {
		return 0, linux.EPERM // a session leader
	}
	if pgid != p.pid {
		found := false
		for _, q := range k.procs {
			if q.pgid == pgid && q.sid == me.sid && q.state == procRunning {
				found = true
				break
			}
		}
		if !found {
			return 0, linux.EPERM
		}
	}
	p.pgid = pgid
	return 0, nil
}

// Setsid implements setsid(2).
func Setsid(t *Task, a Args) (uintptr, error) {
	k, p := t.k, t.proc
	k.mu.Lock()
	defer k.mu.Unlock()
	for _, q := range k.procs {
		if q.pgid == p.pid && q.state == procRunning {
			return 0, linux.EPERM
		}
	}
	p.sid, p.pgid = p.pid, p.pid
	return uintptr(p.pid), nil
}
