/*
 * Remove the private TMPDIR, a tree the jailed command could write, so that
 * nothing in it can steer the removal elsewhere: only descriptor-relative
 * calls, no symlink ever followed, no path longer than one name (trees
 * deeper than PATH_MAX go too), and at most three descriptors open. It goes
 * down by name and back up through "..", and checks that ".." is the
 * directory it came from; it stops (ESTALE) if not.
 */
#define _GNU_SOURCE
#include "supervisor.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define DIR_FLAGS (O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)

/* A directory on the way down, and the name we took below it. */
struct level {
	dev_t dev;
	ino_t ino;
	char *name;
};

struct walk {
	struct level *up;
	size_t depth, cap;
	const char *syscall; /* what failed */
};

static int push(struct walk *w, const struct stat *here, const char *name)
{
	if (w->depth == w->cap) {
		size_t cap = w->cap ? 2 * w->cap : 64;
		struct level *up = realloc(w->up, cap * sizeof(*up));
		if (!up)
			return -1;
		w->up = up;
		w->cap = cap;
	}
	w->up[w->depth].dev = here->st_dev;
	w->up[w->depth].ino = here->st_ino;
	w->up[w->depth].name = strdup(name);
	if (!w->up[w->depth].name)
		return -1;
	w->depth++;
	return 0;
}

/* Directories the command made read-only or 000 stop the removal of what
 * is in them. After EACCES or EPERM, make fd 0700 (we own it, or are root)
 * and say whether to try again; errno is kept when not. */
static int made_writable(int fd)
{
	int saved = errno;

	if ((saved == EACCES || saved == EPERM) && fchmod(fd, 0700) == 0)
		return 1;
	errno = saved;
	return 0;
}

static int stat_entry(struct walk *w, int fd, const char *name, struct stat *st)
{
	w->syscall = "fstatat";
	if (fstatat(fd, name, st, AT_SYMLINK_NOFOLLOW) == 0)
		return 0;
	return made_writable(fd) ? fstatat(fd, name, st, AT_SYMLINK_NOFOLLOW) : -1;
}

static int unlink_entry(struct walk *w, int fd, const char *name, int flags)
{
	w->syscall = "unlinkat";
	if (unlinkat(fd, name, flags) == 0)
		return 0;
	return made_writable(fd) ? unlinkat(fd, name, flags) : -1;
}

/* Open subdirectory `name` of fd, which must be the directory `st`
 * describes (else ESTALE). One made unreadable (000) is made 0700 first,
 * through an O_PATH descriptor so that the chmod cannot follow a symlink. */
