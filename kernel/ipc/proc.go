package ipc

import (
	"fmt"
	"strings"
)

// The headers of /proc/sysvipc/shm, sem and msg on 64-bit kernels.
const (
	shmHeader = "       key      shmid perms                  size  cpid  lpid nattch   uid   gid  cuid  cgid      atime      dtime      ctime                   rss                  swap\n"
	semHeader = "       key      semid perms      nsems   uid   gid  cuid  cgid      otime      ctime\n"
	msgHeader = "       key      msqid perms      cbytes       qnum lspid lrpid   uid   gid  cuid  cgid      stime      rtime      ctime\n"
)

// ProcShm is /proc/sysvipc/shm: a header and a line per segment, in
// index order, as Linux's sysvipc_shm_proc_show prints them.
func (ns *Namespace) ProcShm() string {
	return procFile(ns, &ns.shms, shmHeader, func(b *strings.Builder, s *Segment) {
		p := &s.perm
		fmt.Fprintf(b, "%10d %10d  %4o %21d %5d %5d  %5d %5d %5d %5d %5d %10d %10d %10d %21d %21d\n",
			p.Key, p.ID, p.Mode, s.size, s.cpid, s.lpid, s.nattch(), p.UID, p.GID, p.CUID, p.CGID,
			s.atime, s.dtime, s.ctime, uint64(s.obj.Resident())*4096, 0)
	})
}

// ProcSem is /proc/sysvipc/sem.
func (ns *Namespace) ProcSem() string {
	return procFile(ns, &ns.sems, semHeader, func(b *strings.Builder, s *semSet) {
		p := &s.perm
		fmt.Fprintf(b, "%10d %10d  %4o %10d %5d %5d %5d %5d %10d %10d\n",
			p.Key, p.ID, p.Mode, len(s.sems), p.UID, p.GID, p.CUID, p.CGID, s.otime(), s.ctime)
	})
}

// ProcMsg is /proc/sysvipc/msg.
func (ns *Namespace) ProcMsg() string {
	return procFile(ns, &ns.msgs, msgHeader, func(b *strings.Builder, q *msgQueue) {
		p := &q.perm
		fmt.Fprintf(b, "%10d %10d  %4o  %10d %10d %5d %5d %5d %5d %5d %5d %10d %10d %10d\n",
			p.Key, p.ID, p.Mode, q.cbytes, len(q.msgs), q.lspid, q.lrpid, p.UID, p.GID, p.CUID, p.CGID,
			q.stime, q.rtime, q.ctime)
	})
}

// procFile is one /proc/sysvipc file: header, then line for each object
// of t in index order, under ns.mu.
func procFile[T any](ns *Namespace, t *table[T], header string, line func(*strings.Builder, T)) string {
	ns.mu.Lock()
	defer ns.mu.Unlock()
	var b strings.Builder
	b.WriteString(header)
	for _, obj := range t.sorted() {
		line(&b, obj)
	}
	return b.String()
}
