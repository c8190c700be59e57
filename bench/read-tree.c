/*
 * read-tree DIR [PASSES]: the open-heavy job for fs-overhead.mjs.
 *
 * Walks DIR recursively PASSES times (default 1). Every directory is opened
 * with openat(O_DIRECTORY) and listed; every regular file is opened with
 * openat, read to EOF and closed. Prints the number of files and bytes read
 * on each pass, so a run that was denied something is visible (the counts
 * differ) instead of merely fast. No allocation in the loop; at most one
 * directory fd per level is open at a time.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static unsigned long files, bytes;

/* Walks the directory open on dfd and closes dfd. */
static int walk(int dfd)
{
	DIR *d = fdopendir(dfd);
	if (!d) {
		perror("fdopendir");
		return -1;
	}
	struct dirent *e;
	int rc = 0;
	while (rc == 0 && (e = readdir(d))) {
		if (e->d_name[0] == '.' && (!e->d_name[1] || (e->d_name[1] == '.' && !e->d_name[2])))
			continue;
		if (e->d_type == DT_DIR) {
			int sub = openat(dirfd(d), e->d_name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
			if (sub < 0) {
				perror(e->d_name);
				rc = -1;
			} else {
				rc = walk(sub);
			}
		} else if (e->d_type == DT_REG) {
			int fd = openat(dirfd(d), e->d_name, O_RDONLY | O_CLOEXEC);
			if (fd < 0) {
				perror(e->d_name);
				rc = -1;
				continue;
			}
			char buf[4096];
			ssize_t n;
			while ((n = read(fd, buf, sizeof buf)) > 0)
				bytes += (unsigned long)n;
			close(fd);
			files++;
		}
	}
	closedir(d);
	return rc;
}

int main(int argc, char **argv)
{
	if (argc < 2 || argc > 3) {
		fprintf(stderr, "usage: read-tree DIR [PASSES]\n");
		return 2;
	}
	int passes = argc == 3 ? atoi(argv[2]) : 1;
	for (int i = 0; i < passes; i++) {
		int dfd = open(argv[1], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (dfd < 0) {
			perror(argv[1]);
			return 1;
		}
		files = bytes = 0;
		if (walk(dfd) < 0)
			return 1;
	}
	printf("%lu files, %lu bytes per pass, %d passes\n", files, bytes, passes);
	return 0;
}
