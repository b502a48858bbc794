/* segv_null: writes to address 0 (or reads it with argument "read"): the
 * process dies by SIGSEGV. */
#include "guest.h"

int main(int argc, char **argv)
{
	/* A volatile pointer hides the NULL from the compiler, which would
	 * otherwise replace the access by a trap instruction (SIGILL). */
	volatile int *volatile p = NULL;
	if (argc > 1 && strcmp(argv[1], "read") == 0) {
		say("reading from NULL");
		printf("read %d\n", *p);
	} else {
		say("writing to NULL");
		*p = 1;
	}
	say("survived the NULL access");
	return 1;
}