static int open_sub(struct walk *w, int fd, const char *name, const struct stat *st)
{
	char link[32];
	struct stat got;
	int sub, p, saved;

	w->syscall = "openat";
	sub = openat(fd, name, DIR_FLAGS);
	if (sub < 0 && errno == EACCES) {
		p = openat(fd, name, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (p < 0)
			return -1;
		snprintf(link, sizeof(link), "/proc/self/fd/%d", p);
		w->syscall = "chmod";
		if (chmod(link, 0700) == 0) {
			w->syscall = "openat";
			sub = openat(fd, name, DIR_FLAGS);
		}
		saved = errno;
		close(p);
		errno = saved;
	}
	if (sub < 0)
		return -1;
	w->syscall = "fstat";
	if (fstat(sub, &got) < 0)
		saved = errno;
	else if (got.st_dev != st->st_dev || got.st_ino != st->st_ino)
		saved = ESTALE;
	else
		return sub;
	close(sub);
	errno = saved;
	return -1;
}

/* One pass over directory fd: unlink every entry that is not a directory,
 * and stop at the first directory, putting its name in `sub` and its stat
 * in *st. Returns 1 when it found a directory, 0 when fd is empty, -1 on
 * failure. Passes repeat while they remove something, as readdir need not
 * return every entry of a directory that changes under it. */
static int clear(struct walk *w, int fd, char sub[NAME_MAX + 1], struct stat *st)
{
	struct dirent *e;
	int removed, dup_fd;
	DIR *d;

	do {
		removed = 0;
		w->syscall = "fdopendir";
		dup_fd = fcntl(fd, F_DUPFD_CLOEXEC, 0);
		if (dup_fd < 0)
			return -1;
		d = fdopendir(dup_fd);
		if (!d) {
			close(dup_fd);
			return -1;
		}
		rewinddir(d); /* the dup shares fd's offset */
		while (errno = 0, (e = readdir(d)) != NULL) {
			if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
				continue;
			if (stat_entry(w, fd, e->d_name, st) < 0) {
				if (errno == ENOENT)
					continue;
				goto fail;
			}
			if (S_ISDIR(st->st_mode)) {
				strcpy(sub, e->d_name);
				closedir(d);
				return 1;
			}
			if (unlink_entry(w, fd, e->d_name, 0) < 0 && errno != ENOENT)
				goto fail;
			removed = 1;
		}
		w->syscall = "getdents64";
		if (errno != 0)
			goto fail;
		closedir(d);
	} while (removed);
	return 0;
fail:
	{
		int saved = errno;
		closedir(d);
		errno = saved;
	}
	return -1;
}

int jail_rmtree(const char *path, struct jail_error *err)
{
	struct walk w = { NULL, 0, 0, "open" };
	const char *base = strrchr(path, '/');
	char sub[NAME_MAX + 1], *parent = NULL;
	struct stat here, st;
	struct level *l;
	int cur = -1, next, found, saved;
	dev_t top_dev;

	if (path[0] != '/' || !base[1] || !strcmp(base, "/.") || !strcmp(base, "/..")) {
		errno = EINVAL;
		FAIL(err, "rmtree", "open", path);
	}
	if (strlen(base + 1) > NAME_MAX) {
		errno = ENAMETOOLONG;
		FAIL(err, "rmtree", "open", path);
	}
	/* The parent is outside the tree (a realpath, out of the command's
	 * reach); from the tree's top down, nothing is followed. */
	parent = base == path ? strdup("/") : strndup(path, (size_t)(base - path));
	if (!parent)
		goto fail;
	next = open(parent, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (next < 0)
		goto fail;
	cur = next;
	w.syscall = "fstatat";
	if (fstat(cur, &here) < 0 || fstatat(cur, base + 1, &st, AT_SYMLINK_NOFOLLOW) < 0)
		goto fail;
	top_dev = st.st_dev;
	found = S_ISDIR(st.st_mode);
	strcpy(sub, base + 1);
	if (!found) {
		w.syscall = "openat";
		errno = ENOTDIR;
		goto fail;
	}

	/* Go down into the first subdirectory of each directory, remove what
	 * else is there; once it is empty go up and remove it; until the top
	 * is removed. cur is the directory we are in, `here` what it is. */
	do {
		if (found) { /* go down into sub */
			if (st.st_dev != top_dev) { /* a mount point: rm --one-file-system */
				w.syscall = "openat";
				errno = EXDEV;
				goto fail;
			}
			if (push(&w, &here, sub) < 0)
				goto fail;
			next = open_sub(&w, cur, sub, &st);
			if (next < 0)
				goto fail;
			close(cur);
			cur = next;
			here = st;
		} else { /* cur is empty: go up, check where we are, remove it */
			l = &w.up[w.depth - 1];
			w.syscall = "openat";
			next = openat(cur, "..", DIR_FLAGS);
			if (next < 0)
				goto fail;
			close(cur);
			cur = next;
			w.syscall = "fstat";
			if (fstat(cur, &here) < 0)
				goto fail;
			if (here.st_dev != l->dev || here.st_ino != l->ino) {
				w.syscall = "openat";
				errno = ESTALE;
				goto fail;
			}
			if (unlink_entry(&w, cur, l->name, AT_REMOVEDIR) < 0)
				goto fail;
			free(l->name);
			if (--w.depth == 0)
				break; /* that was the top */
		}
		found = clear(&w, cur, sub, &st);
	} while (found >= 0);
	if (found < 0)
		goto fail;
	close(cur);
	free(w.up);
	free(parent);
	return 0;

fail:
	saved = errno;
	if (cur >= 0)
		close(cur);
	while (w.depth > 0)
		free(w.up[--w.depth].name);
	free(w.up);
	free(parent);
	errno = saved;
	FAIL(err, "rmtree", w.syscall, path);
}

/*
 * A private TMPDIR (or npm cache layer) is held locked by the run that made
 * it until it is removed: a sweep of what killed runs left removes one only
 * when no process holds that lock. The pid in the name is not enough: a run
 * in another PID namespace (a container sharing /tmp) has a pid that looks
 * gone. An open file description's read lock (F_OFD_SETLK) on the
 * directory: it goes with the last descriptor, so with a supervisor that
 * dies, and it does not meet the flock() or the lock of a file inside that
 * the program may take on its TMPDIR (a directory cannot be opened to take
 * a write lock). Opens `path` not following a symlink at its name.
 */
static int lock_op(const char *path, int cmd, struct flock *fl, struct jail_error *err)
{
	int fd, saved;

	fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		FAIL(err, "lock", "open", path);
	if (fcntl(fd, cmd, fl) < 0) {
		saved = errno;
		close(fd);
		errno = saved;
		FAIL(err, "lock", "fcntl", path);
	}
	return fd;
}

int jail_lockdir(const char *path, struct jail_error *err)
{
	struct flock fl = { .l_type = F_RDLCK, .l_whence = SEEK_SET };

	return lock_op(path, F_OFD_SETLK, &fl, err);
}

int jail_dirlocked(const char *path, struct jail_error *err)
{
	struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET };
	int fd = lock_op(path, F_OFD_GETLK, &fl, err);

	if (fd < 0)
		return -1;
	close(fd);
	return fl.l_type != F_UNLCK;
}
