// variants: glibc musl i386
/* hello: argv, environment and auxiliary vector as the kernel hands them to a
 * new program. Prints argc, each argv (argv[0] as its basename only), the
 * value of CMAEMU_TEST, "auxv ... ok" facts, and one line on stderr.
 * Exit status 0. */
#include "guest.h"
#include <stdint.h>
#include <sys/auxv.h>

static const char *base(const char *path)
{
	const char *slash = strrchr(path, '/');
	return slash ? slash + 1 : path;
}

static void fact(const char *what, int ok)
{
	printf("auxv %s %s\n", what, ok ? "ok" : "BAD");
}

int main(int argc, char **argv)
{
	printf("argc=%d\n", argc);
	for (int i = 0; i < argc; i++)
		printf("argv[%d]=\"%s\"\n", i, i == 0 ? base(argv[0]) : argv[i]);
	printf("argv[argc] is NULL=%d\n", argv[argc] == NULL);

	const char *v = getenv("CMAEMU_TEST");
	if (v)
		printf("CMAEMU_TEST=\"%s\"\n", v);
	else
		printf("CMAEMU_TEST unset\n");

	fact("AT_PAGESZ == 4096", getauxval(AT_PAGESZ) == 4096);

	const unsigned char *rnd = (const unsigned char *)(uintptr_t)getauxval(AT_RANDOM);
	int nonzero = 0; /* the 16 bytes must be readable (and random) */
	for (int i = 0; rnd != NULL && i < 16; i++)
		nonzero |= rnd[i] != 0;
	fact("AT_RANDOM non-null", rnd != NULL);
	fact("AT_RANDOM 16 bytes not all zero", nonzero);

	fact("AT_ENTRY non-zero", getauxval(AT_ENTRY) != 0);
	fact("AT_PHNUM > 0", getauxval(AT_PHNUM) > 0);
	fact("AT_PHDR non-zero", getauxval(AT_PHDR) != 0);

	const char *fn = (const char *)(uintptr_t)getauxval(AT_EXECFN);
	fact("AT_EXECFN non-null", fn != NULL);
	fact("AT_EXECFN basename == argv[0] basename",
	     fn != NULL && strcmp(base(fn), base(argv[0])) == 0);

	fflush(stdout);
	fprintf(stderr, "hello: this line goes to stderr\n");
	return 0;
}
