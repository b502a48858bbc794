package vfs

import "github.com/cmaemu/cmaemu/linux"

// Access masks (MAY_* of the kernel).
const (
	MayExec  = 1
	MayWrite = 2
	MayRead  = 4
)

// Creds are the credentials a filesystem operation is checked with: the
// fsuid, fsgid and supplementary groups, and whether the capabilities
// that go with fsuid 0 (CAP_CHOWN, CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH,
// CAP_FOWNER, CAP_FSETID, CAP_MKNOD) are in the effective set.
type Creds struct {
	UID, GID uint32
	Groups   []uint32
	// FileCaps: the file capabilities, held by a guest whose fsuid is 0.
	FileCaps bool
	// Admin: CAP_SYS_ADMIN (mount, umount), held by a guest whose euid is 0.
	Admin bool
}

// InGroup reports whether gid is the fsgid or a supplementary group.
func (c *Creds) InGroup(gid uint32) bool {
	if c.GID == gid {
		return true
	}
	for _, g := range c.Groups {
		if g == gid {
			return true
		}
	}
	return false
}

// Owns reports whether the caller may act as the owner of a file with a
// (inode_owner_or_capable).
func (c *Creds) Owns(a Attr) bool { return c.UID == a.UID || c.FileCaps }

// Permission is generic_permission: may the caller access a file with
// attributes a for mask (MayRead|MayWrite|MayExec)? EACCES if not.
func (c *Creds) Permission(a Attr, mask int) error {
	mode := a.Mode
	var bits uint32
	switch {
	case c.UID == a.UID:
		bits = mode >> 6
	case c.InGroup(a.GID):
		bits = mode >> 3
	default:
		bits = mode
	}
	if int(bits)&mask&7 == mask&7 {
		return nil
	}
	if !c.FileCaps {
		return linux.EACCES
	}
	isDir := a.IsDir()
	// CAP_DAC_OVERRIDE: read and write anything; execute a directory, or
	// a file with at least one x bit.
	if mask&MayExec == 0 || isDir || mode&0o111 != 0 {
		return nil
	}
	return linux.EACCES
}

// MayDelete is may_delete's check of the caller removing or renaming
// victim (attributes v) from dir (attributes d): write and search on the
// directory, and in a sticky directory, ownership of the file or the
// directory.
func (c *Creds) MayDelete(d, v Attr) error {
	if err := c.Permission(d, MayWrite|MayExec); err != nil {
		return err
	}
	if d.Mode&ModeSticky != 0 && c.UID != v.UID && c.UID != d.UID && !c.FileCaps {
		return linux.EPERM
	}
	return nil
}

// MayCreate is may_create: write and search on the directory.
func (c *Creds) MayCreate(d Attr) error {
	return c.Permission(d, MayWrite|MayExec)
}

// NewOwner is the owner of a file the caller creates in directory d: the
// fsuid, and the directory's group when it is setgid, else the fsgid.
func (c *Creds) NewOwner(d Attr) Owner {
	o := Owner{UID: c.UID, GID: c.GID}
	if d.Mode&ModeSetGID != 0 {
		o.GID = d.GID
	}
	return o
}

// NoID is the uid or gid -1 of chown: unchanged.
const NoID = ^uint32(0)

// CheckChown is chown's permission rule (chown_ok, chgrp_ok): without
// CAP_CHOWN only the owner may act, may not change the user, and may set
// the group only to one of its own groups. Ids of NoID are not changed
// and not checked.
func (c *Creds) CheckChown(a Attr, uid, gid uint32) error {
	if c.FileCaps {
		return nil
	}
	owner := c.UID == a.UID
	if uid != NoID && !(owner && uid == a.UID) {
		return linux.EPERM
	}
	if gid != NoID && !(owner && (gid == a.GID || c.InGroup(gid))) {
		return linux.EPERM
	}
	return nil
}

// ChmodMode is the mode chmod may set: EPERM unless the caller owns the
// file; the setgid bit is cleared when the caller is not in the file's
// group and lacks CAP_FSETID.
func (c *Creds) ChmodMode(a Attr, mode uint32) (uint32, error) {
	if !c.Owns(a) {
		return 0, linux.EPERM
	}
	mode &= ModePerm
	if mode&ModeSetGID != 0 && !c.FileCaps && !c.InGroup(a.GID) {
		mode &^= ModeSetGID
	}
	return mode, nil
}
