/* privileged: executes a privileged instruction at CPL 3. Linux turns the
 * general-protection fault into SIGSEGV. argv[1] picks the instruction:
 * "hlt" (default), "cli" or "in" (inb %dx,%al without ioperm). */
#include "guest.h"

int main(int argc, char **argv)
{
	const char *kind = argc > 1 ? argv[1] : "hlt";
	printf("executing %s\n", kind);
	fflush(stdout);
	if (strcmp(kind, "hlt") == 0) {
		__asm__ volatile("hlt");
	} else if (strcmp(kind, "cli") == 0) {
		__asm__ volatile("cli");
	} else if (strcmp(kind, "in") == 0) {
		unsigned char v;
		__asm__ volatile("inb %%dx, %%al" : "=a"(v) : "d"(0x80));
		printf("in gave %d\n", v);
	} else {
		say("unknown instruction");
		return 2;
	}
	say("survived the privileged instruction");
	return 1;
}
