package tests

// readdirGuests: directory positions of host directories, which ext4
// gives 32-bit callers in a 32-bit form (fs/hostfs/dirpos32.go).
var readdirGuests = []Guest{
	{Name: "fs_readdir", Args: []string{DirArg}, Want: Exited(0)},
}

func init() {
	guests = append(guests, readdirGuests...)
	// qemu-i386 hands the i386 build the host's 64-bit ext4 positions,
	// and its libc's readdir fails with EOVERFLOW: the x86-64 output is
	// what Linux gives an i386 process (the same entries and answers).
	i386Fallbacks["fs_readdir"] = I386Fallback{From: FromAMD64}
}
