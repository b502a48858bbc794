/* mprotect: maps a page read-write, writes it, makes it read-only, reads it
 * back, then writes again: the process dies by SIGSEGV. With argument
 * "exec" it instead calls into a read-write (non-executable) page holding a
 * "ret", which faults the same way (NX). */
#define _GNU_SOURCE
#include "guest.h"
#include <sys/mman.h>
#include <sys/syscall.h>

int main(int argc, char **argv)
{
	const char *kind = argc > 1 ? argv[1] : "write";
	volatile unsigned char *page = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
					    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CHECK(page != MAP_FAILED);
	printf("fresh page zeroed=%d\n", page[0] == 0 && page[4095] == 0);
	page[0] = 0x5a;
	page[4095] = 0xa5;

	if (strcmp(kind, "exec") == 0) {
		page[0] = 0xc3; /* ret */
		say("calling into a non-executable page");
		((void (*)(void))(unsigned char *)page)();
		say("survived the call");
		return 1;
	}
	if (strcmp(kind, "write") != 0) {
		say("unknown case");
		return 2;
	}

	CHECK(mprotect((void *)page, 4096, PROT_READ) == 0);
	printf("read after PROT_READ ok=%d\n", page[0] == 0x5a && page[4095] == 0xa5);
	errno = 0;
	/* raw syscall: musl's mprotect() would round the address down */
	long r = syscall(SYS_mprotect, page + 1, 4096, PROT_READ);
	printf("unaligned mprotect=%ld errno=%s\n", r, errname(errno));
	say("writing to the read-only page");
	page[1] = 1;
	say("survived the write");
	return 1;
}
