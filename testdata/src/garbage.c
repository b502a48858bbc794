/* garbage: copies an invalid instruction into a fresh page, makes the page
 * executable and jumps there: the process dies by SIGILL. argv[1] picks the
 * bytes (each preceded by nops, all invalid in 64-bit and 32-bit mode):
 *   "ud2"  (default) 0f 0b     - the architectural undefined instruction
 *   "ud0"            0f ff c0  - UD0 with a ModRM byte
 *   "lock"           f0 90     - LOCK prefix on a non-lockable NOP */
#include "guest.h"
#include <sys/mman.h>

static const unsigned char ud2[] = {0x90, 0x90, 0x0f, 0x0b};
static const unsigned char ud0[] = {0x90, 0x90, 0x0f, 0xff, 0xc0};
static const unsigned char lock_nop[] = {0x90, 0x90, 0xf0, 0x90};

int main(int argc, char **argv)
{
	const char *kind = argc > 1 ? argv[1] : "ud2";
	const unsigned char *code;
	size_t len;
	if (strcmp(kind, "ud2") == 0) {
		code = ud2, len = sizeof ud2;
	} else if (strcmp(kind, "ud0") == 0) {
		code = ud0, len = sizeof ud0;
	} else if (strcmp(kind, "lock") == 0) {
		code = lock_nop, len = sizeof lock_nop;
	} else {
		say("unknown case");
		return 2;
	}

	unsigned char *page = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
				   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CHECK(page != MAP_FAILED);
	memset(page, 0xc3, 4096); /* ret: a wrongly decoded prefix returns */
	memcpy(page, code, len);
	CHECK(mprotect(page, 4096, PROT_READ | PROT_EXEC) == 0);

	printf("jumping to %s (%d bytes)\n", kind, (int)len);
	fflush(stdout);
	((void (*)(void))page)();
	say("survived the invalid instruction");
	return 1;
}
