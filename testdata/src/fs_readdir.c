/* fs_readdir: readdir, telldir, seekdir and rewinddir on a directory of
 * 300 files made in argv[1] (default "."), a host directory under cmaemu.
 * On ext4 its positions are hashes: 64-bit ones for an x86-64 process,
 * 32-bit ones for an i386 process, which its libc's readdir needs (a
 * position beyond 32 bits is EOVERFLOW). Prints the count and a checksum
 * of the names (their order is the filesystem's), whether a position
 * taken with telldir leads seekdir back to the same entry, and the
 * count again after rewinddir and after lseek to 0. The tree is removed
 * at the end; exit status 0. */
#define _GNU_SOURCE
#include "guest.h"
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>

#define NFILES 300

static char path[4096];

static unsigned name_sum(const char *s)
{
	unsigned h = 5381;
	while (*s)
		h = h * 33 + (unsigned char)*s++;
	return h;
}

/* count reads d to its end: the entries other than . and .., and the sum
 * of their names' hashes (independent of the order). */
static int count(DIR *d, unsigned *sum)
{
	int n = 0;
	struct dirent *e;
	*sum = 0;
	errno = 0;
	while ((e = readdir(d)) != NULL) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		n++;
		*sum += name_sum(e->d_name);
	}
	if (errno != 0)
		outf("readdir: %s after %d entries\n", errname(errno), n);
	return n;
}

int main(int argc, char **argv)
{
	const char *base = argc > 1 ? argv[1] : ".";
	snprintf(path, sizeof path, "%s/fs_readdir.d", base);
	if (mkdir(path, 0755) != 0) {
		outf("mkdir: %s\n", errname(errno));
		return 1;
	}
	for (int i = 0; i < NFILES; i++) {
		char f[4200];
		snprintf(f, sizeof f, "%s/file-%03d", path, i);
		int fd = open(f, O_CREAT | O_WRONLY, 0644);
		if (fd < 0) {
			outf("create: %s\n", errname(errno));
			return 1;
		}
		close(fd);
	}
	DIR *d = opendir(path);
	if (!d) {
		outf("opendir: %s\n", errname(errno));
		return 1;
	}
	unsigned sum;
	int n = count(d, &sum);
	outf("entries: %d, name sum %x\n", n, sum);

	rewinddir(d);
	long pos = -1;
	char want[256] = "", got[256] = "";
	struct dirent *e;
	for (int i = 0; (e = readdir(d)) != NULL; i++) {
		if (i == 100)
			pos = telldir(d);
		if (i == 101)
			snprintf(want, sizeof want, "%s", e->d_name);
	}
	seekdir(d, pos);
	e = readdir(d);
	if (e)
		snprintf(got, sizeof got, "%s", e->d_name);
	outf("seekdir to telldir's position: %s\n", want[0] && strcmp(want, got) == 0 ? "the same entry" : "another entry");

	rewinddir(d);
	n = count(d, &sum);
	outf("after rewinddir: %d, name sum %x\n", n, sum);
	off_t end = lseek(dirfd(d), 0, SEEK_CUR);
	outf("lseek SEEK_CUR at the end: %s\n", end > 0 ? "a position" : errname(errno));
	if (lseek(dirfd(d), 0, SEEK_SET) != 0)
		outf("lseek 0: %s\n", errname(errno));
	n = 0;
	while ((e = readdir(d)) != NULL)
		n++;
	outf("after lseek to 0: %d entries with . and ..\n", n);
	closedir(d);

	for (int i = 0; i < NFILES; i++) {
		char f[4200];
		snprintf(f, sizeof f, "%s/file-%03d", path, i);
		unlink(f);
	}
	rmdir(path);
	return 0;
}
