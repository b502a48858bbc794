package syscalls

// posixTimers are a process's POSIX timers (timer_create).
type posixTimers struct{}
