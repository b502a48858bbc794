package tests

// Event loops: eventfd, timerfd, epoll and poll/select on them
// (kernel/event, syscalls/sys_epoll.go, sys_eventfd.go, sys_timerfd.go).
var eventGuests = []Guest{
	{Name: "ev_eventfd", Want: Exited(0)},
	{Name: "ev_timerfd", Want: Exited(0)},
	{Name: "ev_epoll", Want: Exited(0)},
	{Name: "ev_epoll_fork", Want: Exited(0)},
	{Name: "ev_epoll_all", Want: Exited(0)},
	{Name: "ev_epoll_socket", Want: Exited(0)},
	{Name: "ev_epoll_host", Stdin: "hello\n", Want: Exited(0)},
	{Name: "ev_poll", Want: Exited(0)},
}

func init() {
	guests = append(guests, eventGuests...)
	// qemu-user answers 0 to timerfd_gettime into NULL where Linux says
	// EFAULT; Linux runs the same timerfd code for i386 tasks (only the
	// itimerspec layout differs, and the guest prints the same lines for
	// both layouts), so the oracle is the x86-64 build.
	i386Fallbacks["ev_timerfd"] = I386Fallback{From: FromAMD64}
	// qemu-user checks epoll_wait's buffer (and maxevents) before the
	// descriptor and the whole buffer even when nothing is ready, and has
	// no epoll_pwait2; Linux runs the same epoll code for i386 tasks, so
	// the oracle is the x86-64 build, with the lines whose address is
	// a 64-bit one.
	i386Fallbacks["ev_epoll"] = I386Fallback{From: FromAMD64, Edits: Edits{{
		From: "wait kernel buffer: -1 EFAULT",
		To:   "wait kernel buffer: 0 ",
		Why: "(void *)-4096 is 0xfffff000 in the i386 build: below the 64-bit TASK_SIZE that access_ok " +
			"checks for compat tasks too, and nothing is ready, so nothing is written",
	}, {
		From: "wait not epoll, bad buffer: -1 EFAULT",
		To:   "wait not epoll, bad buffer: -1 EINVAL",
		Why:  "the same address passes access_ok on i386, so the next check, that the file is an epoll file, decides",
	}}}
}
