/*
 * List a directory tree for the policy to judge (which of /etc's entries
 * other users may read): every entry's lstat in one call, where a walk in
 * JavaScript costs two calls into Node per entry (a readdir, an lstat).
 * Symlinks are left out (most of /etc: alternatives/, ssl/certs/): the
 * policy judges one by where it points, never by the tree it is in. Only
 * the walking is here; what to grant is decided in src/policy/base.ts.
 *
 * Only descriptor-relative calls, no symlink ever followed: a directory is
 * opened with O_NOFOLLOW below the one that listed it, and what it holds is
 * reported with the fstat of that descriptor, so the mode judged is the
 * mode of the directory whose names follow. Entries come in pre-order, a
 * directory's sorted by name (as Node's readdir gives them).
 *
 * With an inotify descriptor, each directory is watched, through the
 * descriptor it is listed from, before it is listed, and every other entry
 * before its mode is read (a change made through a hard link elsewhere is
 * reported only to the inode's own watches): from then on any change of a
 * name, mode or owner in the tree shows as an event, which is what lets a
 * caller keep the scan (binding.cc, scanTreeKept). A directory
 * on a file system whose changes may not pass through this kernel (NFS,
 * FUSE, …) leaves the scan unwatched: never kept.
 */
#define _GNU_SOURCE
#include "scan.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define DIR_FLAGS (O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
#define DENTS_SIZE 32768

/* Everything that could change what a scan reports: names come and go
 * (create, delete, rename in or out), a mode or owner changes (attrib),
 * the directory itself goes. Unmounts and overflows come unasked. */
#define WATCH_MASK (IN_ATTRIB | IN_CREATE | IN_DELETE | IN_MOVED_FROM | IN_MOVED_TO | IN_DELETE_SELF | IN_MOVE_SELF | IN_ONLYDIR)

/* What getdents64 returns, one record after another (getdents(2)). */
struct dent64 {
	uint64_t d_ino;
	int64_t d_off;
	unsigned short d_reclen;
	unsigned char d_type;
	char d_name[];
};

static uint64_t ns(const struct timespec *t)
{
	return (uint64_t)t->tv_sec * UINT64_C(1000000000) + (uint64_t)t->tv_nsec;
}

static int add_entry(struct jail_scan *s, const char *rel, const struct stat *st, uint32_t flags)
{
	size_t len = strlen(rel) + 1;
	struct jail_scan_entry *e;

	if (s->n == s->cap) {
		size_t cap = s->cap ? 2 * s->cap : 256;
		e = realloc(s->entries, cap * sizeof(*e));
		if (!e)
			return -1;
		s->entries = e;
		s->cap = cap;
	}
	if (s->names_len + len > s->names_cap) {
		size_t cap = s->names_cap ? 2 * s->names_cap : 8192;
		char *names;

		while (cap < s->names_len + len)
			cap *= 2;
		names = realloc(s->names, cap);
		if (!names)
			return -1;
		s->names = names;
		s->names_cap = cap;
	}
	memcpy(s->names + s->names_len, rel, len);
	s->names_len += len; /* each name ends with its NUL */
	e = &s->entries[s->n++];
	e->mode = (uint32_t)st->st_mode;
	e->flags = flags;
	e->dev = (uint64_t)st->st_dev;
	e->ino = (uint64_t)st->st_ino;
	e->mtime_ns = ns(&st->st_mtim);
	e->ctime_ns = ns(&st->st_ctim);
	return 0;
}

/* A name getdents gave, with its type (DT_LNK, DT_DIR, ... DT_UNKNOWN). */
struct listed {
	char *name;
	unsigned char type;
};

static int by_name(const void *a, const void *b)
{
	return strcmp(((const struct listed *)a)->name, ((const struct listed *)b)->name);
}

static void free_listed(struct listed *l, size_t n)
{
	while (n > 0)
		free(l[--n].name);
	free(l);
}

/* The entries of directory fd, sorted by name, as one malloc'd array
 * (*out, *n): getdents64 on fd itself (readdir would need a second
 * descriptor). */
