/* exitcode: exits with atoi(argv[1]), or 42 without an argument. The kernel
 * keeps the low 8 bits only, so "256" gives status 0 and "-1" gives 255. */
#include "guest.h"

int main(int argc, char **argv)
{
	int code = argc > 1 ? atoi(argv[1]) : 42;
	printf("exiting with %d\n", code);
	fflush(stdout);
	exit(code);
}
