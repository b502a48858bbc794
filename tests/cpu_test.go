package tests

// cpuGuests are the integer instructions cmaemu computes itself where
// the engine gets them wrong (emu/unicorn/intfix.c). The randomized
// suite of the CPU is in tests/cpu.
var cpuGuests = []Guest{
	{Name: "cpu_intfix", Variants: []string{Glibc, Musl}, Want: Exited(0)},
}

func init() { guests = append(guests, cpuGuests...) }