static int list(int fd, struct listed **out, size_t *n)
{
	size_t cap = 0;
	struct listed *l = NULL, *more;
	long got, at;
	char *buf = malloc(DENTS_SIZE);

	*n = 0;
	if (!buf)
		return -1;
	while ((got = syscall(SYS_getdents64, fd, buf, DENTS_SIZE)) > 0) {
		for (at = 0; at < got; at += ((struct dent64 *)(buf + at))->d_reclen) {
			const struct dent64 *d = (const struct dent64 *)(buf + at);

			if (!strcmp(d->d_name, ".") || !strcmp(d->d_name, ".."))
				continue;
			if (*n == cap) {
				cap = cap ? 2 * cap : 32;
				more = realloc(l, cap * sizeof(*l));
				if (!more)
					goto fail;
				l = more;
			}
			l[*n].type = d->d_type;
			if (!(l[*n].name = strdup(d->d_name)))
				goto fail;
			(*n)++;
		}
	}
	if (got < 0)
		goto fail;
	free(buf);
	qsort(l, *n, sizeof(*l), by_name);
	*out = l;
	return 0;
fail:
	{
		int saved = errno;

		free(buf);
		free_listed(l, *n);
		errno = saved;
	}
	return -1;
}

/* Whether every change to what fd's file system holds goes through this
 * kernel, so inotify sees it: local disk and memory file systems. Not a
 * network file system (a mode changed on another machine sends no event),
 * not FUSE, nor anything unknown. */
static int local_fs(int fd)
{
	struct statfs f;

	if (fstatfs(fd, &f) < 0)
		return 0;
	switch ((unsigned long)f.f_type) {
	case 0xEF53UL:     /* ext2, ext3, ext4 */
	case 0x58465342UL: /* xfs */
	case 0x9123683EUL: /* btrfs */
	case 0xF2F52010UL: /* f2fs */
	case 0x2FC12FC1UL: /* zfs */
	case 0x01021994UL: /* tmpfs */
	case 0x858458F6UL: /* ramfs */
	case 0x794C7630UL: /* overlayfs (changes made through it) */
	case 0x73717368UL: /* squashfs, read-only */
	case 0xE0F5E1E2UL: /* erofs, read-only */
		return 1;
	default:
		return 0;
	}
}

/* Watch the directory open as fd (not a path that could since lead
 * elsewhere); a watch that cannot be added leaves the scan unwatched. */
static void watch(struct jail_scan *s, int watch_fd, int fd)
{
	char proc[64];

	if (watch_fd < 0)
		return;
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
	if (!local_fs(fd) || inotify_add_watch(watch_fd, proc, WATCH_MASK) < 0)
		s->unwatched = 1;
}

/* Watch the entry `name` of directory fd itself, for a change of its mode
 * or owner made through another name (a hard link outside the tree, made
 * before the scan or after: a new link count is such a change too), which
 * the watch on fd does not see. Not followed: a symlink put there since
 * it was looked at is a change fd's watch reports. */
static void watch_entry(struct jail_scan *s, int watch_fd, int fd, const char *name)
{
	char proc[PATH_MAX];

	if (watch_fd < 0)
		return;
	if ((size_t)snprintf(proc, sizeof(proc), "/proc/self/fd/%d/%s", fd, name) >= sizeof(proc) ||
	    inotify_add_watch(watch_fd, proc, IN_ATTRIB | IN_DONT_FOLLOW) < 0)
		s->unwatched = 1;
}

/* Report the entries of directory fd (at `rel`, `depth` below the root),
 * going into each subdirectory. Returns 0, or 1 when the listing is
 * incomplete (an entry that could not be named or stat'd; an unreadable
 * listing), or -1 when memory ran out. A subdirectory whose listing is
 * incomplete, or that lies deeper than max_depth, is flagged
 * JAIL_SCAN_INCOMPLETE: the policy must not take it as a whole. */
static int scan_dir(struct jail_scan *s, int fd, char rel[PATH_MAX], int depth, int max_depth, int watch_fd)
{
	size_t len = strlen(rel), i, n, at;
	struct listed *names;
	struct stat st;
	int sub, r, rc = 0;

	if (list(fd, &names, &n) < 0)
		return errno == ENOMEM ? -1 : 1;
	for (i = 0; rc >= 0 && i < n; i++) {
		const char *name = names[i].name;

		if (names[i].type == DT_LNK)
			continue; /* known by getdents' type: no lstat */
		if (len + 1 + strlen(name) >= PATH_MAX) {
			rc = 1;
			continue;
		}
		snprintf(rel + len, PATH_MAX - len, "%s%s", len ? "/" : "", name);
		if (names[i].type != DT_DIR)
			watch_entry(s, watch_fd, fd, name); /* before its mode is read */
		if (fstatat(fd, name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
			rc = errno == ENOENT ? rc : 1; /* gone since it was listed */
			continue;
		}
		if (S_ISLNK(st.st_mode))
			continue;
		sub = -1;
		if (S_ISDIR(st.st_mode) && depth < max_depth) {
			sub = openat(fd, name, DIR_FLAGS);
			if (sub >= 0)
				watch(s, watch_fd, sub); /* before its mode is read */
			if (sub >= 0 && fstat(sub, &st) < 0) {
				close(sub);
				sub = -1;
			}
		}
		at = s->n;
		r = add_entry(s, rel, &st, 0);
		if (r == 0 && S_ISDIR(st.st_mode))
			r = sub >= 0 ? scan_dir(s, sub, rel, depth + 1, max_depth, watch_fd) : 1;
		if (r > 0)
			s->entries[at].flags = JAIL_SCAN_INCOMPLETE;
		if (r < 0)
			rc = -1;
		if (sub >= 0)
			close(sub);
		rel[len] = '\0';
	}
	free_listed(names, n);
	return rc;
}

int jail_scan_tree(const char *root, int max_depth, int watch_fd, struct jail_scan *out, struct jail_error *err)
{
	char rel[PATH_MAX] = "";
	struct timespec now;
	struct stat st;
	int fd, rc = -1, saved;

	memset(out, 0, sizeof(*out));
	if (clock_gettime(CLOCK_REALTIME, &now) == 0)
		out->began_ns = ns(&now);
	fd = open(root, DIR_FLAGS);
	if (fd < 0)
		FAIL(err, "scan", "open", root);
	watch(out, watch_fd, fd);
	/* The root itself comes first, named "". */
	if (fstat(fd, &st) == 0 && add_entry(out, rel, &st, 0) == 0)
		rc = scan_dir(out, fd, rel, 0, max_depth, watch_fd);
	saved = errno;
	close(fd);
	if (rc < 0) {
		jail_scan_free(out);
		errno = saved;
		FAIL(err, "scan", saved == ENOMEM ? "malloc" : "fstat", root);
	}
	if (rc > 0)
		out->entries[0].flags = JAIL_SCAN_INCOMPLETE;
	return 0;
}

int jail_scan_verify(const char *root, const struct jail_scan *s)
{
	const char *name = s->names;
	struct stat st;
	int fd, same = s->n > 0 && s->names_len > 0;
	size_t i;

	fd = open(root, DIR_FLAGS);
	if (fd < 0)
		return 0;
	/* Entry 0 is the root (named ""); the others' names are relative to
	 * it. A name's directories are not checked for symlinks on the way:
	 * each of them is an entry checked here too, and one that differs
	 * fails the whole. */
	for (i = 0; same && i < s->n; i++) {
		const struct jail_scan_entry *e = &s->entries[i];

		if ((size_t)(name - s->names) >= s->names_len ||
		    (i == 0 ? fstat(fd, &st) : fstatat(fd, name, &st, AT_SYMLINK_NOFOLLOW)) < 0)
			same = 0;
		else
			same = !e->flags && (uint32_t)st.st_mode == e->mode && (uint64_t)st.st_dev == e->dev &&
			       (uint64_t)st.st_ino == e->ino &&
			       (!S_ISDIR(st.st_mode) || (ns(&st.st_mtim) == e->mtime_ns && ns(&st.st_ctim) == e->ctime_ns));
		name += strlen(name) + 1;
	}
	close(fd);
	return same;
}

void jail_scan_free(struct jail_scan *s)
{
	free(s->entries);
	free(s->names);
	memset(s, 0, sizeof(*s));
}
